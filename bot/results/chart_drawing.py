"""Drawing a chart's bars, labels and axes on matplotlib axes, from its worked-out geometry.

Only the matplotlib object API is used (no pyplot), so drawing keeps no global
state and can run in worker threads. One collection per answer option keeps the
item chart (some 250 segments) fast to build and to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.ticker import FuncFormatter, MultipleLocator

from bot.results.chart_geometry import UNKNOWN_AXES, Row, ScaleParts, Segments

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from conversations.core.i18n import Catalogue
    from conversations.instrument import ScaleOption

FONT = 10.0
ZERO_LINE = "#333333"
RULE = "#9a9a9a"
_GRID = "#e6e6e6"


@dataclass(frozen=True, slots=True)
class Layout:
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


def text_colour(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (relative luminance)."""
    red, green, blue = to_rgb(colour)
    return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "#ffffff"


def draw_segments(axes: Axes, *, found: Segments, colour: str, layout: Layout) -> None:
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


def segment_labels(
    axes: Axes, *, found: Segments, colour: str, centred: bool, layout: Layout
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
            color=text_colour(colour),
            bbox=box if centred else None,
            zorder=4,
            in_layout=False,
        )


def legend_label(option: ScaleOption, *, parts: ScaleParts, texts: Catalogue) -> str:
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


def heading(axes: Axes, *, y: float, text: str, limit: float, layout: Layout) -> None:
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
        axes.axhline(y - 0.5, color=RULE, linewidth=0.8, zorder=1)


def unknown_label(axes: Axes, *, y: float, total: float, limit: float, layout: Layout) -> None:
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


def style_main(
    axes: Axes, *, rows: Sequence[Row], limit: float, layout: Layout, texts: Catalogue
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
    axes.tick_params(axis="x", labelsize=FONT)
    axes.xaxis.set_major_locator(MultipleLocator(10.0 if limit <= 50 else 20.0))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{abs(value):.0f}"))
    axes.xaxis.grid(visible=True, color=_GRID, linewidth=0.8, zorder=0)
    axes.set_axisbelow(True)
    axes.set_xlabel(texts.t("chart.axis"), fontsize=FONT)
    for name in ("top", "right", "left"):
        axes.spines[name].set_visible(False)


def style_side(
    axes: Axes, *, rows: Sequence[Row], limit: float, parts: ScaleParts, layout: Layout
) -> None:
    """Axis and header of the separate "?" column."""
    axes.set_xlim(0.0, limit)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_yticks([])
    axes.tick_params(axis="x", labelsize=FONT)
    axes.xaxis.set_major_locator(MultipleLocator(UNKNOWN_AXES[limit]))
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
