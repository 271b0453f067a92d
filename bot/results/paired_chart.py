"""The paired survey's chart: experience and importance per statement, as paired bars.

Each statement gets two horizontal bars of 100 %, experience above importance, each
split into its list's three categories (the seed's "goed / redelijk / nauwelijks /
niet" and "zeer belangrijk / redelijk belangrijk / nauwelijks / niet"), best first
from the left. Where the importance bar's first two parts reach further than the
experience bar's first part, the team finds it more important than it experiences
it: the gap, printed at the right end. The suggested priorities are printed bold.

Experience is drawn in blues and importance in oranges, both darkest for the best
category, so the two bars never read as one scale; the bottom category is grey in
both. The geometry is worked out first as plain numbers (:func:`bar_segments`), so
it can be checked without drawing; drawing uses only the matplotlib object API on
the Agg canvas (no pyplot, no global state), and the PNG carries no software
version or timestamp, so the same result gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch

from bot.results.chart_drawing import text_colour
from bot.results.paired_text import points

if TYPE_CHECKING:
    from bot.results.paired import PairedResult
    from bot.results.paired_gap import Shares
    from conversations.core.i18n import Catalogue

__all__ = ["BarSegment", "bar_segments", "paired_chart"]

DPI = 110
EXPERIENCE_COLOURS = ("#2166ac", "#92c5de", "#d9d9d9")
IMPORTANCE_COLOURS = ("#b35806", "#fdb863", "#d9d9d9")
ROWS_PER_STATEMENT = 3  # experience, importance, and a blank row between statements
_BAR_HEIGHT = 0.8
_ROW_INCHES = 0.32
_CHROME_INCHES = 2.4
_WIDTH_INCHES = 12.0
_MIN_LABELLED = 8.0  # % a segment needs to carry its own percentage
_FONT = 9.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BarSegment:
    """One part of one bar, in percent of that bar's answers.

    Attributes:
        y: The bar's row (0 at the top).
        left: Where the part starts, 0 .. 100.
        width: Its share of the bar's answers, in percent.
        colour: Its colour (per list and category).
        statement: The statement's number.
        importance: Whether the bar is the importance bar (else experience).
    """

    y: float
    left: float
    width: float
    colour: str
    statement: int
    importance: bool


def bar_segments(result: PairedResult) -> tuple[BarSegment, ...]:
    """Every non-empty part of every bar, statements top to bottom in result order.

    Raises:
        ValueError: The result has no exact figures, so nothing may be drawn.
    """
    _check(result)
    segments: list[BarSegment] = []
    for index, statement in enumerate(result.statements):
        top = index * ROWS_PER_STATEMENT
        for offset, shares, colours in (
            (0, statement.experience, EXPERIENCE_COLOURS),
            (1, statement.importance, IMPORTANCE_COLOURS),
        ):
            segments.extend(
                _bar(
                    shares,
                    y=float(top + offset),
                    colours=colours,
                    statement=statement.number,
                    importance=bool(offset),
                )
            )
    return tuple(segments)


def paired_chart(*, result: PairedResult, path: Path, texts: Catalogue) -> Path:
    """Draw the paired bars and save them as PNG.

    Args:
        result: The paired survey's result; must have exact figures.
        path: Where to write the PNG; missing parent directories are created.
        texts: The catalogue for the title, the list names and the gap.

    Returns:
        ``path``, so a caller can hand it straight to an adapter.

    Raises:
        ValueError: The result has no exact figures (fewer than 5 respondents, below
            the team's minimum, or lowered by the round-to-round comparison).
    """
    segments = bar_segments(result)
    rows = max(len(result.statements) * ROWS_PER_STATEMENT - 1, 1)
    figure = Figure(figsize=(_WIDTH_INCHES, _CHROME_INCHES + _ROW_INCHES * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for segment in segments:
        axes.barh(
            segment.y,
            segment.width,
            left=segment.left,
            height=_BAR_HEIGHT,
            color=segment.colour,
            edgecolor="white",
            linewidth=0.6,
        )
        if segment.width >= _MIN_LABELLED:
            axes.text(
                segment.left + segment.width / 2,
                segment.y,
                f"{segment.width:.0f}",
                ha="center",
                va="center",
                fontsize=_FONT - 1,
                color=text_colour(segment.colour),
            )
    priorities = {statement.number for statement in result.priorities()}
    experience_name = texts.t("survey.chart.experience")
    importance_name = texts.t("survey.chart.importance")
    ticks: list[float] = []
    labels: list[str] = []
    bold: list[bool] = []
    for index, statement in enumerate(result.statements):
        top = float(index * ROWS_PER_STATEMENT)
        ticks += [top, top + 1]
        labels += [f"{statement.number}. {statement.name} · {experience_name}", importance_name]
        bold += [statement.number in priorities, False]
        if statement.gap is not None:
            axes.text(
                101.5,
                top + 0.5,
                texts.t("survey.chart.gap", gap=points(texts, statement.gap)),
                ha="left",
                va="center",
                fontsize=_FONT,
                fontweight="bold" if statement.number in priorities else "normal",
            )
    axes.set_yticks(ticks, labels, fontsize=_FONT)
    for tick, strong in zip(axes.get_yticklabels(), bold, strict=True):
        if strong:
            tick.set_fontweight("bold")
    axes.set_ylim(rows - 0.5, -0.5)
    axes.set_xlim(0.0, 100.0)
    axes.set_xlabel(texts.t("survey.chart.axis"), fontsize=_FONT)
    for name in ("top", "right"):
        axes.spines[name].set_visible(False)
    experience_labels, importance_labels = result.categories
    handles = [
        Patch(facecolor=colour, edgecolor="white", label=f"{experience_name}: {label}")
        for colour, label in zip(EXPERIENCE_COLOURS, experience_labels, strict=True)
    ] + [
        Patch(facecolor=colour, edgecolor="white", label=f"{importance_name}: {label}")
        for colour, label in zip(IMPORTANCE_COLOURS, importance_labels, strict=True)
    ]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=2,  # column-major: experience in the first column, importance in the second
        fontsize=_FONT,
        frameon=False,
    )
    figure.suptitle(
        texts.t("survey.chart_title", respondents=result.respondents),
        fontsize=13.0,
        fontweight="bold",
    )
    # Lay out once here instead of attaching the engine (savefig would lay out again).
    ConstrainedLayoutEngine(w_pad=0.12, h_pad=0.08).execute(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _bar(
    shares: Shares, *, y: float, colours: tuple[str, str, str], statement: int, importance: bool
) -> list[BarSegment]:
    """The parts of one bar, best category first from the left; empty parts left out."""
    parts: list[BarSegment] = []
    left = 0.0
    for count, colour in zip(shares.counts, colours, strict=True):
        width = 100.0 * shares.share(count)
        if width > 0:
            parts.append(
                BarSegment(
                    y=y,
                    left=left,
                    width=width,
                    colour=colour,
                    statement=statement,
                    importance=importance,
                )
            )
        left += width
    return parts


def _check(result: PairedResult) -> None:
    """Refuse a result that must not be drawn."""
    if not result.itemised:
        msg = (
            f"result of {result.respondents} respondents has no exact figures "
            f"(tier {result.tier}): nothing may be drawn"
        )
        raise ValueError(msg)
