"""The geometry of a diverging stacked bar chart, worked out before anything is drawn.

Everything is derived from the instrument's scale (scores, midpoint, codes), so a
variant with a different scale renders without code changes: which options go
left or right of zero, their colours, every segment's place and the axes' limits.
Plain numbers only, so the drawing (``bot.results.chart_drawing``) does no sums.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from matplotlib.colors import LinearSegmentedColormap, to_hex

if TYPE_CHECKING:
    from bot.results.distribution import Distribution
    from conversations.instrument import Quickscan, ScaleOption

# One segment of a bar: the option, its left end and its width, in percent.
Segment = tuple["ScaleOption", float, float]

# Red for negative, grey for the neutral middle, blue for positive (ColorBrewer RdBu
# with a grey centre): unlike red/green it stays distinguishable for colour-blind readers.
_DIVERGING = LinearSegmentedColormap.from_list(
    "quickscan", ["#b2182b", "#f4a582", "#d9d9d9", "#92c5de", "#2166ac"]
)
# "No insight" is a darker, cooler grey than the neutral answer and sits in its own column.
_UNSCORED_DARK = "#7f7f7f"
_UNSCORED_LIGHT = "#b5b5b5"
# Widths of the narrow "?" column's axis (in %) with the tick step that ends on them.
UNKNOWN_AXES = {
    20.0: 10.0,
    30.0: 10.0,
    40.0: 20.0,
    50.0: 25.0,
    60.0: 20.0,
    80.0: 20.0,
    100.0: 50.0,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the chart: a bar with its label, or a factor heading (no bar)."""

    label: str
    distribution: Distribution | None = None


@dataclass(frozen=True, slots=True)
class ScaleParts:
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
class Segments:
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
class Bars:
    """Everything to draw, computed before any matplotlib object exists.

    Attributes:
        scored: Per scored code, its segments in the diverging part.
        unscored: Per unscored code, its segments in the "?" column.
        limit: Half width of the diverging axis, in percent.
        unknown_totals: Per row with "?" answers, their total share.
        unknown_limit: Width of the "?" column's axis, in percent.
    """

    scored: tuple[Segments, ...]
    unscored: tuple[Segments, ...]
    limit: float
    unknown_totals: dict[int, float]
    unknown_limit: float


def scale_parts(instrument: Quickscan) -> ScaleParts:
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
    return ScaleParts(
        negative=negative,
        neutral=neutral,
        positive=positive,
        unscored=unscored,
        colours=colours,
        unscored_codes=frozenset(option.code for option in unscored),
    )


def percent(distribution: Distribution, option: ScaleOption) -> float:
    """Share of all answers (including "?") that chose ``option``, in percent."""
    return 100.0 * distribution.share(option.code)


def segments(parts: ScaleParts, distribution: Distribution) -> Iterator[Segment]:
    """The scored segments of one bar as (option, left, width), in percent.

    The neutral option straddles zero; the other options are stacked outwards from
    its ends, nearest to the midpoint first.
    """
    half = 0.0
    if parts.neutral is not None:
        width = percent(distribution, parts.neutral)
        half = width / 2
        yield parts.neutral, -half, width
    edge = -half
    for option in parts.negative:
        width = percent(distribution, option)
        edge -= width
        yield option, edge, width
    edge = half
    for option in parts.positive:
        width = percent(distribution, option)
        yield option, edge, width
        edge += width


def bars_of(rows: Sequence[Row], parts: ScaleParts) -> Bars:
    """Collect the segments of all rows per option and size the two axes to fit them."""
    by_code = {option.code: Segments(option=option) for option in parts.legend_order()}
    unknown_totals: dict[int, float] = {}
    for y, row in enumerate(rows):
        if row.distribution is None:
            continue
        for option, left, width in segments(parts, row.distribution):
            by_code[option.code].add(y, left, width)
        total = 0.0
        for option in parts.unscored:
            width = percent(row.distribution, option)
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
    return Bars(
        scored=tuple(found for code, found in by_code.items() if code not in parts.unscored_codes),
        unscored=tuple(by_code[option.code] for option in parts.unscored),
        limit=axis_limit(ends, step=10.0, floor=50.0),
        unknown_totals=unknown_totals,
        # Room to the right of the longest bar for its percentage.
        unknown_limit=next(
            (
                limit
                for limit in UNKNOWN_AXES
                if limit >= max(unknown_totals.values(), default=0.0) * 1.35
            ),
            100.0,
        ),
    )


def axis_limit(values: Sequence[float], *, step: float, floor: float) -> float:
    """The axis limit: the largest value rounded up to ``step``, within [floor, 100]."""
    largest = max(values, default=0.0)
    rounded = -(-largest // step) * step
    return float(min(max(rounded, floor), 100.0))
