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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.results.anonymity import (
    Tier,
    coarse_label,
    coarse_safe_scale,
    pinned_factors,
    scale_groups,
)
from bot.results.anonymity import tier_for as _tier_for
from bot.results.labels import DEFAULT_RULES, Label, LabelRules, classify

if TYPE_CHECKING:
    from conversations.instrument import Cluster, Factor, Question, Quickscan, ScaleOption

GRADE_PREFIX = "grade:"
OPEN_PREFIX = "open:"
_EMPTY_OPEN_ANSWERS: Mapping[str, tuple[str, ...]] = MappingProxyType({})
_EMPTY_MENTIONS: Mapping[int, int] = MappingProxyType({})
_EMPTY_LABELS: Mapping[int, Label] = MappingProxyType({})
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
    """A team's merged quickscan, with the anonymity tiers already applied.

    Attributes:
        instrument_id: The instrument the answers belong to.
        respondents: Number of submitted quickscans merged.
        invited: Number of staff invited, for the response rate.
        min_respondents: The team's minimum for any answer-derived output.
        tier: What the channel may see (bot/anonymity.py). Below ``EXACT`` no
            cluster, grade, count or open answer is carried at all, so no renderer
            can show exact figures of too small a group by mistake.
        clusters: Per cluster results in instrument order; empty unless exact.
        open_answers: Per open question id the answers, stripped, empty ones dropped,
            in an order unrelated to who answered when. Only exact results carry them,
            and only for questions that at least ``min_text_respondents`` people
            answered in writing, since texts identify people sooner than numbers do.
        rules: The label thresholds the labels were computed with.
        priority_mentions: Per factor number, how many respondents named it in their
            own priority answer; empty unless exact and enough people wrote one.
        coarse_labels: Per factor number its coarse label (coarse tier only).
        compared: The tier was lowered because the respondents differ from an earlier
            exact round's by fewer than the minimum (round-to-round comparison).
        labels_withheld: Even the coarse labels are withheld, because someone of an
            earlier exact round may have left (see docs/team-result.md).
    """

    instrument_id: str
    respondents: int
    invited: int
    min_respondents: int
    tier: Tier
    clusters: tuple[ClusterResult, ...]
    open_answers: Mapping[str, tuple[str, ...]]
    rules: LabelRules = DEFAULT_RULES
    priority_mentions: Mapping[int, int] = field(default_factory=lambda: _EMPTY_MENTIONS)
    coarse_labels: Mapping[int, Label] = field(default_factory=lambda: _EMPTY_LABELS)
    compared: bool = False
    labels_withheld: bool = False

    @property
    def itemised(self) -> bool:
        """Whether exact figures (per item, factor, cluster, grades) may be shown."""
        return self.tier is Tier.EXACT

    def factors(self) -> tuple[FactorResult, ...]:
        """All factor results in instrument order, across clusters."""
        return tuple(factor for cluster in self.clusters for factor in cluster.factors)

    def items(self) -> tuple[ItemResult, ...]:
        """All item results in instrument order, across factors."""
        return tuple(item for factor in self.factors() for item in factor.items)


@dataclass(frozen=True, slots=True, kw_only=True)
class Downgrade:
    """The round-to-round comparison's verdict for a round about to be merged.

    Attributes:
        withhold_labels: Show participation only, not even coarse labels.
    """

    withhold_labels: bool = False


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
    downgrade: Downgrade | None = None,
) -> TeamResult:
    """Merge the submitted answers of one team, in the tier its size allows.

    Unknown item ids and invalid values (a code outside the scale, a grade that is not
    an integer in the closing page's range) count as not answered instead of failing
    the report: stored answers may predate a change of the instrument.

    Args:
        instrument: The instrument the answers were given to.
        responses: One mapping item id -> value per submitted respondent.
        invited: Number of staff invited.
        min_respondents: The team's minimum for any answer-derived output.
        min_text_respondents: Minimum number of people who *wrote* an answer to an
            open question before its texts (or, for the priority question, the counts
            of factors named in it) are shown.
        rules: The team's label thresholds.
        downgrade: The comparison with earlier rounds asks for coarse output at most.

    Returns:
        The merged result; see :class:`TeamResult` for what the tiers leave out.
    """
    respondents = len(responses)
    tier = _tier_for(respondents=respondents, minimum=min_respondents)
    if downgrade is not None and tier is Tier.EXACT:
        tier = Tier.COARSE
    if downgrade is not None and downgrade.withhold_labels:
        tier = Tier.NONE
    base = TeamResult(
        instrument_id=instrument.id,
        respondents=respondents,
        invited=invited,
        min_respondents=min_respondents,
        tier=tier,
        clusters=(),
        open_answers=_EMPTY_OPEN_ANSWERS,
        rules=rules,
        compared=downgrade is not None,
        labels_withheld=downgrade is not None and downgrade.withhold_labels,
    )
    if tier is Tier.NONE:
        return base
    if tier is Tier.COARSE:
        return replace(
            base,
            coarse_labels=coarse_labels(instrument=instrument, responses=responses, rules=rules),
        )
    tally = _tally(responses)
    open_answers = _open_answers(instrument=instrument, tally=tally, respondents=respondents)
    writers = {question_id: len(texts) for question_id, texts in open_answers.items()}
    return replace(
        base,
        clusters=figures(
            instrument=instrument,
            item_counts=question_counts(instrument=instrument, tally=tally),
            grades=_grades(instrument=instrument, tally=tally),
            rules=rules,
        ),
        open_answers=MappingProxyType(
            {
                question_id: texts
                for question_id, texts in open_answers.items()
                if writers[question_id] >= min_text_respondents
            }
        ),
        priority_mentions=(
            _priority_mentions(instrument=instrument, tally=tally)
            if writers.get(PRIORITY_QUESTION_ID, 0) >= min_text_respondents
            else _EMPTY_MENTIONS
        ),
    )


def open_answers_of(
    *,
    result: TeamResult,
    instrument: Quickscan,
    responses: Sequence[Mapping[str, str]],
    questions: Collection[str],
) -> TeamResult:
    """``result`` with the texts of the open ``questions`` read from ``responses``.

    For the close post of a snapshot: the snapshot says which questions passed the
    writers' gate at close, but does not keep the texts themselves.
    """
    texts = _open_answers(
        instrument=instrument, tally=_tally(responses), respondents=len(responses)
    )
    return replace(
        result,
        open_answers=MappingProxyType({q: texts[q] for q in questions if q in texts}),
    )


def coarse_labels(
    *, instrument: Quickscan, responses: Sequence[Mapping[str, str]], rules: LabelRules
) -> Mapping[int, Label]:
    """One coarse label per success factor, none where a label could pin an answer.

    On a scale whose groups each hold two codes no label can pin anyone
    (bot/anonymity.py), and :func:`~bot.results.anonymity.pinned_factors` confirms it by brute
    force. A scale without that property gets no coarse labels at all: hiding only the
    labels that pin would tell the colluders which ones did.
    """
    options = instrument.scale.options
    groups = scale_groups(options)

    def label_of(counts: Mapping[str, int]) -> Label:
        return coarse_label(counts=counts, groups=groups, rules=rules)

    if not coarse_safe_scale(options):
        return _EMPTY_LABELS
    if pinned_factors(instrument=instrument, responses=responses, label_of=label_of):
        return _EMPTY_LABELS
    tally = _tally(responses)
    counts = question_counts(instrument=instrument, tally=tally)
    labels: dict[int, Label] = {}
    for factor in instrument.factors:
        pooled: Counter[str] = Counter()
        for question in instrument.questions_of(factor.number):
            pooled.update(counts[question.id])
        labels[factor.number] = label_of(pooled)
    return MappingProxyType(labels)


def figures(
    *,
    instrument: Quickscan,
    item_counts: Mapping[str, Mapping[str, int]],
    grades: Mapping[str, tuple[float | None, int]],
    rules: LabelRules,
) -> tuple[ClusterResult, ...]:
    """Every exact figure, from counts per question and the grades per cluster.

    Shared by :func:`merge` (counts from the answers) and the snapshot of a closed
    round (counts as frozen at close), so both render exactly alike.

    Args:
        instrument: The instrument.
        item_counts: Per question id, the number of answers per scale code.
        grades: Per cluster id, (mean grade or None, number of grades).
        rules: The label thresholds.
    """
    numbers = {question.id: number for number, question in enumerate(instrument.questions, 1)}
    return tuple(
        _cluster_result(
            instrument=instrument,
            cluster=cluster,
            item_counts=item_counts,
            grade=grades.get(cluster.id, (None, 0)),
            numbers=numbers,
            rules=rules,
        )
        for cluster in instrument.clusters
    )


def question_counts(*, instrument: Quickscan, tally: _Tally) -> dict[str, dict[str, int]]:
    """Per question id, how many gave each scale code (every code present)."""
    return {
        question.id: {
            option.code: tally.get((question.id, option.code), 0)
            for option in instrument.scale.options
        }
        for question in instrument.questions
    }


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
    counts: Mapping[str, int],
    rules: LabelRules,
) -> ItemResult:
    """The result of one question, from its counts per code."""
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
    item_counts: Mapping[str, Mapping[str, int]],
    numbers: Mapping[str, int],
    rules: LabelRules,
) -> FactorResult:
    """The result of one success factor: its items, and their answers pooled."""
    items = tuple(
        _item_result(
            question=question,
            number=numbers[question.id],
            options=instrument.scale.options,
            counts=item_counts.get(question.id, {}),
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


def _grades(*, instrument: Quickscan, tally: _Tally) -> dict[str, tuple[float | None, int]]:
    """Per cluster, the mean and number of the valid grades given to it.

    Only the integers of the closing page's range, stored exactly as the conversation
    stores them ("1".."10"), count; anything else ("0", "11", "7.5") is not a grade.
    """
    grades: dict[str, tuple[float | None, int]] = {}
    for cluster in instrument.clusters:
        item_id = grade_item_id(cluster_id=cluster.id)
        count = 0
        total = 0
        for grade in range(instrument.closing.grade_min, instrument.closing.grade_max + 1):
            given = tally.get((item_id, str(grade)), 0)
            count += given
            total += grade * given
        grades[cluster.id] = (total / count if count else None, count)
    return grades


def _cluster_result(
    *,
    instrument: Quickscan,
    cluster: Cluster,
    item_counts: Mapping[str, Mapping[str, int]],
    grade: tuple[float | None, int],
    numbers: Mapping[str, int],
    rules: LabelRules,
) -> ClusterResult:
    """The result of one cluster: its factors, their answers pooled, and its grade."""
    factors = tuple(
        _factor_result(
            instrument=instrument,
            factor=factor,
            item_counts=item_counts,
            numbers=numbers,
            rules=rules,
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
        grade=GradeResult(
            cluster_id=cluster.id, label=cluster.grade_label, mean=grade[0], count=grade[1]
        ),
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
