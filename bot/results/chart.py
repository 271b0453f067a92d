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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from bot.results.merge import Distribution, TeamResult
    from conversations.core.i18n import Catalogue
    from conversations.instrument import Quickscan, ScaleOption

__all__ = ["factor_chart", "item_chart"]

# One segment of a bar: the option, its left end and its width, in percent.
_Segment = tuple["ScaleOption", float, float]

DPI = 110
_FONT = 10.0
_TITLE_FONT = 14.0
# Red for negative, grey for the neutral middle, blue for positive (ColorBrewer RdBu
# with a grey centre): unlike red/green it stays distinguishable for colour-blind readers.
_DIVERGING = LinearSegmentedColormap.from_list(
    "quickscan", ["#b2182b", "#f4a582", "#d9d9d9", "#92c5de", "#2166ac"]
)
# "No insight" is a darker, cooler grey than the neutral answer and sits in its own column.
_UNSCORED_DARK = "#7f7f7f"
_UNSCORED_LIGHT = "#b5b5b5"
_ZERO_LINE = "#333333"
_GRID = "#e6e6e6"
_RULE = "#9a9a9a"
_ITEM_TEXT_LIMIT = 45
# Widths of the narrow "?" column's axis (in %) with the tick step that ends on them.
_UNKNOWN_AXES = {
    20.0: 10.0,
    30.0: 10.0,
    40.0: 20.0,
    50.0: 25.0,
    60.0: 20.0,
    80.0: 20.0,
    100.0: 50.0,
}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Sizes of one kind of chart, so the factor and item charts share the drawing code.

    Attributes:
        width: Figure width in inches.
        row_height: Height per bar (or heading) in inches.
        chrome_height: Height of title, axis and legend in inches.
        label_font: Font size of the bar labels.
        segment_font: Font size of the percentages inside the bars.
        min_segment: Smallest share (in %) that gets its percentage printed inside.
        bar_height: Bar thickness as a fraction of the row.
    """

    width: float
    row_height: float
    chrome_height: float
    label_font: float
    segment_font: float
    min_segment: float
    bar_height: float


_FACTOR_LAYOUT = _Layout(
    width=11.0,
    row_height=0.5,
    chrome_height=2.3,
    label_font=11.0,
    segment_font=9.0,
    min_segment=6.0,
    bar_height=0.72,
)
_ITEM_LAYOUT = _Layout(
    width=12.5,
    row_height=0.3,
    chrome_height=2.3,
    label_font=8.5,
    segment_font=7.0,
    min_segment=8.0,
    bar_height=0.78,
)


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the chart: a bar with its label, or a factor heading (no bar)."""

    label: str
    distribution: Distribution | None = None


@dataclass(frozen=True, slots=True)
class _ScaleParts:
    """The scale split the way the chart draws it.

    Attributes:
        negative: Options scored below the midpoint, nearest to the midpoint first.
        neutral: The option scored exactly at the midpoint, if the scale has one.
        positive: Options scored above the midpoint, nearest to the midpoint first.
        unscored: Options without a score ("?"), in scale order.
        colours: Hex colour per code.
        unscored_codes: The codes of ``unscored``.
    """

    negative: tuple[ScaleOption, ...]
    neutral: ScaleOption | None
    positive: tuple[ScaleOption, ...]
    unscored: tuple[ScaleOption, ...]
    colours: dict[str, str]
    unscored_codes: frozenset[str]

    def legend_order(self) -> tuple[ScaleOption, ...]:
        """Options as they appear from left to right in the chart."""
        middle = () if self.neutral is None else (self.neutral,)
        return (*reversed(self.negative), *middle, *self.positive, *self.unscored)


@dataclass(slots=True)
class _Segments:
    """The segments of one answer option over all bars, collected for one draw call.

    Attributes:
        option: The answer option.
        rows: Row index (y position) of every segment.
        lefts: Left end of every segment, in percent.
        widths: Width of every segment, in percent.
    """

    option: ScaleOption
    rows: list[int] = field(default_factory=list)
    lefts: list[float] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)

    def add(self, row: int, left: float, width: float) -> None:
        """Add a segment; empty ones are skipped so they leave no hairline."""
        if width > 0:
            self.rows.append(row)
            self.lefts.append(left)
            self.widths.append(width)

    def __iter__(self) -> Iterator[tuple[int, float, float]]:
        """The segments as (row, left, width)."""
        return zip(self.rows, self.lefts, self.widths, strict=True)


@dataclass(frozen=True, slots=True)
class _Bars:
    """Everything to draw, computed before any matplotlib object exists.

    Attributes:
        scored: Per scored code, its segments in the diverging part.
        unscored: Per unscored code, its segments in the "?" column.
        limit: Half width of the diverging axis, in percent.
        unknown_totals: Per row with "?" answers, their total share.
        unknown_limit: Width of the "?" column's axis, in percent.
    """

    scored: tuple[_Segments, ...]
    unscored: tuple[_Segments, ...]
    limit: float
    unknown_totals: dict[int, float]
    unknown_limit: float


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
        _Row(label=f"{factor.number}. {factor.short_name}", distribution=factor.distribution)
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
    rows: list[_Row] = []
    for factor in result.factors():
        rows.append(_Row(label=f"{factor.number}. {factor.short_name}"))
        rows.extend(
            _Row(label=f"{item.number}. {_shorten(item.text)}", distribution=item.distribution)
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


def _scale_parts(instrument: Quickscan) -> _ScaleParts:
    """Split the scale at its midpoint and give every option its colour.

    Colours depend on the rank of an option counted from the midpoint, so the
    strongest answer on each side always gets the strongest colour, whatever the
    number of options or the scores used.
    """
    options = instrument.scale.options
    scored = sorted(instrument.scale.scored(), key=lambda option: option.score or 0)
    scores = [option.score or 0 for option in scored]
    midpoint = (scores[0] + scores[-1]) / 2
    negative = tuple(reversed([o for o in scored if (o.score or 0) < midpoint]))
    positive = tuple(o for o in scored if (o.score or 0) > midpoint)
    neutral = next((o for o in scored if o.score == midpoint), None)
    unscored = tuple(option for option in options if option.score is None)
    colours: dict[str, str] = {}
    for side, sign in ((negative, -1), (positive, 1)):
        for rank, option in enumerate(side, 1):
            colours[option.code] = to_hex(_DIVERGING(0.5 + sign * 0.5 * rank / len(side)))
    if neutral is not None:
        colours[neutral.code] = to_hex(_DIVERGING(0.5))
    greys = LinearSegmentedColormap.from_list("unscored", [_UNSCORED_DARK, _UNSCORED_LIGHT])
    for index, option in enumerate(unscored):
        colours[option.code] = to_hex(greys(index / max(len(unscored) - 1, 1)))
    return _ScaleParts(
        negative=negative,
        neutral=neutral,
        positive=positive,
        unscored=unscored,
        colours=colours,
        unscored_codes=frozenset(option.code for option in unscored),
    )


def _percent(distribution: Distribution, option: ScaleOption) -> float:
    """Share of all answers (including "?") that chose ``option``, in percent."""
    return 100.0 * distribution.share(option.code)


def _segments(parts: _ScaleParts, distribution: Distribution) -> Iterator[_Segment]:
    """The scored segments of one bar as (option, left, width), in percent.

    The neutral option straddles zero; the other options are stacked outwards from
    its ends, nearest to the midpoint first.
    """
    half = 0.0
    if parts.neutral is not None:
        width = _percent(distribution, parts.neutral)
        half = width / 2
        yield parts.neutral, -half, width
    edge = -half
    for option in parts.negative:
        width = _percent(distribution, option)
        edge -= width
        yield option, edge, width
    edge = half
    for option in parts.positive:
        width = _percent(distribution, option)
        yield option, edge, width
        edge += width


def _bars_of(rows: Sequence[_Row], parts: _ScaleParts) -> _Bars:
    """Collect the segments of all rows per option and size the two axes to fit them."""
    by_code = {option.code: _Segments(option=option) for option in parts.legend_order()}
    unknown_totals: dict[int, float] = {}
    for y, row in enumerate(rows):
        if row.distribution is None:
            continue
        for option, left, width in _segments(parts, row.distribution):
            by_code[option.code].add(y, left, width)
        total = 0.0
        for option in parts.unscored:
            width = _percent(row.distribution, option)
            by_code[option.code].add(y, total, width)
            total += width
        if total > 0:
            unknown_totals[y] = total
    ends = [
        abs(end)
        for code, found in by_code.items()
        if code not in parts.unscored_codes
        for _y, left, width in found
        for end in (left, left + width)
    ]
    return _Bars(
        scored=tuple(found for code, found in by_code.items() if code not in parts.unscored_codes),
        unscored=tuple(by_code[option.code] for option in parts.unscored),
        limit=_limit(ends, step=10.0, floor=50.0),
        unknown_totals=unknown_totals,
        # Room to the right of the longest bar for its percentage.
        unknown_limit=next(
            (
                limit
                for limit in _UNKNOWN_AXES
                if limit >= max(unknown_totals.values(), default=0.0) * 1.35
            ),
            100.0,
        ),
    )


def _text_colour(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (relative luminance)."""
    red, green, blue = to_rgb(colour)
    return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "#ffffff"


def _limit(values: Sequence[float], *, step: float, floor: float) -> float:
    """The axis limit: the largest value rounded up to ``step``, within [floor, 100]."""
    largest = max(values, default=0.0)
    rounded = -(-largest // step) * step
    return float(min(max(rounded, floor), 100.0))


def _render(
    *,
    rows: Sequence[_Row],
    title: str,
    instrument: Quickscan,
    path: Path,
    texts: Catalogue,
    layout: _Layout,
) -> Path:
    """Draw the rows as diverging bars plus a "?" column, and write the PNG."""
    parts = _scale_parts(instrument)
    bars = _bars_of(rows, parts)
    height = layout.chrome_height + layout.row_height * max(len(rows), 1)
    figure = Figure(figsize=(layout.width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    columns = (5.0, 1.0) if parts.unscored else (1.0,)
    grid = figure.add_gridspec(1, len(columns), width_ratios=columns)
    axes = figure.add_subplot(grid[0, 0])
    for found in bars.scored:
        colour = parts.colours[found.option.code]
        _draw_segments(axes, found=found, colour=colour, layout=layout)
        _segment_labels(
            axes, found=found, colour=colour, centred=found.option == parts.neutral, layout=layout
        )
    axes.axvline(0.0, color=_ZERO_LINE, linewidth=1.0, zorder=3)
    _style_main(axes, rows=rows, limit=bars.limit, layout=layout, texts=texts)
    for y, row in enumerate(rows):
        if row.distribution is None:
            _heading(axes, y=y, text=row.label, limit=bars.limit, layout=layout)

    if parts.unscored:
        side = figure.add_subplot(grid[0, 1])
        for found in bars.unscored:
            _draw_segments(
                side, found=found, colour=parts.colours[found.option.code], layout=layout
            )
        for y, total in bars.unknown_totals.items():
            _unknown_label(side, y=y, total=total, limit=bars.unknown_limit, layout=layout)
        for y, row in enumerate(rows):
            if row.distribution is None and y > 0:
                side.axhline(y - 0.5, color=_RULE, linewidth=0.8, zorder=1)
        _style_side(side, rows=rows, limit=bars.unknown_limit, parts=parts, layout=layout)

    figure.suptitle(title, fontsize=_TITLE_FONT, fontweight="bold")
    handles = [
        Patch(
            facecolor=parts.colours[option.code],
            edgecolor="white",
            label=_legend_label(option, parts=parts, texts=texts),
        )
        for option in parts.legend_order()
    ]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=len(handles),
        title=texts.t("chart.legend_title"),
        fontsize=_FONT,
        title_fontsize=_FONT,
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


def _draw_segments(axes: Axes, *, found: _Segments, colour: str, layout: _Layout) -> None:
    """All segments of one answer option as one collection.

    One collection per option instead of a rectangle per segment keeps the item
    chart (some 250 segments) fast to build and to draw.
    """
    if not found.rows:
        return
    half = layout.bar_height / 2
    boxes = [
        ((left, y - half), (left, y + half), (left + width, y + half), (left + width, y - half))
        for y, left, width in found
    ]
    axes.add_collection(
        PolyCollection(
            boxes,
            facecolors=colour,
            edgecolors="white",
            linewidths=0.6,
            zorder=2,
            in_layout=False,
        ),
        autolim=False,
    )


def _segment_labels(
    axes: Axes, *, found: _Segments, colour: str, centred: bool, layout: _Layout
) -> None:
    """The percentage inside every segment wide enough to hold it.

    The neutral segment is centred on the zero line, so its label gets a box in the
    segment's colour that interrupts the line instead of being crossed by it.
    """
    box = {"boxstyle": "square,pad=0.1", "facecolor": colour, "edgecolor": "none"}
    for y, left, width in found:
        if width < layout.min_segment:
            continue
        axes.text(
            left + width / 2,
            y,
            f"{width:.0f}",
            ha="center",
            va="center",
            fontsize=layout.segment_font,
            color=_text_colour(colour),
            bbox=box if centred else None,
            zorder=4,
            in_layout=False,
        )


def _legend_label(option: ScaleOption, *, parts: _ScaleParts, texts: Catalogue) -> str:
    """The legend entry: the code for scored answers, the catalogue text for "?".

    The catalogue text explains the quickscan's "?" in the reader's language; an
    instrument whose unscored answer is something else ("n.v.t.") is labelled with
    its own code and label instead of a wrong explanation.
    """
    if option.score is not None:
        return option.code
    unknown = texts.t("chart.unknown")
    if len(parts.unscored) == 1 and unknown.split(" ", 1)[0] == option.code:
        return unknown
    return f"{option.code} ({option.label})"


def _heading(axes: Axes, *, y: float, text: str, limit: float, layout: _Layout) -> None:
    """A factor heading across the plot, with a rule above it to separate the groups."""
    axes.text(
        -limit + limit * 0.01,
        y + 0.1,
        text,
        ha="left",
        va="center",
        fontsize=layout.label_font + 0.5,
        fontweight="bold",
        color="#222222",
        zorder=4,
        in_layout=False,
    )
    if y > 0:
        axes.axhline(y - 0.5, color=_RULE, linewidth=0.8, zorder=1)


def _unknown_label(axes: Axes, *, y: float, total: float, limit: float, layout: _Layout) -> None:
    """The "?" share next to its bar (inside it when the bar fills the column)."""
    if total <= 0:
        return
    inside = total > limit * 0.75
    axes.text(
        total - limit * 0.03 if inside else total + limit * 0.03,
        y,
        f"{total:.0f}",
        ha="right" if inside else "left",
        va="center",
        fontsize=layout.segment_font,
        color="#ffffff" if inside else "#333333",
        zorder=4,
        in_layout=False,
    )


def _style_main(
    axes: Axes, *, rows: Sequence[_Row], limit: float, layout: _Layout, texts: Catalogue
) -> None:
    """Axis, ticks and labels of the diverging part."""
    axes.set_xlim(-limit, limit)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    # Plain texts instead of 58 tick labels: ticks cost a line and two texts each.
    axes.set_yticks([])
    labels = axes.get_yaxis_transform()
    for y, row in enumerate(rows):
        if row.distribution is not None:
            axes.text(
                -0.01,
                y,
                row.label,
                transform=labels,
                ha="right",
                va="center",
                fontsize=layout.label_font,
            )
    axes.tick_params(axis="x", labelsize=_FONT)
    axes.xaxis.set_major_locator(MultipleLocator(10.0 if limit <= 50 else 20.0))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{abs(value):.0f}"))
    axes.xaxis.grid(visible=True, color=_GRID, linewidth=0.8, zorder=0)
    axes.set_axisbelow(True)
    axes.set_xlabel(texts.t("chart.axis"), fontsize=_FONT)
    for name in ("top", "right", "left"):
        axes.spines[name].set_visible(False)


def _style_side(
    axes: Axes, *, rows: Sequence[_Row], limit: float, parts: _ScaleParts, layout: _Layout
) -> None:
    """Axis and header of the separate "?" column."""
    axes.set_xlim(0.0, limit)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_yticks([])
    axes.tick_params(axis="x", labelsize=_FONT)
    axes.xaxis.set_major_locator(MultipleLocator(_UNKNOWN_AXES[limit]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.0f}"))
    axes.xaxis.grid(visible=True, color=_GRID, linewidth=0.8, zorder=0)
    axes.set_axisbelow(True)
    axes.set_title(
        " / ".join(option.code for option in parts.unscored),
        fontsize=layout.label_font + 2,
        fontweight="bold",
    )
    axes.set_facecolor("#f7f7f7")
    for name in ("top", "right", "left"):
        axes.spines[name].set_visible(False)
