"""Change since the team's previous round of the same instrument, per success factor.

A team repeats the quickscan to see whether its improvements landed; the change
in mean and in label per factor answers that without anyone comparing two posts.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.results.labels import Label
from bot.results.team_result import TeamResult


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorChange:
    """One factor then and now; ``delta`` is None when either round had no scored answer."""

    number: int
    short_name: str
    before_mean: float | None
    after_mean: float | None
    before_label: Label
    after_label: Label

    @property
    def delta(self) -> float | None:
        """The change in mean score (positive = better)."""
        if self.before_mean is None or self.after_mean is None:
            return None
        return self.after_mean - self.before_mean

    @property
    def label_changed(self) -> bool:
        """Whether the reading of the factor changed."""
        return self.before_label is not self.after_label


def compare(*, previous: TeamResult, current: TeamResult) -> tuple[FactorChange, ...]:
    """Per factor present in both rounds; empty unless both have exact figures.

    Whether the two may be compared at all (their respondents differ by 0 or at
    least the minimum) is decided at close, in bot/results.py.
    """
    if not (previous.itemised and current.itemised):
        return ()
    before = {factor.number: factor for factor in previous.factors()}
    changes = []
    for factor in current.factors():
        then = before.get(factor.number)
        if then is None:
            continue
        changes.append(
            FactorChange(
                number=factor.number,
                short_name=factor.short_name,
                before_mean=then.distribution.mean,
                after_mean=factor.distribution.mean,
                before_label=then.label,
                after_label=factor.label,
            )
        )
    return tuple(changes)
