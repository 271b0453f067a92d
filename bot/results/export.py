"""Export a team's merged quickscan as an Excel workbook, for coordinators who work on in Excel.

The workbook is built from a :class:`~bot.results.merge.TeamResult` only, so it can hold no more
than the merge let through: counts, shares, means and labels per item, success factor and
cluster, and the cluster grades. Two things are left out on purpose even when the result
has them: individual answers (the function never sees them) and open answers, because
free text identifies people sooner than numbers and a spreadsheet travels further than a
chat message. Without exact figures (bot/anonymity.py: fewer than 5 respondents, below the
team's minimum, or lowered by the round-to-round comparison) there is nothing to export, so
asking for a workbook then is refused rather than producing an empty one.

Output is byte-for-byte deterministic for the same result and ``generated_at``: the
document properties and the zip entry times are set from ``generated_at`` instead of the
wall clock, so an export can be compared, cached or tested like any other value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

if TYPE_CHECKING:
    from bot.results.distribution import Distribution
    from bot.results.labels import Label
    from bot.results.team_result import TeamResult
    from conversations.core.i18n import Catalogue
    from conversations.instrument import Quickscan, ScaleOption

__all__ = ["export_workbook"]

SHARE_FORMAT = "0%"
MEAN_FORMAT = "0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Thresholds on the score scale rather than shares (see bot.results.labels.LabelRules).
_SCORE_THRESHOLDS = frozenset({"werkpunt_gemiddelde"})
# Excel refuses longer sheet names; openpyxl only warns, which would be too late.
_MAX_SHEET_TITLE = 31
# Column widths in characters: narrow numbers, text up to a readable line, wrapped beyond.
_MIN_WIDTH = 6
_MAX_WIDTH = 40
_WIDE_TEXT_WIDTH = 70
_ABOUT_WIDTH = 100
# Zip timestamps cannot predate 1980.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class _Column:
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


def export_workbook(
    *,
    result: TeamResult,
    instrument: Quickscan,
    path: Path,
    texts: Catalogue,
    generated_at: datetime,
) -> Path:
    """Write the merged result as an .xlsx workbook: about, items, factors and clusters.

    Numbers are written as numbers (shares as fractions shown as percentages, means
    unrounded and shown with two decimals) so coordinators can sort, filter and compute
    on them; every table has a bold, frozen header row and an autofilter.

    Args:
        result: The team's merged result; must be itemised.
        instrument: The quickscan the result belongs to, for its title and scale.
        path: Where to write the workbook; missing parent directories are created and
            an existing file is replaced.
        texts: The catalogue for sheet names, headers and label names.
        generated_at: When the export was made (the caller's injected clock), written
            into the about sheet and the document properties; must be timezone-aware.

    Returns:
        ``path``.

    Raises:
        ValueError: The result has no exact figures (not itemised), it belongs
            to another instrument, or ``generated_at`` is naive.
    """
    if not result.itemised:
        msg = (
            f"no exact figures (tier {result.tier}, {result.respondents} respondents):"
            " nothing may be exported"
        )
        raise ValueError(msg)
    if result.instrument_id != instrument.id:
        msg = f"result of {result.instrument_id!r} does not belong to {instrument.id!r}"
        raise ValueError(msg)
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        msg = "generated_at must be timezone-aware"
        raise ValueError(msg)
    # Excel has no time zones: store UTC, as the document properties assume.
    stamp = generated_at.astimezone(UTC).replace(tzinfo=None)

    workbook = Workbook()
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.title = instrument.title
    # The default creator would name the library; the workbook speaks for the team.
    workbook.properties.creator = None

    options = instrument.scale.options
    _write_about(workbook.active, result=result, instrument=instrument, texts=texts, stamp=stamp)
    _write_table(
        workbook.create_sheet(_sheet_title(texts.t("export.items"))),
        columns=[
            _Column(texts.t("export.number")),
            _Column(texts.t("export.factor")),
            _Column(texts.t("export.question"), wrap=True),
            *_distribution_columns(texts=texts, options=options),
            _Column(texts.t("export.label")),
        ],
        rows=[
            [
                item.number,
                _factor_name(number=item.factor, instrument=instrument),
                item.text,
                *_distribution_values(item.distribution, options=options),
                _label(item.label, texts=texts),
            ]
            for item in result.items()
        ],
    )
    cluster_names = {cluster.cluster_id: cluster.name for cluster in result.clusters}
    _write_table(
        workbook.create_sheet(_sheet_title(texts.t("export.factors"))),
        columns=[
            _Column(texts.t("export.number")),
            _Column(texts.t("export.factor")),
            _Column(texts.t("export.cluster")),
            *_distribution_columns(texts=texts, options=options),
            _Column(texts.t("export.label")),
        ],
        rows=[
            [
                factor.number,
                factor.short_name,
                cluster_names[factor.cluster_id],
                *_distribution_values(factor.distribution, options=options),
                _label(factor.label, texts=texts),
            ]
            for factor in result.factors()
        ],
    )
    _write_table(
        workbook.create_sheet(_sheet_title(texts.t("export.clusters"))),
        columns=[
            _Column(texts.t("export.cluster")),
            *_distribution_columns(texts=texts, options=options),
            _Column(texts.t("export.grade_mean"), MEAN_FORMAT),
            _Column(texts.t("export.grade_count")),
        ],
        rows=[
            [
                cluster.name,
                *_distribution_values(cluster.distribution, options=options),
                cluster.grade.mean,
                cluster.grade.count,
            ]
            for cluster in result.clusters
        ],
    )
    _save(workbook, path=path, stamp=stamp)
    return path


def _write_about(
    sheet: Any, *, result: TeamResult, instrument: Quickscan, texts: Catalogue, stamp: datetime
) -> None:
    """The about sheet: what the workbook holds, when it was made, and the label thresholds.

    The thresholds are listed under the names coordinators type to change them, so a
    label in the other sheets can be traced back to the rule that gave it.
    """
    sheet.title = _sheet_title(texts.t("export.about"))
    intro = texts.t(
        "export.about_text",
        title=instrument.title,
        respondents=result.respondents,
        invited=result.invited,
    )
    _set(sheet.cell(row=1, column=1), intro).alignment = Alignment(wrap_text=True)
    sheet.cell(row=2, column=1, value=stamp).number_format = DATETIME_FORMAT
    for row, (name, value) in enumerate(sorted(result.rules.as_mapping().items()), start=4):
        _set(sheet.cell(row=row, column=1), name)
        cell = sheet.cell(row=row, column=2, value=value)
        cell.number_format = MEAN_FORMAT if name in _SCORE_THRESHOLDS else SHARE_FORMAT
    sheet.column_dimensions["A"].width = _ABOUT_WIDTH


def _write_table(sheet: Any, *, columns: Sequence[_Column], rows: Sequence[Row]) -> None:
    """Write a header row and the rows, formatted as a filterable table."""
    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(columns, start=1):
        _set(sheet.cell(row=1, column=index), column.header).font = bold
    for row_index, values in enumerate(rows, start=2):
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = _set(sheet.cell(row=row_index, column=index), value)
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


def _set(cell: Any, value: str | int | float | datetime | None) -> Any:
    """Put a value in a cell, keeping every text a text.

    openpyxl stores a string starting with "=" as a formula; instrument texts come from
    YAML files a school may write itself, so a text is never allowed to become one.
    """
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _width(column: _Column, *, values: Iterable[str | int | float | None]) -> float:
    """A column width that fits the header and the texts, within readable bounds.

    Numbers are sized by their header only: their stored digits (0.1666...) say nothing
    about the width of their formatted form.
    """
    if column.wrap:
        return _WIDE_TEXT_WIDTH
    longest = max((len(value) for value in values if isinstance(value, str)), default=0)
    return min(max(longest, len(column.header), _MIN_WIDTH) + 2, _MAX_WIDTH)


def _distribution_columns(*, texts: Catalogue, options: Sequence[ScaleOption]) -> list[_Column]:
    """Columns of one distribution: answers, counts and shares per code, mean, spread.

    The share of answers without a score gets its own column only when it is not already
    one of the share columns, i.e. unless the scale has exactly one such option (the
    quickscan's "?"); otherwise two columns would show the same figure under one header.
    """
    columns = [_Column(texts.t("export.answers"))]
    columns.extend(_Column(texts.t("export.count", code=option.code)) for option in options)
    columns.extend(
        _Column(texts.t("export.share", code=option.code), SHARE_FORMAT) for option in options
    )
    columns.append(_Column(texts.t("export.mean"), MEAN_FORMAT))
    columns.append(_Column(texts.t("export.stdev"), MEAN_FORMAT))
    if _separate_unknown(options):
        columns.append(_Column(texts.t("export.unknown"), SHARE_FORMAT))
    return columns


def _distribution_values(
    distribution: Distribution, *, options: Sequence[ScaleOption]
) -> list[str | int | float | None]:
    """The values for :func:`_distribution_columns`, unrounded (formats do the rounding)."""
    values: list[str | int | float | None] = [distribution.respondents]
    values.extend(distribution.counts[option.code] for option in options)
    values.extend(distribution.share(option.code) for option in options)
    values.append(distribution.mean)
    values.append(distribution.stdev)
    if _separate_unknown(options):
        values.append(distribution.unknown_share)
    return values


def _separate_unknown(options: Sequence[ScaleOption]) -> bool:
    """Whether the unknown share differs from every single code's share column."""
    return sum(option.score is None for option in options) != 1


def _factor_name(*, number: int, instrument: Quickscan) -> str:
    """A factor as staff know it: its number and short name in one filterable text."""
    return f"{number}. {instrument.factor(number).short_name}"


def _label(label: Label, *, texts: Catalogue) -> str:
    """A label's display name in the catalogue's language."""
    return texts.t(f"label.{label.value}")


def _sheet_title(title: str) -> str:
    """A sheet name Excel accepts: at most 31 characters."""
    return title[:_MAX_SHEET_TITLE]


def _save(workbook: Any, *, path: Path, stamp: datetime) -> None:
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
