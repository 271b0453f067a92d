"""Writing .xlsx workbooks the same way for every export: typed cells, tables, stable bytes.

The quickscan export and the checklist export share these rules: a text never
becomes a formula, tables are filterable with a frozen header, and the same data
written at the same moment gives the same bytes (so an attachment rendered again at
delivery is the same file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

# Column widths in characters: narrow numbers, text up to a readable line, wrapped beyond.
_MIN_WIDTH = 6
_MAX_WIDTH = 40
_WIDE_TEXT_WIDTH = 70
# Zip timestamps cannot predate 1980.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ABOUT_WIDTH = 100

SHARE_FORMAT = "0%"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_SHEET_TITLE = 31
"""Excel refuses longer sheet names; openpyxl only warns, which would be too late."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table sheet.

    Attributes:
        header: The header text, from the catalogue.
        number_format: Excel number format for the values; None for text and counts.
        wrap: Long free text (the question): a fixed width with wrapped lines instead
            of a column as wide as the longest question.
    """

    header: str
    number_format: str | None = None
    wrap: bool = False


Row = Sequence[str | int | float | None]


def new_workbook(*, title: str, generated_at: datetime) -> tuple[Workbook, datetime]:
    """An empty workbook dated ``generated_at``, and that moment as Excel stores it.

    Excel has no time zones: the document properties hold UTC without a zone. The
    default creator would name the library; the workbook speaks for the team.

    Raises:
        ValueError: ``generated_at`` is naive.
    """
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        msg = "generated_at must be timezone-aware"
        raise ValueError(msg)
    stamp = generated_at.astimezone(UTC).replace(tzinfo=None)
    workbook = Workbook()
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.title = title
    workbook.properties.creator = None
    return workbook, stamp


def sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most :data:`MAX_SHEET_TITLE` characters."""
    return title[:MAX_SHEET_TITLE]


def write_about(sheet: Any, *, title: str, intro: str, stamp: datetime) -> None:
    """The about sheet every result export starts with: what it holds, and when it was made.

    The intro in A1 (wrapped, one readable column wide), the moment in A2; an export
    may add rows of its own from row 4 on.
    """
    sheet.title = sheet_title(title)
    set_cell(sheet.cell(row=1, column=1), intro).alignment = Alignment(wrap_text=True)
    sheet.cell(row=2, column=1, value=stamp).number_format = DATETIME_FORMAT
    sheet.column_dimensions["A"].width = _ABOUT_WIDTH


def write_table(sheet: Any, *, columns: Sequence[Column], rows: Sequence[Row]) -> None:
    """Write a header row and the rows, formatted as a filterable table."""
    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(columns, start=1):
        set_cell(sheet.cell(row=1, column=index), column.header).font = bold
    for row_index, values in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = set_cell(sheet.cell(row=row_index, column=index), value)
            if column.number_format is not None:
                cell.number_format = column.number_format
            if column.wrap:
                cell.alignment = wrapped
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(
            column, values=(row[index - 1] for row in rows)
        )
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def set_cell(cell: Any, value: str | int | float | datetime | None) -> Any:
    """Put a value in a cell, keeping every text a text.

    openpyxl stores a string starting with "=" as a formula; instrument texts come from
    YAML files a school may write itself, so a text is never allowed to become one.
    """
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _width(column: Column, *, values: Iterable[str | int | float | None]) -> float:
    """A column width that fits the header and the texts, within readable bounds.

    Numbers are sized by their header only: their stored digits (0.1666...) say nothing
    about the width of their formatted form.
    """
    if column.wrap:
        return _WIDE_TEXT_WIDTH
    longest = max((len(value) for value in values if isinstance(value, str)), default=0)
    return min(max(longest, len(column.header), _MIN_WIDTH) + 2, _MAX_WIDTH)


def save_workbook(workbook: Any, *, path: Path, stamp: datetime) -> None:
    """Write the workbook to ``path`` deterministically, replacing it in one step.

    ``openpyxl.Workbook.save`` would overwrite the modified time with the wall clock,
    so the writer is driven directly. zipfile stamps every entry with the wall clock
    (or a temporary file's mtime) too, so the archive is copied once more with every
    entry dated ``stamp``. The file is written next to ``path`` and then renamed, so a
    reader never sees half a workbook.
    """
    date_time = (
        (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        if stamp.year >= _ZIP_EPOCH[0]
        else _ZIP_EPOCH
    )
    written = BytesIO()
    ExcelWriter(workbook, ZipFile(written, "w", ZIP_DEFLATED)).save()
    buffer = BytesIO()
    with ZipFile(written) as source, ZipFile(buffer, "w", ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = ZipInfo(filename=entry.filename, date_time=date_time)
            info.compress_type = ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(entry))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(buffer.getvalue())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
