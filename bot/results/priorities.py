"""Suggested priorities: where the team should start, and why, in plain numbers.

The ranking follows the quickscan's own logic (seed 001): a positive attitude and
a basic organisation are conditions for a reciprocal relation, and that relation
is the basis for alignment about learning. So among comparable needs the CONTACT
factors (1-3) come before SAMENWERKING (4-7) before TOEKOMSTPERSPECTIEF (8-10).
What respondents themselves named as priority on the closing page weighs in too.

The score of a factor, documented in docs/team-result.md::

    need    = share of negative answers (- and --) among its scored answers
    score   = need + CLUSTER_WEIGHT × (clusters after this one)
                   + MENTION_WEIGHT × (share of respondents naming it as priority)

A factor qualifies when it is labelled "werkpunt", "verdeeld" or "gemengd" and
at least MIN_NEED of its scored answers are negative, or its mean is at or below
the scale's midpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.results.labels import Label
from bot.results.team_result import FactorResult, ItemResult, TeamResult
from conversations.instrument import Factor, Quickscan

MAX_PRIORITIES = 3
CLUSTER_WEIGHT = 0.05
MENTION_WEIGHT = 0.10
MIN_NEED = 0.20
_QUALIFYING = frozenset({Label.WERKPUNT, Label.VERDEELD, Label.GEMENGD})


@dataclass(frozen=True, slots=True, kw_only=True)
class Priority:
    """One suggested priority with the figures that justify it.

    Attributes:
        factor: The success factor (its number, names and suggested tool/first step).
        result: The factor's merged answers.
        score: The ranking score (see the module docstring).
        evidence: The factor's item with the most negative answers: the reason.
        mentions: Respondents who named this factor in their own priority answer.
    """

    factor: Factor
    result: FactorResult
    score: float
    evidence: ItemResult
    mentions: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestions:
    """What the team result suggests to discuss at the team meeting.

    Attributes:
        priorities: At most three factors, most urgent first.
        discuss: Items where opinions are divided ("bespreek in het team").
        investigate: Items where many lack insight ("zoek uit").
        follow_up: The closing page's questions, for the team meeting.
    """

    priorities: tuple[Priority, ...]
    discuss: tuple[ItemResult, ...]
    investigate: tuple[ItemResult, ...]
    follow_up: tuple[str, ...]


def suggest(*, instrument: Quickscan, result: TeamResult) -> Suggestions:
    """The priorities and discussion lists of an itemised team result.

    Without exact figures (bot/anonymity.py) nothing item-level exists, so nothing
    is suggested either.
    """
    follow_up = tuple(question.text for question in instrument.closing.open_questions)
    if not result.itemised:
        return Suggestions(priorities=(), discuss=(), investigate=(), follow_up=follow_up)
    cluster_order = [cluster.id for cluster in instrument.clusters]
    candidates = [
        _priority(instrument, result, factor_result, cluster_order)
        for factor_result in result.factors()
        if _qualifies(factor_result, instrument)
    ]
    candidates.sort(key=lambda priority: (-round(priority.score, 9), priority.factor.number))
    items = result.items()
    return Suggestions(
        priorities=tuple(candidates[:MAX_PRIORITIES]),
        discuss=tuple(item for item in items if item.label is Label.VERDEELD),
        investigate=tuple(item for item in items if item.label is Label.WEINIG_ZICHT),
        follow_up=follow_up,
    )


def _qualifies(factor: FactorResult, instrument: Quickscan) -> bool:
    if factor.label not in _QUALIFYING:
        return False
    answers = factor.distribution
    scores = [option.score for option in instrument.scale.options if option.score is not None]
    midpoint = (min(scores) + max(scores)) / 2
    low_mean = answers.mean is not None and answers.mean <= midpoint
    return answers.negative_share >= MIN_NEED or low_mean


def _priority(
    instrument: Quickscan,
    result: TeamResult,
    factor_result: FactorResult,
    cluster_order: list[str],
) -> Priority:
    later_clusters = len(cluster_order) - 1 - cluster_order.index(factor_result.cluster_id)
    mentions = result.priority_mentions.get(factor_result.number, 0)
    mention_share = mentions / result.respondents if result.respondents else 0.0
    score = (
        factor_result.distribution.negative_share
        + CLUSTER_WEIGHT * later_clusters
        + MENTION_WEIGHT * mention_share
    )
    evidence = max(
        factor_result.items,
        key=lambda item: (item.distribution.negative, -item.number),
    )
    return Priority(
        factor=instrument.factor(factor_result.number),
        result=factor_result,
        score=score,
        evidence=evidence,
        mentions=mentions,
    )
