"""Diverging stacked bar charts of a team's merged quickscan, as PNG files.

A chat message can list a few numbers, but a team reads "where are we positive,
where do we disagree, where do we lack insight" much faster from one picture.
The charts follow the usual way of showing a Likert scale: negative answers extend
left of zero, positive answers right, the neutral middle option straddles zero and
"no insight" stands apart in its own column, so it is never mistaken for a
judgement.

Everything is derived from the instrument's scale (scores, midpoint, codes), so a
variant with a different scale renders without code changes. Only the matplotlib
object API with the Agg canvas is used (no pyplot), so rendering keeps no global
state, leaves no open figures behind and can run in worker threads. The PNG
carries no software version or timestamp, so the same result gives the same bytes.

This module decides what a chart shows (one bar per factor, or per question under
its factor) and puts the figure together; the bars' geometry is worked out in
``bot.results.chart_geometry`` and drawn by ``bot.results.chart_drawing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch

from bot.results.chart_drawing import (
    FONT,
    RULE,
    ZERO_LINE,
    Layout,
    draw_segments,
    heading,
    legend_label,
    segment_labels,
    style_main,
    style_side,
    unknown_label,
)
from bot.results.chart_geometry import Row, bars_of, scale_parts

if TYPE_CHECKING:
    from bot.results.team_result import TeamResult
    from conversations.core.i18n import Catalogue
    from conversations.instrument import Quickscan

__all__ = ["factor_chart", "item_chart"]

DPI = 110
_TITLE_FONT = 14.0
_ITEM_TEXT_LIMIT = 45

_FACTOR_LAYOUT = Layout(
    width=11.0,
    row_height=0.5,
    chrome_height=2.3,
    label_font=11.0,
    segment_font=9.0,
    min_segment=6.0,
    bar_height=0.72,
)
_ITEM_LAYOUT = Layout(
    width=12.5,
    row_height=0.3,
    chrome_height=2.3,
    label_font=8.5,
    segment_font=7.0,
    min_segment=8.0,
    bar_height=0.78,
)


def factor_chart(
    *, result: TeamResult, instrument: Quickscan, path: Path, texts: Catalogue
) -> Path:
    """Draw one bar per success factor, factor 1 at the top, and save it as PNG.

    Each bar shows the shares of all answers to the factor's questions pooled, which
    is the level a team discusses first.

    Args:
        result: The merged team result; must be itemised.
        instrument: The instrument the result belongs to; its scale drives the chart.
        path: Where to write the PNG; missing parent directories are created.
        texts: The catalogue for the title, axis and legend texts.

    Returns:
        ``path``, so a caller can hand it straight to an adapter.

    Raises:
        ValueError: The result has no exact figures (not itemised: fewer than 5
            respondents, below the team's minimum, or lowered by the round-to-round
            comparison) or belongs to another instrument, so nothing may be drawn.
    """
    _check(result=result, instrument=instrument)
    rows = [
        Row(label=f"{factor.number}. {factor.short_name}", distribution=factor.distribution)
        for factor in result.factors()
    ]
    return _render(
        rows=rows,
        title=texts.t("chart.factors_title", respondents=result.respondents),
        instrument=instrument,
        path=path,
        texts=texts,
        layout=_FACTOR_LAYOUT,
    )


def item_chart(*, result: TeamResult, instrument: Quickscan, path: Path, texts: Catalogue) -> Path:
    """Draw one bar per question, grouped under a heading per factor, and save it as PNG.

    This is the detail behind the factor chart: which questions pull a factor down.
    Item-level data exists only in the exact tier (bot/anonymity.py), hence the check.

    Args:
        result: The merged team result; must be itemised.
        instrument: The instrument the result belongs to; its scale drives the chart.
        path: Where to write the PNG; missing parent directories are created.
        texts: The catalogue for the title, axis and legend texts.

    Returns:
        ``path``, so a caller can hand it straight to an adapter.

    Raises:
        ValueError: The result is below the team's minimum (not itemised) or belongs to
            another instrument, so no item may be drawn.
    """
    _check(result=result, instrument=instrument)
    rows: list[Row] = []
    for factor in result.factors():
        rows.append(Row(label=f"{factor.number}. {factor.short_name}"))
        rows.extend(
            Row(label=f"{item.number}. {_shorten(item.text)}", distribution=item.distribution)
            for item in factor.items
        )
    return _render(
        rows=rows,
        title=texts.t("chart.items_title", respondents=result.respondents),
        instrument=instrument,
        path=path,
        texts=texts,
        layout=_ITEM_LAYOUT,
    )


def _check(*, result: TeamResult, instrument: Quickscan) -> None:
    """Refuse results that must not (or cannot) be drawn."""
    if not result.itemised:
        msg = (
            f"result of {result.respondents} respondents has no exact figures "
            f"(tier {result.tier}): nothing may be drawn"
        )
        raise ValueError(msg)
    if result.instrument_id != instrument.id:
        msg = f"result is for {result.instrument_id!r}, not for {instrument.id!r}"
        raise ValueError(msg)


def _shorten(text: str, *, limit: int = _ITEM_TEXT_LIMIT) -> str:
    """Cut a question to about ``limit`` characters at a word boundary, marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0]
    if len(cut) < limit * 2 // 3:
        cut = text[:limit]
    return f"{cut.rstrip(' ,;:(')}…"


def _render(
    *,
    rows: Sequence[Row],
    title: str,
    instrument: Quickscan,
    path: Path,
    texts: Catalogue,
    layout: Layout,
) -> Path:
    """Draw the rows as diverging bars plus a "?" column, and write the PNG."""
    parts = scale_parts(instrument)
    bars = bars_of(rows, parts)
    height = layout.chrome_height + layout.row_height * max(len(rows), 1)
    figure = Figure(figsize=(layout.width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    columns = (5.0, 1.0) if parts.unscored else (1.0,)
    grid = figure.add_gridspec(1, len(columns), width_ratios=columns)
    axes = figure.add_subplot(grid[0, 0])
    for found in bars.scored:
        colour = parts.colours[found.option.code]
        draw_segments(axes, found=found, colour=colour, layout=layout)
        segment_labels(
            axes, found=found, colour=colour, centred=found.option == parts.neutral, layout=layout
        )
    axes.axvline(0.0, color=ZERO_LINE, linewidth=1.0, zorder=3)
    style_main(axes, rows=rows, limit=bars.limit, layout=layout, texts=texts)
    for y, row in enumerate(rows):
        if row.distribution is None:
            heading(axes, y=y, text=row.label, limit=bars.limit, layout=layout)

    if parts.unscored:
        side = figure.add_subplot(grid[0, 1])
        for found in bars.unscored:
            draw_segments(
                side, found=found, colour=parts.colours[found.option.code], layout=layout
            )
        for y, total in bars.unknown_totals.items():
            unknown_label(side, y=y, total=total, limit=bars.unknown_limit, layout=layout)
        for y, row in enumerate(rows):
            if row.distribution is None and y > 0:
                side.axhline(y - 0.5, color=RULE, linewidth=0.8, zorder=1)
        style_side(side, rows=rows, limit=bars.unknown_limit, parts=parts, layout=layout)

    figure.suptitle(title, fontsize=_TITLE_FONT, fontweight="bold")
    handles = [
        Patch(
            facecolor=parts.colours[option.code],
            edgecolor="white",
            label=legend_label(option, parts=parts, texts=texts),
        )
        for option in parts.legend_order()
    ]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=len(handles),
        title=texts.t("chart.legend_title"),
        fontsize=FONT,
        title_fontsize=FONT,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.6,
    )
    # Lay out once here instead of attaching the engine to the figure: with an engine
    # attached, savefig draws the whole figure an extra time just to run the layout.
    ConstrainedLayoutEngine(w_pad=0.12, h_pad=0.08).execute(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path
