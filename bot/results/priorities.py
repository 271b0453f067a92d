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

A coordinator has to be able to say *why* a factor is on the list, so a factor
is a priority only when at least one :class:`ReasonKind` that qualifies holds
for it, and every priority carries those reasons with the numbers that make them
true. A factor that is labelled "werkpunt", "verdeeld", "gemengd" or "eens:
redelijk" but has no such reason (e.g. a stricter team threshold labelled it
"werkpunt" at 15 % negative) is not suggested: a priority nobody can explain is
worse than none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.results.distribution import Distribution
from bot.results.labels import DEFAULT_RULES, Label
from bot.results.team_result import FactorResult, ItemResult, TeamResult
from conversations.instrument import Factor, Quickscan

MAX_PRIORITIES = 3
CLUSTER_WEIGHT = 0.05
MENTION_WEIGHT = 0.10
MIN_NEED = 0.20
MEAN_DIGITS = 1
"""Decimals of a mean in the reason sentences (bot/results/text.py)."""
_QUALIFYING = frozenset({Label.WERKPUNT, Label.VERDEELD, Label.GEMENGD, Label.EENS_REDELIJK})


class ReasonKind(enum.StrEnum):
    """Why a factor is a priority; each kind is one sentence in the catalogue.

    The conditions (documented in docs/team-result.md, "Suggested priorities"):

    * ``mostly_negative``: more than half of the factor's answers are ``-``/``--``.
    * ``divided``: the factor is labelled "verdeeld" and both its positive and its
      negative share are at least the default threshold (25 %), whatever the team's.
    * ``negative``: neither of those, but at least ``MIN_NEED`` of the scored
      answers are ``-``/``--``.
    * ``agreed_fair``: the factor is labelled "eens: redelijk": the team agrees it
      is fair, so there is room to improve.
    * ``precondition``: the factor belongs to an aspect that is a condition for a
      later one (not the last cluster) and its mean is at most the middle (``+/-``).
    * ``low_mean``: not ``precondition``, but the mean as shown (one decimal) is
      below the middle.
    * ``mentioned``: colleagues named the factor as their own priority. It supports
      the other reasons; on its own it does not make a priority.
    """

    MOSTLY_NEGATIVE = "mostly_negative"
    DIVIDED = "divided"
    NEGATIVE = "negative"
    AGREED_FAIR = "agreed_fair"
    PRECONDITION = "precondition"
    LOW_MEAN = "low_mean"
    MENTIONED = "mentioned"


SUPPORTING = frozenset({ReasonKind.MENTIONED})
"""Reason kinds that are shown but do not make a factor a priority on their own."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One reason with the numbers that make it true (which ones depends on ``kind``).

    Attributes:
        kind: Which reason.
        count: The answers it counts (negative for ``mostly_negative``, ``divided``
            and ``negative``; ``+/-`` for ``agreed_fair``) or the colleagues who
            named the factor (``mentioned``).
        total: All answers to the factor's questions, "?" included.
        scored: The answers with a score ("?" left out): the base of the shares the
            labels and ``MIN_NEED`` use.
        positive: The positive answers (``divided``, ``agreed_fair``).
        mean: The factor's mean (``precondition``, ``low_mean``).
        aspect: The grade label of the factor's cluster (``precondition``).
        later: The grade labels of the clusters after it (``precondition``).
    """

    kind: ReasonKind
    count: int = 0
    total: int = 0
    scored: int = 0
    positive: int = 0
    mean: float | None = None
    aspect: str = ""
    later: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Priority:
    """One suggested priority with the figures that justify it.

    Attributes:
        factor: The success factor (its number, names and suggested tool/first step).
        result: The factor's merged answers.
        score: The ranking score (see the module docstring).
        reasons: Why this factor, strongest first; at least one qualifies.
        evidence: The factor's item with the most negative answers.
        mentions: Respondents who named this factor in their own priority answer.
    """

    factor: Factor
    result: FactorResult
    score: float
    reasons: tuple[Reason, ...]
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

    Without exact figures (bot/results/anonymity.py) nothing item-level exists, so
    nothing is suggested either.
    """
    follow_up = tuple(question.text for question in instrument.closing.open_questions)
    if not result.itemised:
        return Suggestions(priorities=(), discuss=(), investigate=(), follow_up=follow_up)
    candidates = []
    for factor_result in result.factors():
        if factor_result.label not in _QUALIFYING:
            continue
        mentions = result.priority_mentions.get(factor_result.number, 0)
        why = reasons(instrument=instrument, factor=factor_result, mentions=mentions)
        if any(reason.kind not in SUPPORTING for reason in why):
            candidates.append(_priority(instrument, result, factor_result, why, mentions))
    candidates.sort(key=lambda priority: (-round(priority.score, 9), priority.factor.number))
    items = result.items()
    return Suggestions(
        priorities=tuple(candidates[:MAX_PRIORITIES]),
        discuss=tuple(item for item in items if item.label is Label.VERDEELD),
        investigate=tuple(item for item in items if item.label is Label.WEINIG_ZICHT),
        follow_up=follow_up,
    )


def reasons(*, instrument: Quickscan, factor: FactorResult, mentions: int) -> tuple[Reason, ...]:
    """Every reason kind that is true of ``factor``, strongest first (may be empty)."""
    answers = factor.distribution
    total = answers.respondents
    found: list[Reason] = []
    if answers.negative * 2 > total:
        found.append(Reason(kind=ReasonKind.MOSTLY_NEGATIVE, count=answers.negative, total=total))
    if factor.label is Label.VERDEELD and _really_divided(answers):
        found.append(
            Reason(
                kind=ReasonKind.DIVIDED,
                count=answers.negative,
                total=total,
                positive=answers.positive,
            )
        )
    if not found and answers.scored and answers.negative_share >= MIN_NEED:
        found.append(
            Reason(
                kind=ReasonKind.NEGATIVE,
                count=answers.negative,
                total=total,
                scored=answers.scored,
            )
        )
    if factor.label is Label.EENS_REDELIJK:
        found.append(
            Reason(
                kind=ReasonKind.AGREED_FAIR,
                count=answers.middle,
                total=total,
                positive=answers.positive,
            )
        )
    found += _mean_reasons(instrument=instrument, factor=factor)
    if mentions:
        found.append(Reason(kind=ReasonKind.MENTIONED, count=mentions))
    return tuple(found)


def _really_divided(answers: Distribution) -> bool:
    """Both sides hold at least the default share of "verdeeld" (25 %).

    A team may lower its ``verdeeld`` threshold to see more items to discuss, but "1
    positief en 1 negatief van 20" is no division a priority can rest on.
    """
    minimum = DEFAULT_RULES.verdeeld
    return answers.positive_share >= minimum and answers.negative_share >= minimum


def _mean_reasons(*, instrument: Quickscan, factor: FactorResult) -> list[Reason]:
    """``precondition`` or ``low_mean``: the mean against the middle of the scale."""
    mean = factor.distribution.mean
    if mean is None:
        return []
    midpoint = scale_midpoint(instrument)
    order = [cluster.id for cluster in instrument.clusters]
    position = order.index(factor.cluster_id)
    if position < len(order) - 1 and mean <= midpoint:
        clusters = instrument.clusters
        return [
            Reason(
                kind=ReasonKind.PRECONDITION,
                mean=mean,
                aspect=clusters[position].grade_label,
                later=tuple(cluster.grade_label for cluster in clusters[position + 1 :]),
            )
        ]
    if shown_mean(mean) < midpoint:
        return [Reason(kind=ReasonKind.LOW_MEAN, mean=mean)]
    return []


def shown_mean(mean: float) -> float:
    """The mean as the reason sentence shows it (one decimal), so "lager dan" is decided on
    what the reader sees: 2.96 reads "3,0", which is not lower than the middle."""
    return float(f"{mean:.{MEAN_DIGITS}f}")


def scale_midpoint(instrument: Quickscan) -> float:
    """The middle of the scored part of the scale (3 for ``++`` = 5 … ``--`` = 1)."""
    scores = [option.score for option in instrument.scale.options if option.score is not None]
    return (min(scores) + max(scores)) / 2 if scores else 0.0


def _priority(
    instrument: Quickscan,
    result: TeamResult,
    factor_result: FactorResult,
    why: tuple[Reason, ...],
    mentions: int,
) -> Priority:
    cluster_order = [cluster.id for cluster in instrument.clusters]
    later_clusters = len(cluster_order) - 1 - cluster_order.index(factor_result.cluster_id)
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
        reasons=why,
        evidence=evidence,
        mentions=mentions,
    )
