"""The reading rule of a paired survey: important, good, the gap between, priorities.

Seed 003 (5.2.4) reads its mentor survey per statement as the shares of three
categories for experience (goed / redelijk / nauwelijks of niet) and for importance
(zeer belangrijk / redelijk belangrijk / nauwelijks of niet), "nooit" and "niet"
merged with "nauwelijks" because they were rarely chosen. Its interpretations put
the two side by side: "Alle mentoren geven aan het kennen van de thuissituatie
redelijk tot zeer belangrijk te vinden. Toch geeft slechts 31% van de mentoren aan
de thuissituatie ook goed te kennen." This module makes that reading exact:

* **important** = the share of importance answers in the top two categories
  ("redelijk tot zeer belangrijk");
* **good** = the share of experience answers in the top category ("goed");
* **gap** = important - good, in share points (-1 .. 1; the seed's example: 100 % -
  31 % = 69 points).

The suggested priorities are the statements the team finds important (at least
:data:`IMPORTANT_SHARE`) with a gap of at least :data:`MIN_GAP`, largest gap first,
at most :data:`MAX_PRIORITIES` (docs/mentor-survey.md).

The rule is kept apart from the result it reads (``bot.results.paired``) because
the post, the chart and the export all quote it: the text states the thresholds,
the export writes them under the table, so there is one place to change them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.results.paired import StatementResult

IMPORTANT_SHARE = 0.75
"""A statement counts as important to the team from this share "redelijk tot zeer belangrijk"."""

MIN_GAP = 0.20
"""A gap below this many share points is no priority: with 5 or 6 mentors one person is ~20."""

MAX_PRIORITIES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Shares:
    """One statement's answers in one list, merged into the three categories.

    Attributes:
        high: Answers in the top category ("goed", "zeer belangrijk").
        middle: Answers in the middle category ("redelijk", "redelijk belangrijk").
        low: Answers in the bottom category ("nauwelijks / niet").
    """

    high: int
    middle: int
    low: int

    @property
    def answers(self) -> int:
        """All answers counted: the denominator of every share."""
        return self.high + self.middle + self.low

    def share(self, count: int) -> float:
        """``count`` as a share of all answers; 0.0 when nobody answered."""
        return count / self.answers if self.answers else 0.0

    @property
    def counts(self) -> tuple[int, int, int]:
        """High, middle, low: the order of every table and bar."""
        return (self.high, self.middle, self.low)


def important_share(importance: Shares) -> float:
    """The share of importance answers "redelijk tot zeer belangrijk" (the top two)."""
    return importance.share(importance.high + importance.middle)


def good_share(experience: Shares) -> float:
    """The share of experience answers "goed" (the top category)."""
    return experience.share(experience.high)


def gap_of(*, experience: Shares, importance: Shares) -> float | None:
    """Important minus good, in share points; None when either list has no answer."""
    if not (experience.answers and importance.answers):
        return None
    return important_share(importance) - good_share(experience)


def _exact_share(shares: Shares, count: int) -> Fraction:
    """``count`` of ``shares`` as an exact fraction; 0 when nobody answered."""
    return Fraction(count, shares.answers) if shares.answers else Fraction(0)


def suggested_priorities(
    statements: Iterable[StatementResult],
) -> tuple[StatementResult, ...]:
    """The suggested priorities: important statements with the largest gaps.

    Important means at least :data:`IMPORTANT_SHARE` "redelijk tot zeer
    belangrijk"; a gap counts from :data:`MIN_GAP`. Ties go to the more important
    statement, then to the lower number, so the order never depends on chance.
    Thresholds and order are decided on exact fractions of the counts: in floats
    1.0 - 0.8 is just below 0.2, so 5 of 5 important and 4 of 5 good would miss
    the documented "at least 20 points", and two equal gaps could differ.
    """
    important_min = Fraction(str(IMPORTANT_SHARE))
    gap_min = Fraction(str(MIN_GAP))
    ranked = []
    for statement in statements:
        experience, importance = statement.experience, statement.importance
        if not (experience.answers and importance.answers):
            continue
        important = _exact_share(importance, importance.high + importance.middle)
        gap = important - _exact_share(experience, experience.high)
        if important >= important_min and gap >= gap_min:
            ranked.append((-gap, -important, statement.number, statement))
    ranked.sort(key=lambda entry: entry[:3])
    return tuple(entry[3] for entry in ranked[:MAX_PRIORITIES])
