"""The paired survey's result as an Excel workbook: one row per statement.

Built from a :class:`~bot.results.paired.PairedResult` only, so it holds no more than
the tier let through: per statement the counts and shares of the three categories
for experience and for importance, the shares the gap is made of, the gap, the
previous round's gap and the suggested priority rank. Without exact figures there
is nothing to export. Written with the shared workbook rules
(bot/results/workbook.py): texts never become formulas, filterable tables, and the
same result at the same moment gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.results.paired_gap import IMPORTANT_SHARE, MAX_PRIORITIES, MIN_GAP
from bot.results.workbook import (
    SHARE_FORMAT,
    Column,
    Row,
    new_workbook,
    save_workbook,
    sheet_title,
    write_about,
    write_table,
)

if TYPE_CHECKING:
    from bot.results.paired import PairedResult
    from bot.results.paired_gap import Shares
    from conversations.core.i18n import Catalogue

__all__ = ["paired_workbook"]

POINTS_FORMAT = "0.00"


def paired_workbook(
    *, result: PairedResult, path: Path, texts: Catalogue, generated_at: datetime
) -> Path:
    """Write the about sheet and the table per statement.

    Args:
        result: The paired survey's result; must have exact figures.
        path: Where to write the workbook (replaced if it exists).
        texts: The catalogue for sheet names and headers.
        generated_at: When the export was asked for (the injected clock); aware.

    Returns:
        ``path``.

    Raises:
        ValueError: The result has no exact figures, or ``generated_at`` is naive.
    """
    if not result.itemised:
        msg = (
            f"no exact figures (tier {result.tier}, {result.respondents} respondents):"
            " nothing may be exported"
        )
        raise ValueError(msg)
    workbook, stamp = new_workbook(title=result.title, generated_at=generated_at)
    _write_about(workbook.active, result=result, texts=texts, stamp=stamp)
    experience_labels, importance_labels = result.categories
    experience = texts.t("survey.chart.experience")
    importance = texts.t("survey.chart.importance")
    columns = [
        Column(texts.t("survey.export.number")),
        Column(texts.t("survey.export.section")),
        Column(texts.t("survey.export.name")),
        Column(texts.t("survey.export.experience_text"), wrap=True),
        Column(texts.t("survey.export.importance_text"), wrap=True),
        Column(texts.t("survey.export.answers", list=experience)),
        *_share_columns(list_name=experience, labels=experience_labels, texts=texts),
        Column(texts.t("survey.export.answers", list=importance)),
        *_share_columns(list_name=importance, labels=importance_labels, texts=texts),
        Column(texts.t("survey.export.important"), SHARE_FORMAT),
        Column(texts.t("survey.export.good"), SHARE_FORMAT),
        Column(texts.t("survey.export.gap"), POINTS_FORMAT),
        Column(texts.t("survey.export.before_gap"), POINTS_FORMAT),
        Column(texts.t("survey.export.priority")),
    ]
    ranks = {s.number: rank for rank, s in enumerate(result.priorities(), 1)}
    rows: list[Row] = [
        [
            statement.number,
            statement.section,
            statement.name,
            statement.experience_text,
            statement.importance_text,
            statement.experience.answers,
            *_share_values(statement.experience),
            statement.importance.answers,
            *_share_values(statement.importance),
            statement.important,
            statement.good,
            statement.gap,
            statement.before_gap,
            ranks.get(statement.number),
        ]
        for statement in result.statements
    ]
    write_table(
        workbook.create_sheet(sheet_title(texts.t("survey.export.statements"))),
        columns=columns,
        rows=rows,
    )
    save_workbook(workbook, path=path, stamp=stamp)
    return path


def _share_columns(*, list_name: str, labels: tuple[str, ...], texts: Catalogue) -> list[Column]:
    """Per category its count, then per category its share, as the quickscan export does."""
    counts = [
        Column(texts.t("survey.export.count", list=list_name, category=label)) for label in labels
    ]
    shares = [
        Column(texts.t("survey.export.share", list=list_name, category=label), SHARE_FORMAT)
        for label in labels
    ]
    return counts + shares


def _share_values(shares: Shares) -> list[str | int | float | None]:
    """The values of :func:`_share_columns`, unrounded (the formats round)."""
    values: list[str | int | float | None] = list(shares.counts)
    values.extend(shares.share(count) for count in shares.counts)
    return values


def _write_about(sheet: Any, *, result: PairedResult, texts: Catalogue, stamp: datetime) -> None:
    """What the workbook holds, when it was made, and the rule of gap and priorities."""
    intro = texts.t(
        "survey.export.about",
        title=result.title,
        respondents=result.respondents,
        invited=result.invited,
        important=round(IMPORTANT_SHARE * 100),
        gap=round(MIN_GAP * 100),
        most=MAX_PRIORITIES,
    )
    write_about(sheet, title=texts.t("export.about"), intro=intro, stamp=stamp)
