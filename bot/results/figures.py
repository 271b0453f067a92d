"""Every exact figure of a team result, from counts per question and grades per cluster.

Shared by the merge (counts from the answers) and the snapshot of a closed round
(counts as frozen at close), so both render exactly alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from bot.results.distribution import distribution, pool
from bot.results.labels import Label, LabelRules, legacy_label
from bot.results.team_result import ClusterResult, FactorResult, GradeResult, ItemResult
from conversations.instrument import grade_item_id

if TYPE_CHECKING:
    from conversations.instrument import Cluster, Factor, Question, Quickscan, ScaleOption

Tally = Counter[tuple[str, str]]
"""Every stored answer as (item id, value); the tally counts each distinct pair once."""


def figures(
    *,
    instrument: Quickscan,
    item_counts: Mapping[str, Mapping[str, int]],
    grades: Mapping[str, tuple[float | None, int]],
    rules: LabelRules,
    agreed_fair: bool = True,
) -> tuple[ClusterResult, ...]:
    """Every exact figure, from counts per question and the grades per cluster.

    Shared by :func:`merge` (counts from the answers) and the snapshot of a closed
    round (counts as frozen at close), so both render exactly alike.

    Args:
        instrument: The instrument.
        item_counts: Per question id, the number of answers per scale code.
        grades: Per cluster id, (mean grade or None, number of grades).
        rules: The label thresholds.
        agreed_fair: Whether the label "eens: redelijk" exists; False for a round
            that closed before it did, so its labels read as they did at close.
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
            agreed_fair=agreed_fair,
        )
        for cluster in instrument.clusters
    )


def question_counts(*, instrument: Quickscan, tally: Tally) -> dict[str, dict[str, int]]:
    """Per question id, how many gave each scale code (every code present)."""
    return {
        question.id: {
            option.code: tally.get((question.id, option.code), 0)
            for option in instrument.scale.options
        }
        for question in instrument.questions
    }


def tally_answers(responses: Iterable[Mapping[str, str]]) -> Tally:
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
    agreed_fair: bool,
) -> ItemResult:
    """The result of one question, from its counts per code."""
    answers = distribution(counts=counts, options=options)
    return ItemResult(
        question_id=question.id,
        number=number,
        text=question.text,
        factor=question.factor,
        distribution=answers,
        label=_label(answers.label(rules=rules), agreed_fair=agreed_fair),
    )


def _label(label: Label, *, agreed_fair: bool) -> Label:
    return label if agreed_fair else legacy_label(label)


def _factor_result(
    *,
    instrument: Quickscan,
    factor: Factor,
    item_counts: Mapping[str, Mapping[str, int]],
    numbers: Mapping[str, int],
    rules: LabelRules,
    agreed_fair: bool,
) -> FactorResult:
    """The result of one success factor: its items, and their answers pooled."""
    items = tuple(
        _item_result(
            question=question,
            number=numbers[question.id],
            options=instrument.scale.options,
            counts=item_counts.get(question.id, {}),
            rules=rules,
            agreed_fair=agreed_fair,
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
        label=_label(pooled.label(rules=rules), agreed_fair=agreed_fair),
        items=items,
    )


def cluster_grades(*, instrument: Quickscan, tally: Tally) -> dict[str, tuple[float | None, int]]:
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
    agreed_fair: bool,
) -> ClusterResult:
    """The result of one cluster: its factors, their answers pooled, and its grade."""
    factors = tuple(
        _factor_result(
            instrument=instrument,
            factor=factor,
            item_counts=item_counts,
            numbers=numbers,
            rules=rules,
            agreed_fair=agreed_fair,
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
