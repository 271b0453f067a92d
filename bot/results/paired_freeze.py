"""A paired survey's round at close: what its snapshot keeps, tier by tier.

The anonymity tiers are the quickscan's (bot/results/anonymity.py): below the team's
minimum only participation; from the minimum up to 4 respondents one coarse label per
section and list, computed from the positive and negative *groups* of the scale only,
so no label pins anyone's answer to one number; exact figures from 5. What a tier may
not show is never put in the frozen snapshot (:func:`freeze`), so no renderer can
show it: ``bot.results.paired`` reads the result from the snapshot alone.

This is the only code of a paired survey that sees the answers themselves, so it is
kept apart from the reading and rendering of the result, which only see the counts
or labels frozen here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.results.anonymity import (
    Group,
    LabelOf,
    Tier,
    coarse_label,
    pins_someone,
    pooled,
    scale_groups,
)
from bot.results.labels import Label, LabelRules

if TYPE_CHECKING:
    from bot.results.snapshot import RoundSnapshot
    from conversations.instrument import Quickscan


def group_key(*, list_id: str, section_id: str) -> str:
    """The key of a coarse label: one list (experience or importance) in one section."""
    return f"{list_id}:{section_id}"


def freeze(
    *,
    snapshot: RoundSnapshot,
    instrument: Quickscan,
    responses: Sequence[Mapping[str, str]],
    previous: RoundSnapshot | None,
    rules: LabelRules,
) -> RoundSnapshot:
    """The snapshot of a paired survey's round: only what its tier may show.

    Exact: counts per item, and the previous exact round's counts for the trend
    (only when this round is exact too; the comparison at close decided that).
    Coarse: the labels per list and section. Below the minimum: nothing more.
    """
    if snapshot.tier is Tier.EXACT:
        before = (
            dict(previous.item_counts)
            if previous is not None and previous.tier is Tier.EXACT
            else {}
        )
        return replace(
            snapshot,
            item_counts=item_counts(instrument=instrument, responses=responses),
            before_counts=before,
        )
    if snapshot.tier is Tier.COARSE:
        labels = group_labels(instrument=instrument, responses=responses, rules=rules)
        return replace(snapshot, group_labels=labels)
    return snapshot


def item_counts(
    *, instrument: Quickscan, responses: Sequence[Mapping[str, str]]
) -> dict[str, dict[str, int]]:
    """Per item id, how many gave each code of the item's scale (every code present).

    A value that is no code of the item's scale (an answer stored before the file
    changed) counts as not answered, as in the quickscan's merge.
    """
    survey = instrument.paired_or_raise()
    tally = Counter(pair for response in responses for pair in response.items())
    return {
        item.id: {
            option.code: tally.get((item.id, option.code), 0)
            for option in survey.scale_of(item, default=instrument.scale).options
        }
        for item in survey.items()
    }


def group_labels(
    *, instrument: Quickscan, responses: Sequence[Mapping[str, str]], rules: LabelRules
) -> dict[str, Label]:
    """One coarse label per list and section, or none at all if any could pin an answer.

    A label counts the section's answers of one list pooled, in the scale's groups
    (1-2 below the midpoint, 3-4 above), with the quickscan's coarse rules. Every
    group holds two codes, so even someone who knows every other answer can never
    tell which of the two a colleague chose; the brute-force check of
    ``bot.results.anonymity`` confirms it for the data at hand, and if it ever
    failed, all labels are withheld (hiding only the revealing ones would reveal).
    """
    survey = instrument.paired_or_raise()
    labels: dict[str, Label] = {}
    for survey_list in (survey.experience, survey.importance):
        for section in survey.sections:
            items = [item for item in survey_list.items if item.section == section.id]
            if not items:
                continue
            options = survey.scale_of(items[0], default=instrument.scale).options
            label_of = _coarse_rule(groups=scale_groups(options), rules=rules)
            codes = [option.code for option in options]
            per_person = [
                Counter(response[i.id] for i in items if response.get(i.id) in codes)
                for response in responses
            ]
            if pins_someone(per_person=per_person, codes=codes, label_of=label_of):
                return {}
            key = group_key(list_id=survey_list.id, section_id=section.id)
            labels[key] = label_of(pooled(per_person))
    return labels


def group_codes(instrument: Quickscan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The codes a coarse label counts as high and as low, lowest first (("3", "4"), ("1", "2"))

    Read from the scales, as :func:`group_labels` groups them, so a text that names the
    groups is true for any scale.
    """
    survey = instrument.paired_or_raise()
    found: dict[Group, list[tuple[int, str]]] = {Group.POSITIVE: [], Group.NEGATIVE: []}
    for scale in survey.scales_used(default=instrument.scale):
        groups = scale_groups(scale.options)
        for option in scale.options:
            group = groups[option.code]
            if group in found:
                found[group].append((option.score or 0, option.code))
    positive, negative = (
        tuple(dict.fromkeys(code for _, code in sorted(found[group])))
        for group in (Group.POSITIVE, Group.NEGATIVE)
    )
    return positive, negative


def _coarse_rule(*, groups: Mapping[str, Group], rules: LabelRules) -> LabelOf:
    """The coarse label of pooled answers on one scale, under the team's thresholds."""

    def label_of(counts: Mapping[str, int]) -> Label:
        return coarse_label(counts=counts, groups=groups, rules=rules)

    return label_of
