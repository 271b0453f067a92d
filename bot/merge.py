"""Merge the submitted quickscans of one team into one result: the only place merging lives.

Everything a report shows (per item, factor and cluster distributions, the cluster
grades and the open answers) is computed here once, as frozen values, so renderers
only format and never count. The anonymity thresholds are applied here too, by
leaving data out of the result rather than by asking renderers to hide it: what is
not in a :class:`TeamResult` cannot leak through any adapter.

The module is a set of small pure functions so that later additions (labels,
priorities, trends between rounds) can reuse the distributions without re-counting.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.labels import DEFAULT_RULES, Label, LabelRules, classify

if TYPE_CHECKING:
    from conversations.instrument import Cluster, Factor, Question, Quickscan, ScaleOption

GRADE_PREFIX = "grade:"
OPEN_PREFIX = "open:"
_EMPTY_OPEN_ANSWERS: Mapping[str, tuple[str, ...]] = MappingProxyType({})
_EMPTY_MENTIONS: Mapping[int, int] = MappingProxyType({})
PRIORITY_QUESTION_ID = "priority"

# One stored answer as (item id, value); the tally counts each distinct pair once.
_Tally = Counter[tuple[str, str]]


def grade_item_id(*, cluster_id: str) -> str:
    """The stored item id of a cluster's grade, so the conversation and merge agree on it."""
    return f"{GRADE_PREFIX}{cluster_id}"


def open_item_id(*, question_id: str) -> str:
    """The stored item id of an open answer, so the conversation and merge agree on it."""
    return f"{OPEN_PREFIX}{question_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """How the answers to one item (or a pool of items) spread over the scale.

    Attributes:
        counts: Number of answers per scale code; every code of the scale is present,
            in scale order, with 0 when nobody chose it, so renderers never special-case
            a missing bar.
        respondents: Number of answers counted, "?" included: the denominator of shares.
            For a pool of items this is the number of answers, not of people.
        scored: Number of answers with a score (everything but "?").
        mean: Mean score of the scored answers, unrounded (rounding is for renderers);
            None when nothing was scored.
        unknown_share: Share of answers without a score ("weet ik niet / geen zicht");
            0.0 when there are no answers.
        positive: Scored answers above the midpoint of the scale (``++`` and ``+``).
        negative: Scored answers below the midpoint (``-`` and ``--``).
        stdev: Population standard deviation of the scores: a positive mean with a
            large spread means "positive on average, but no agreement".
    """

    counts: Mapping[str, int]
    respondents: int
    scored: int
    mean: float | None
    unknown_share: float
    positive: int = 0
    negative: int = 0
    stdev: float | None = None

    @property
    def positive_share(self) -> float:
        """Share of the scored answers above the scale's midpoint (``++``/``+``)."""
        return self.positive / self.scored if self.scored else 0.0

    @property
    def negative_share(self) -> float:
        """Share of the scored answers below the scale's midpoint (``-``/``--``)."""
        return self.negative / self.scored if self.scored else 0.0

    def label(self, *, rules: LabelRules = DEFAULT_RULES) -> Label:
        """The reading of this distribution under ``rules`` (see bot/labels.py)."""
        return classify(
            respondents=self.respondents,
            unknown_share=self.unknown_share,
            positive_share=self.positive_share,
            negative_share=self.negative_share,
            mean=self.mean,
            rules=rules,
        )

    def share(self, code: str) -> float:
        """Share of the answers with ``code``; 0.0 when there are no answers.

        Raises:
            KeyError: ``code`` is not a code of the scale, which is a programming error.
        """
        count = self.counts[code]
        return count / self.respondents if self.respondents else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResult:
    """The merged answers to one question.

    Attributes:
        question_id: The question's id ("q01").
        number: 1-based position of the question in the instrument, as shown to staff.
        text: The question text.
        factor: Number of the success factor the question belongs to.
        distribution: The answers.
    """

    question_id: str
    number: int
    text: str
    factor: int
    distribution: Distribution
    label: Label


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorResult:
    """The merged answers to one success factor: all answers to its items pooled."""

    number: int
    short_name: str
    cluster_id: str
    distribution: Distribution
    label: Label
    items: tuple[ItemResult, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GradeResult:
    """The grades (1-10) given to one cluster on the closing page.

    Attributes:
        cluster_id: The graded cluster.
        label: The cluster's grade label, as asked.
        mean: Unrounded mean grade; None when nobody gave a grade.
        count: Number of valid grades given.
    """

    cluster_id: str
    label: str
    mean: float | None
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterResult:
    """The merged answers to one cluster: its factors pooled, plus its grade."""

    cluster_id: str
    name: str
    grade_label: str
    distribution: Distribution
    grade: GradeResult
    factors: tuple[FactorResult, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamResult:
    """A team's merged quickscan, with the anonymity thresholds already applied.

    Attributes:
        instrument_id: The instrument the answers belong to.
        respondents: Number of submitted quickscans merged.
        invited: Number of staff invited, for the response rate.
        min_respondents: The team's minimum for item-level results.
        itemised: Whether ``respondents >= min_respondents``. When False, ``clusters``
            is empty and no grades or open answers are carried at all, so no renderer
            can show results of too small a group by mistake.
        clusters: Per cluster results in instrument order; empty when not itemised.
        open_answers: Per open question id the answers, stripped, empty ones dropped,
            in an order unrelated to who answered when. Empty unless itemised and at
            least ``min_text_respondents`` answered, since texts identify people sooner
            than numbers do.
        rules: The label thresholds the labels were computed with.
        priority_mentions: Per factor number, how many respondents named it in their
            own priority answer (counts only; empty when not itemised).
    """

    instrument_id: str
    respondents: int
    invited: int
    min_respondents: int
    itemised: bool
    clusters: tuple[ClusterResult, ...]
    open_answers: Mapping[str, tuple[str, ...]]
    rules: LabelRules = DEFAULT_RULES
    priority_mentions: Mapping[int, int] = field(default_factory=lambda: _EMPTY_MENTIONS)

    def factors(self) -> tuple[FactorResult, ...]:
        """All factor results in instrument order, across clusters."""
        return tuple(factor for cluster in self.clusters for factor in cluster.factors)

    def items(self) -> tuple[ItemResult, ...]:
        """All item results in instrument order, across factors."""
        return tuple(item for factor in self.factors() for item in factor.items)


def distribution(*, counts: Mapping[str, int], options: Sequence[ScaleOption]) -> Distribution:
    """Build a distribution from counts per code; codes not in the scale are ignored.

    Args:
        counts: Number of answers per code; missing codes count as 0.
        options: The scale, in display order; an option without a score is "unknown".
    """
    ordered = {option.code: counts.get(option.code, 0) for option in options}
    respondents = sum(ordered.values())
    scores = [option.score for option in options if option.score is not None]
    midpoint = (min(scores) + max(scores)) / 2 if scores else 0.0
    scored = total = squares = positive = negative = 0
    for option in options:
        count = ordered[option.code]
        if option.score is None or not count:
            continue
        scored += count
        total += option.score * count
        squares += option.score * option.score * count
        if option.score > midpoint:
            positive += count
        elif option.score < midpoint:
            negative += count
    mean = total / scored if scored else None
    stdev = math.sqrt(max(squares / scored - mean * mean, 0.0)) if mean is not None else None
    return Distribution(
        counts=MappingProxyType(ordered),
        respondents=respondents,
        scored=scored,
        mean=mean,
        unknown_share=(respondents - scored) / respondents if respondents else 0.0,
        positive=positive,
        negative=negative,
        stdev=stdev,
    )


def pool(*, distributions: Iterable[Distribution], options: Sequence[ScaleOption]) -> Distribution:
    """Pool distributions (e.g. a factor's items) as if all their answers were one item.

    The pooled mean weighs every answer equally, so an item that fewer people could
    judge weighs less than one everybody answered.
    """
    counts: Counter[str] = Counter()
    for part in distributions:
        counts.update(part.counts)
    return distribution(counts=counts, options=options)


def merge(
    *,
    instrument: Quickscan,
    responses: Sequence[Mapping[str, str]],
    invited: int,
    min_respondents: int,
    min_text_respondents: int,
    rules: LabelRules = DEFAULT_RULES,
) -> TeamResult:
    """Merge the submitted answers of one team.

    Unknown item ids and invalid values (a code outside the scale, a grade that is not
    an integer in the closing page's range) count as not answered instead of failing
    the report: stored answers may predate a change of the instrument.

    Args:
        instrument: The instrument the answers were given to.
        responses: One mapping item id -> value per submitted respondent.
        invited: Number of staff invited.
        min_respondents: Minimum respondents for any item-level result or grade.
        min_text_respondents: Minimum respondents for showing open answers.
        rules: The team's label thresholds.

    Returns:
        The merged result; see :class:`TeamResult` for what the thresholds leave out.
    """
    respondents = len(responses)
    itemised = respondents >= min_respondents
    if not itemised:
        return TeamResult(
            instrument_id=instrument.id,
            respondents=respondents,
            invited=invited,
            min_respondents=min_respondents,
            itemised=False,
            clusters=(),
            open_answers=_EMPTY_OPEN_ANSWERS,
            rules=rules,
        )
    tally = _tally(responses)
    numbers = {question.id: number for number, question in enumerate(instrument.questions, 1)}
    clusters = tuple(
        _cluster_result(
            instrument=instrument, cluster=cluster, tally=tally, numbers=numbers, rules=rules
        )
        for cluster in instrument.clusters
    )
    open_answers = (
        _open_answers(instrument=instrument, tally=tally, respondents=respondents)
        if respondents >= min_text_respondents
        else _EMPTY_OPEN_ANSWERS
    )
    return TeamResult(
        instrument_id=instrument.id,
        respondents=respondents,
        invited=invited,
        min_respondents=min_respondents,
        itemised=True,
        clusters=clusters,
        open_answers=open_answers,
        rules=rules,
        priority_mentions=_priority_mentions(instrument=instrument, tally=tally),
    )


def _priority_mentions(*, instrument: Quickscan, tally: _Tally) -> Mapping[int, int]:
    """Per success factor, how many respondents name it in their own priority answer.

    A factor is named when the answer contains one of its keyword stems (instrument
    data). Only counts leave this function, never the texts, so the numbers can be
    shown even where the texts themselves are below the text threshold.
    """
    item_id = open_item_id(question_id=PRIORITY_QUESTION_ID)
    stems = [
        (factor.number, [k.lower() for k in factor.keywords]) for factor in instrument.factors
    ]
    mentions: Counter[int] = Counter()
    for (answered_item, value), count in tally.items():
        if answered_item != item_id or not isinstance(value, str):
            continue
        text = value.lower()
        for number, keywords in stems:
            if any(keyword in text for keyword in keywords):
                mentions[number] += count
    return MappingProxyType(dict(mentions))


def _tally(responses: Iterable[Mapping[str, str]]) -> _Tally:
    """Count every (item id, value) pair in one pass over all responses.

    Counting pairs with a C-level Counter keeps 10 000 x 48 answers well within a
    second; the per-item lookups afterwards touch only the few distinct pairs.
    """
    return Counter(chain.from_iterable(response.items() for response in responses))


def _item_result(
    *,
    question: Question,
    number: int,
    options: Sequence[ScaleOption],
    tally: _Tally,
    rules: LabelRules,
) -> ItemResult:
    """The result of one question, read from the tally."""
    counts = {option.code: tally.get((question.id, option.code), 0) for option in options}
    answers = distribution(counts=counts, options=options)
    return ItemResult(
        question_id=question.id,
        number=number,
        text=question.text,
        factor=question.factor,
        distribution=answers,
        label=answers.label(rules=rules),
    )


def _factor_result(
    *,
    instrument: Quickscan,
    factor: Factor,
    tally: _Tally,
    numbers: Mapping[str, int],
    rules: LabelRules,
) -> FactorResult:
    """The result of one success factor: its items, and their answers pooled."""
    items = tuple(
        _item_result(
            question=question,
            number=numbers[question.id],
            options=instrument.scale.options,
            tally=tally,
            rules=rules,
        )
        for question in instrument.questions_of(factor.number)
    )
    pooled = pool(
        distributions=(item.distribution for item in items), options=instrument.scale.options
    )
    return FactorResult(
        number=factor.number,
        short_name=factor.short_name,
        cluster_id=factor.cluster,
        distribution=pooled,
        label=pooled.label(rules=rules),
        items=items,
    )


def _grade_result(*, instrument: Quickscan, cluster: Cluster, tally: _Tally) -> GradeResult:
    """The valid grades given to one cluster.

    Only the integers of the closing page's range, stored exactly as the conversation
    stores them ("1".."10"), count; anything else ("0", "11", "7.5") is not a grade.
    """
    item_id = grade_item_id(cluster_id=cluster.id)
    count = 0
    total = 0
    for grade in range(instrument.closing.grade_min, instrument.closing.grade_max + 1):
        given = tally.get((item_id, str(grade)), 0)
        count += given
        total += grade * given
    return GradeResult(
        cluster_id=cluster.id,
        label=cluster.grade_label,
        mean=total / count if count else None,
        count=count,
    )


def _cluster_result(
    *,
    instrument: Quickscan,
    cluster: Cluster,
    tally: _Tally,
    numbers: Mapping[str, int],
    rules: LabelRules,
) -> ClusterResult:
    """The result of one cluster: its factors, their answers pooled, and its grade."""
    factors = tuple(
        _factor_result(
            instrument=instrument, factor=factor, tally=tally, numbers=numbers, rules=rules
        )
        for factor in instrument.factors_of(cluster.id)
    )
    return ClusterResult(
        cluster_id=cluster.id,
        name=cluster.name,
        grade_label=cluster.grade_label,
        distribution=pool(
            distributions=(factor.distribution for factor in factors),
            options=instrument.scale.options,
        ),
        grade=_grade_result(instrument=instrument, cluster=cluster, tally=tally),
        factors=factors,
    )


def _open_answers(
    *, instrument: Quickscan, tally: _Tally, respondents: int
) -> Mapping[str, tuple[str, ...]]:
    """The open answers per question, in an order that says nothing about who wrote what.

    The texts are sorted first, so the result depends only on which texts were given,
    not on the order they were stored in; the shuffle then avoids an alphabetical list.
    The seed is deterministic so a report renders the same way every time it is shown.
    """
    by_item = {open_item_id(question_id=q.id): q.id for q in instrument.closing.open_questions}
    texts: dict[str, list[str]] = {question_id: [] for question_id in by_item.values()}
    for (item_id, value), count in tally.items():
        question_id = by_item.get(item_id)
        if question_id is None or not isinstance(value, str):
            continue
        text = value.strip()
        if text:
            texts[question_id].extend([text] * count)
    shuffled: dict[str, tuple[str, ...]] = {}
    for question_id, answers in texts.items():
        answers.sort()
        seed = f"{instrument.id}:{respondents}:{question_id}"
        rng = random.Random(seed)  # noqa: S311 - reproducible order, not a secret

        rng.shuffle(answers)
        shuffled[question_id] = tuple(answers)
    return MappingProxyType(shuffled)
