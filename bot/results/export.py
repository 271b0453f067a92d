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

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.results.workbook import (
    SHARE_FORMAT,
    Column,
    new_workbook,
    save_workbook,
    set_cell,
    sheet_title,
    write_about,
    write_table,
)

if TYPE_CHECKING:
    from bot.results.distribution import Distribution
    from bot.results.labels import Label
    from bot.results.team_result import TeamResult
    from conversations.core.i18n import Catalogue
    from conversations.instrument import Quickscan, ScaleOption

__all__ = ["export_workbook"]

MEAN_FORMAT = "0.00"
# Thresholds on the score scale rather than shares (see bot.results.labels.LabelRules).
_SCORE_THRESHOLDS = frozenset({"werkpunt_gemiddelde"})


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
    workbook, stamp = new_workbook(title=instrument.title, generated_at=generated_at)

    options = instrument.scale.options
    _write_about(workbook.active, result=result, instrument=instrument, texts=texts, stamp=stamp)
    write_table(
        workbook.create_sheet(sheet_title(texts.t("export.items"))),
        columns=[
            Column(texts.t("export.number")),
            Column(texts.t("export.factor")),
            Column(texts.t("export.question"), wrap=True),
            *_distribution_columns(texts=texts, options=options),
            Column(texts.t("export.label")),
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
    write_table(
        workbook.create_sheet(sheet_title(texts.t("export.factors"))),
        columns=[
            Column(texts.t("export.number")),
            Column(texts.t("export.factor")),
            Column(texts.t("export.cluster")),
            *_distribution_columns(texts=texts, options=options),
            Column(texts.t("export.label")),
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
    write_table(
        workbook.create_sheet(sheet_title(texts.t("export.clusters"))),
        columns=[
            Column(texts.t("export.cluster")),
            *_distribution_columns(texts=texts, options=options),
            Column(texts.t("export.grade_mean"), MEAN_FORMAT),
            Column(texts.t("export.grade_count")),
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
    save_workbook(workbook, path=path, stamp=stamp)
    return path


def _write_about(
    sheet: Any, *, result: TeamResult, instrument: Quickscan, texts: Catalogue, stamp: datetime
) -> None:
    """The about sheet: what the workbook holds, when it was made, and the label thresholds.

    The thresholds are listed under the names coordinators type to change them, so a
    label in the other sheets can be traced back to the rule that gave it.
    """
    intro = texts.t(
        "export.about_text",
        title=instrument.title,
        respondents=result.respondents,
        invited=result.invited,
    )
    write_about(sheet, title=texts.t("export.about"), intro=intro, stamp=stamp)
    for row, (name, value) in enumerate(sorted(result.rules.as_mapping().items()), start=4):
        set_cell(sheet.cell(row=row, column=1), name)
        cell = sheet.cell(row=row, column=2, value=value)
        cell.number_format = MEAN_FORMAT if name in _SCORE_THRESHOLDS else SHARE_FORMAT


def _distribution_columns(*, texts: Catalogue, options: Sequence[ScaleOption]) -> list[Column]:
    """Columns of one distribution: answers, counts and shares per code, mean, spread.

    The share of answers without a score gets its own column only when it is not already
    one of the share columns, i.e. unless the scale has exactly one such option (the
    quickscan's "?"); otherwise two columns would show the same figure under one header.
    """
    columns = [Column(texts.t("export.answers"))]
    columns.extend(Column(texts.t("export.count", code=option.code)) for option in options)
    columns.extend(
        Column(texts.t("export.share", code=option.code), SHARE_FORMAT) for option in options
    )
    columns.append(Column(texts.t("export.mean"), MEAN_FORMAT))
    columns.append(Column(texts.t("export.stdev"), MEAN_FORMAT))
    if _separate_unknown(options):
        columns.append(Column(texts.t("export.unknown"), SHARE_FORMAT))
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
