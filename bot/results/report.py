"""The neutral team report: what every adapter renders, natively or as text.

It bundles the merged result with what the team should do with it, so the
console, Slack and Telegram all show the same priorities and lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.results.priorities import Suggestions, suggest
from bot.results.team_result import TeamResult
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

    The chart is no part of it: the post carries it as an attachment, drawn from
    the snapshot when the post is delivered (bot/results/files.py).
    """

    instrument: Quickscan
    result: TeamResult
    suggestions: Suggestions
    trend: tuple[FactorChange, ...]


def build_report(
    *,
    instrument: Quickscan,
    result: TeamResult,
    trend: tuple[FactorChange, ...] = (),
) -> TeamReport:
    """Derive the suggestions from a merged result.

    ``trend`` is the change since the previous round as frozen in the round's
    snapshot (bot/results/snapshot.py), never recomputed: a later settings change must not
    alter what a closed round showed.
    """
    return TeamReport(
        instrument=instrument,
        result=result,
        suggestions=suggest(instrument=instrument, result=result),
        trend=trend,
    )
