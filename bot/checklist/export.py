"""A teacher's class list as .xlsx: the file the seed recommends, made at delivery.

The export is queued as an :class:`~conversations.core.messages.Attachment` of kind
``CHECKLIST_EXPORT`` and rendered by the delivery worker from the stored class
(:class:`ChecklistExportRenderer`), so a crash or an unwritable folder between the
teacher's request and the send loses nothing. The file is named by row id, never
by person or pupil, and is byte-for-byte the same for the same data and moment.
openpyxl is imported only when a workbook is written, not when the bot starts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.delivery.attachments import AttachmentUnavailableError
from conversations.checklist.naming import round_name
from conversations.checklist.scale import score_of
from conversations.core.i18n import Catalogue
from conversations.core.messages import Attachment, AttachmentKind
from conversations.instrument import Checklist
from storage.checklist.records import ChecklistRound, ClassRound, Pupil, Teacher
from storage.checklist.store import ChecklistStore

_LOG = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

# What XML 1.0 cannot contain: C0 controls except tab and line breaks, surrogates,
# and the two non-characters at the end of the Basic Multilingual Plane.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ABOUT_WIDTH = 100


def export_class_workbook(
    *,
    checklist: Checklist,
    pupils: Sequence[Pupil],
    rounds: Sequence[ClassRound],
    path: Path,
    texts: Catalogue,
    generated_at: datetime,
) -> Path:
    """Write one teacher's class list: one row per pupil, a column per statement and round.

    The layout follows the Excel list the seed recommends: pupils down, statements
    across, for round 1 and round 2 next to each other, each round followed by its
    verbeterstap column, so the teacher can see per child whether the scores went
    up. Scores are numbers (to sort and filter on); labels and steps are forced to
    text, so a label typed as "=..." never becomes a formula. The file is
    byte-for-byte deterministic for the same data and ``generated_at``.

    Args:
        checklist: The instrument (statement texts go on the about sheet).
        pupils: The class, in class order.
        rounds: The team's rounds with this teacher's scores, oldest first.
        path: Where to write; parents are created, an existing file is replaced.
        texts: Catalogue for headers.
        generated_at: The injected clock's now; must be timezone-aware.

    Raises:
        ValueError: ``generated_at`` is naive.
    """
    from openpyxl.styles import Alignment  # only where a workbook is written

    from bot.results.workbook import Column, new_workbook, save_workbook, set_cell, write_table

    workbook, stamp = new_workbook(title=checklist.title, generated_at=generated_at)

    columns = [
        Column(texts.t("checklist.export_number")),
        Column(texts.t("checklist.export_pupil")),
    ]
    for class_round in rounds:
        short = _short_round(class_round.round)
        columns += [
            Column(f"{short} · {number}") for number in range(1, len(checklist.statements) + 1)
        ]
        columns.append(Column(f"{short} · {texts.t('checklist.export_step')}", wrap=True))
    rows = []
    for index, pupil in enumerate(pupils, start=1):
        row: list[str | int | float | None] = [index, xml_text(pupil.label)]
        for class_round in rounds:
            given = class_round.scores.get(pupil.id, {})
            row += [score_of(checklist, given.get(s.id)) for s in checklist.statements]
            step = class_round.steps.get(pupil.id)
            row.append(None if step is None else xml_text(step))
        rows.append(row)
    sheet = workbook.active
    sheet.title = texts.t("checklist.export_sheet")[:31]
    write_table(sheet, columns=columns, rows=rows)

    about = workbook.create_sheet(texts.t("checklist.export_about")[:31])
    lines = [
        texts.t("checklist.export_about_text", title=checklist.title),
        texts.t("checklist.export_private"),
        "",
        *(
            f"{number}. {statement.text}"
            for number, statement in enumerate(checklist.statements, start=1)
        ),
        "",
        " · ".join(f"{option.code} = {option.label}" for option in checklist.scale.options),
        *(
            f"{_short_round(class_round.round)} = {round_name(class_round.round, texts)}"
            for class_round in rounds
        ),
        "",
        checklist.source,
    ]
    for row_index, line in enumerate(lines, start=1):
        set_cell(about.cell(row=row_index, column=1), line).alignment = Alignment(wrap_text=True)
    about.cell(row=len(lines) + 2, column=1, value=stamp).number_format = "yyyy-mm-dd hh:mm"
    about.column_dimensions["A"].width = _ABOUT_WIDTH
    save_workbook(workbook, path=path, stamp=stamp)
    return path


def xml_text(value: str) -> str:
    """``value`` without the characters an .xlsx file cannot hold.

    XML 1.0 forbids most control characters, lone surrogates and U+FFFE/U+FFFF;
    openpyxl refuses such a cell and the export would then fail for good. Stored
    data may hold them (typed before input was screened, or restored from a
    backup), so the export drops them instead of failing.
    """
    return _XML_ILLEGAL.sub("", value)


def _short_round(round_: ChecklistRound) -> str:
    """A compact column prefix: "R1 26/27"."""
    year = round_.school_year % 100
    return f"R{round_.number} {year:02d}/{(year + 1) % 100:02d}"


def export_path(*, output_dir: Path, teacher: Teacher) -> Path:
    """Where a teacher's export goes: named by row id, never by person or pupil."""
    key = teacher.key
    folder = "-".join(_UNSAFE.sub("_", part) for part in (key.platform, key.workspace, key.team))
    return output_dir / folder / f"checklist-klas-{teacher.id}.xlsx"


def export_attachment(*, teacher: Teacher, locale: str, generated_at: datetime) -> Attachment:
    """The attachment of a teacher's export: who, in which language, as of when.

    Only row ids, the teacher's own platform ids, a locale and a moment: nothing a
    pupil could be recognised by, as the attachment is stored with the message.
    """
    key = teacher.key
    return Attachment(
        kind=AttachmentKind.CHECKLIST_EXPORT,
        args=(
            ("teacher_id", str(teacher.id)),
            ("platform", key.platform),
            ("workspace", key.workspace),
            ("user", key.user),
            ("locale", locale),
            ("generated_at", generated_at.isoformat()),
        ),
    )


class ChecklistExportRenderer:
    """Makes a teacher's class list at delivery, from the class as stored then.

    Registered for :attr:`AttachmentKind.CHECKLIST_EXPORT` in the delivery's
    renderer registry (``bot.delivery.attachments``); called with the attachment's
    arguments. The same arguments and the same stored class give the same file.
    """

    def __init__(
        self, *, checklists: ChecklistStore, checklist: Checklist, output_dir: Path
    ) -> None:
        self._checklists = checklists
        self._checklist = checklist
        self._output_dir = output_dir

    def __call__(
        self,
        *,
        teacher_id: str,
        platform: str,
        workspace: str,
        user: str,
        locale: str,
        generated_at: str,
    ) -> Path:
        """Write the export and return its path.

        Raises:
            AttachmentUnavailableError: The teacher's data was erased since the export
                was asked for: there is nothing to send, and nothing may be recreated.
        """
        teacher = self._checklists.teacher_for_user(
            platform=platform, workspace=workspace, user=user, teacher_id=int(teacher_id)
        )
        if teacher is None:
            raise AttachmentUnavailableError("the teacher's checklist data was erased")
        pupils = self._checklists.pupils(teacher_id=teacher.id)
        rounds = [
            self._checklists.class_round(teacher_id=teacher.id, round_=round_)
            for round_ in self._checklists.rounds_of_team(team_id=teacher.team_id)
        ]
        path = export_class_workbook(
            checklist=self._checklist,
            pupils=pupils,
            rounds=rounds,
            path=export_path(output_dir=self._output_dir, teacher=teacher),
            texts=Catalogue(locale),
            generated_at=datetime.fromisoformat(generated_at),
        )
        _LOG.info("checklist: teacher %d exported %d pupils", teacher.id, len(pupils))
        return path
