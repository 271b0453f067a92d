"""Merge the submitted quickscans of one team into one result: the only place merging lives.

Everything a report shows (per item, factor and cluster distributions, the cluster
grades and the open answers) is computed here once, as frozen values, so renderers
only format and never count. The anonymity thresholds are applied here too, by
leaving data out of the result rather than by asking renderers to hide it: what is
not in a :class:`TeamResult` cannot leak through any adapter.

The merge decides the tier and what each tier carries; the values themselves are
in ``bot.results.team_result`` and ``bot.results.distribution``, and the exact
figures are counted in ``bot.results.figures``, which the snapshot of a closed
round shares. All are small pure functions, so later additions (labels,
priorities, trends between rounds) reuse the distributions without re-counting.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
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
from bot.results.figures import Tally, cluster_grades, figures, question_counts, tally_answers
from bot.results.labels import DEFAULT_RULES, Label, LabelRules
from bot.results.team_result import (
    EMPTY_LABELS,
    EMPTY_MENTIONS,
    EMPTY_OPEN_ANSWERS,
    Downgrade,
    TeamResult,
)
from conversations.instrument import open_item_id

if TYPE_CHECKING:
    from conversations.instrument import Quickscan

PRIORITY_QUESTION_ID = "priority"


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
        open_answers=EMPTY_OPEN_ANSWERS,
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
    tally = tally_answers(responses)
    open_answers = _open_answers(instrument=instrument, tally=tally, respondents=respondents)
    writers = {question_id: len(texts) for question_id, texts in open_answers.items()}
    return replace(
        base,
        clusters=figures(
            instrument=instrument,
            item_counts=question_counts(instrument=instrument, tally=tally),
            grades=cluster_grades(instrument=instrument, tally=tally),
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
            else EMPTY_MENTIONS
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
        instrument=instrument, tally=tally_answers(responses), respondents=len(responses)
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
        return EMPTY_LABELS
    if pinned_factors(instrument=instrument, responses=responses, label_of=label_of):
        return EMPTY_LABELS
    tally = tally_answers(responses)
    counts = question_counts(instrument=instrument, tally=tally)
    labels: dict[int, Label] = {}
    for factor in instrument.factors:
        pooled: Counter[str] = Counter()
        for question in instrument.questions_of(factor.number):
            pooled.update(counts[question.id])
        labels[factor.number] = label_of(pooled)
    return MappingProxyType(labels)


def _priority_mentions(*, instrument: Quickscan, tally: Tally) -> Mapping[int, int]:
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


def _open_answers(
    *, instrument: Quickscan, tally: Tally, respondents: int
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
