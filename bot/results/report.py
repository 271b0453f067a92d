"""The neutral team report: what every adapter renders, natively or as text.

It bundles the merged result with what the team should do with it, so the
console, Slack and Telegram all show the same priorities and lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.results.merge import TeamResult
from bot.results.priorities import Suggestions, suggest
from bot.results.trend import FactorChange
from conversations.instrument import Quickscan


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamReport:
    """A closed round's team result, ready to render.

    Attributes:
        instrument: The instrument, for titles, factor names and follow-up questions.
        result: The merged answers (anonymity thresholds already applied).
        suggestions: Priorities and the discuss / investigate lists.
        trend: Per factor change since the previous round (empty if none).
        chart: The diverging bar chart PNG, when one was drawn.
    """

    instrument: Quickscan
    result: TeamResult
    suggestions: Suggestions
    trend: tuple[FactorChange, ...]
    chart: Path | None


def build_report(
    *,
    instrument: Quickscan,
    result: TeamResult,
    chart: Path | None,
    trend: tuple[FactorChange, ...] = (),
) -> TeamReport:
    """Derive the suggestions from a merged result.

    ``trend`` is the change since the previous round as frozen in the round's
    snapshot (bot/snapshot.py), never recomputed: a later settings change must not
    alter what a closed round showed.
    """
    return TeamReport(
        instrument=instrument,
        result=result,
        suggestions=suggest(instrument=instrument, result=result),
        trend=trend,
        chart=chart,
    )
