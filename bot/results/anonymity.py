"""Anonymity tiers of the team result: who may learn what, from which output.

The threat is a curious coordinator plus one colleague who pool what they know
(their own answers) and everything the channel shows, to derive a third person's
answers. Three tiers, chosen per round at close and frozen in its snapshot
(bot/snapshot.py, docs/team-result.md "Threat model"):

* fewer respondents than the team's minimum: participation only;
* the minimum up to ``EXACT_MINIMUM - 1``: one *coarse* label per success factor;
* ``EXACT_MINIMUM`` or more: exact figures (counts, means, spreads, grades).

Why coarse labels are safe at 3 respondents. A factor's coarse label depends only
on how many of the factor's pooled answers fall in each *group* of the scale:
positive (``++``, ``+``), negative (``-``, ``--``) and "no judgement" (``+/-``,
``?``). Swapping one answer for the other code of its group changes nothing the
channel shows, and the label says nothing about which item got which answer.
So even someone who knows every other answer can never pin a person's answer to
one code: at least two codes stay possible for every question. This holds by
construction, for any data, which matters: hiding a label only when the data make
it revealing would itself reveal the data (a hidden label tells the colluders
"this label would have pinned someone"). :func:`pinned_factors` checks the
property per factor by brute force anyway, as the guard the docs promise and the
tests use.

Why exact figures need 5. With exact counts per answer, colluders subtract their
own answers; what remains is the others' answers per question as a multiset. At 3
respondents that is the third person's answers exactly. At 5 it is the multiset of
three people, which pins one person only where all three answered alike. Five is
also the default minimum the source (Lusse 2013) suggests for a team result, and
the usual small-cell threshold in school statistics.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.results.labels import Label, LabelRules
from storage.results.store import fingerprint

if TYPE_CHECKING:
    from conversations.instrument import Quickscan, ScaleOption

EXACT_MINIMUM = 5
"""Respondents needed for exact figures, whatever the team's minimum (see module doc)."""

FINGERPRINT_SALT_BYTES = 16
# A group needs a second code to swap to, or its label can pin an answer.
_CODES_PER_GROUP = 2


class Tier(enum.StrEnum):
    """How much of a closed round the channel may see."""

    NONE = "none"  # participation only
    COARSE = "coarse"  # one coarse label per success factor
    EXACT = "exact"  # every figure


class Group(enum.StrEnum):
    """The three groups of scale codes the coarse labels count."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    OTHER = "other"  # the neutral middle and "no judgement" (?)


def tier_for(*, respondents: int, minimum: int) -> Tier:
    """The tier of a round with ``respondents`` under the team's ``minimum``."""
    if respondents < minimum:
        return Tier.NONE
    if respondents < EXACT_MINIMUM:
        return Tier.COARSE
    return Tier.EXACT


def scale_groups(options: Sequence[ScaleOption]) -> dict[str, Group]:
    """Each code's group: above, below or at the scale's midpoint (unscored counts as at)."""
    scores = [option.score for option in options if option.score is not None]
    midpoint = (min(scores) + max(scores)) / 2 if scores else 0.0
    groups: dict[str, Group] = {}
    for option in options:
        if option.score is None or option.score == midpoint:
            groups[option.code] = Group.OTHER
        elif option.score > midpoint:
            groups[option.code] = Group.POSITIVE
        else:
            groups[option.code] = Group.NEGATIVE
    return groups


def coarse_safe_scale(options: Sequence[ScaleOption]) -> bool:
    """Whether every group holds at least two codes (or none), so no label can pin a code.

    A scale without that property (e.g. three options) gets no coarse labels at all.
    """
    sizes: dict[Group, int] = {}
    for group in scale_groups(options).values():
        sizes[group] = sizes.get(group, 0) + 1
    return all(size >= _CODES_PER_GROUP for size in sizes.values())


def coarse_label(
    *, counts: Mapping[str, int], groups: Mapping[str, Group], rules: LabelRules
) -> Label:
    """The coarse label of pooled answers: shares of *all* answers per group.

    The order and thresholds are those of the exact labels (bot/labels.py), minus the
    two that need exact codes: "weinig zicht" (the share of ``?``) and the mean. What
    is neither "verdeeld", "gaat goed" nor "werkpunt" reads "gemengd". Only when
    nothing was answered at all is it "weinig zicht": that pins nobody, since nobody
    gave an answer to pin.
    """
    totals = dict.fromkeys(Group, 0)
    for code, count in counts.items():
        group = groups.get(code)
        if group is not None:
            totals[group] += count
    answered = sum(totals.values())
    if not answered:
        return Label.WEINIG_ZICHT
    positive = totals[Group.POSITIVE] / answered
    negative = totals[Group.NEGATIVE] / answered
    if positive >= rules.verdeeld and negative >= rules.verdeeld:
        return Label.VERDEELD
    if positive >= rules.gaat_goed and negative <= rules.gaat_goed_max_negatief:
        return Label.GAAT_GOED
    if negative >= rules.werkpunt:
        return Label.WERKPUNT
    return Label.GEMENGD


LabelOf = Callable[[Mapping[str, int]], Label]


def multisets(codes: Sequence[str], size: int) -> Iterator[dict[str, int]]:
    """Every multiset of ``size`` answers over ``codes`` (C(size + n - 1, n - 1) of them)."""
    if len(codes) <= 1:
        if codes:
            yield {codes[0]: size} if size else {}
        elif size == 0:
            yield {}
        return
    first, rest = codes[0], codes[1:]
    for count in range(size + 1):
        for tail in multisets(rest, size - count):
            yield {first: count, **tail} if count else tail


def others_plus(others: Mapping[str, int], extra: Mapping[str, int]) -> dict[str, int]:
    """Two pooled answer counts added."""
    total = dict(others)
    for code, count in extra.items():
        total[code] = total.get(code, 0) + count
    return total


def possible_codes(
    *, others: Mapping[str, int], size: int, codes: Sequence[str], label_of: LabelOf, shown: Label
) -> set[str]:
    """The codes a target may have given to an item, seen through the label ``shown``.

    The attacker knows every other answer (``others``, pooled over the factor) and
    the label; the target gave ``size`` answers to the factor. Since the label only
    sees the pooled answers, any consistent multiset can be spread over the items in
    any order, so an item's answer can be any code of any consistent multiset. Stops
    as soon as two codes are possible: one is what "pinned" means.
    """
    found: set[str] = set()
    for candidate in multisets(codes, size):
        if label_of(others_plus(others, candidate)) is not shown:
            continue
        found.update(code for code, count in candidate.items() if count)
        if len(found) > 1:
            break
    return found


def pinned_codes(
    *,
    others: Mapping[str, int],
    target: Mapping[str, int],
    codes: Sequence[str],
    label_of: LabelOf,
) -> str | None:
    """The one code the label pins every one of the target's answers to, or None.

    ``target`` is the target's real pooled answers to the factor; the label shown is
    that of ``others + target``. Returns the code when every multiset the attacker
    finds consistent is the same uniform one, i.e. the answer to every item is known.
    """
    found = possible_codes(
        others=others,
        size=sum(target.values()),
        codes=codes,
        label_of=label_of,
        shown=label_of(others_plus(others, target)),
    )
    return next(iter(found)) if len(found) == 1 else None


def pinned_factors(
    *,
    instrument: Quickscan,
    responses: Sequence[Mapping[str, str]],
    label_of: LabelOf,
) -> set[int]:
    """The factors whose label pins some respondent's answers (the worst case: all
    other answers known). Empty for coarse labels on a scale that passes
    :func:`coarse_safe_scale`; the guard and the tests' proof of that."""
    codes = [option.code for option in instrument.scale.options]
    valid = set(codes)
    pinned: set[int] = set()
    for factor in instrument.factors:
        items = [question.id for question in instrument.questions_of(factor.number)]
        per_person = [
            _count(response.get(item) for item in items if response.get(item) in valid)
            for response in responses
        ]
        if pins_someone(per_person=per_person, codes=codes, label_of=label_of):
            pinned.add(factor.number)
    return pinned


def pooled(per_person: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """Everybody's answers to one group of items counted together."""
    total: dict[str, int] = {}
    for person in per_person:
        total = others_plus(total, person)
    return total


def pins_someone(
    *, per_person: Sequence[Mapping[str, int]], codes: Sequence[str], label_of: LabelOf
) -> bool:
    """Whether the label of the pooled answers pins some person's answers to one code.

    ``per_person`` holds each respondent's answers to one group of items (a factor, a
    list's section); the worst case is assumed: the attacker knows every other answer.
    """
    everybody = pooled(per_person)
    for person in per_person:
        others = {code: everybody.get(code, 0) - person.get(code, 0) for code in everybody}
        if pinned_codes(others=others, target=person, codes=codes, label_of=label_of):
            return True
    return False


def _count(values: Collection[str | None] | Iterator[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return counts


# ------------------------------------------------------------------ comparison


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprints:
    """Who responded in a closed round, as keyed hashes (never the ids themselves).

    Attributes:
        salt: Random per snapshot, so fingerprints of two rounds cannot be matched
            without the member ids: comparing is done by hashing the *new* round's
            members with the old round's salt.
        hashes: HMAC-SHA256(salt, member identity) per respondent, sorted.
        forgotten: How many fingerprints "vergeet mij" removed since; comparisons
            then treat the difference as uncertain by that many.
    """

    salt: str
    hashes: frozenset[str]
    forgotten: int = 0


def fingerprints_of(members: Collection[str], *, salt: str | None = None) -> Fingerprints:
    """Fingerprints of a round's respondents under a fresh (or given) salt."""
    chosen = salt if salt is not None else secrets.token_hex(FINGERPRINT_SALT_BYTES)
    return Fingerprints(
        salt=chosen, hashes=frozenset(fingerprint(salt=chosen, member=m) for m in members)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """How a new round's respondents may differ from an earlier round's.

    Attributes:
        low: Smallest possible size of the symmetric difference.
        high: Largest possible size (forgotten members widen the range).
        leavers: Whether someone of the earlier round may be missing now.
    """

    low: int
    high: int
    leavers: bool

    def exposes(self, *, minimum: int) -> bool:
        """Whether the difference may be 1 .. minimum - 1 people: small enough to expose."""
        return self.low <= minimum - 1 and self.high >= 1


def comparison_minimum(minimum: int) -> int:
    """How many people two exact rounds must at least differ by to be shown side by side.

    The difference of two exact results is itself an exact result of the people who
    joined or left (if the others answered alike). So it needs what any exact result
    needs, ``EXACT_MINIMUM``, even in a team whose minimum is lower: with a minimum
    of 3, three joiners of whom two collude would otherwise expose the third.
    """
    return max(minimum, EXACT_MINIMUM)


def difference(*, earlier: Fingerprints, members: Collection[str]) -> Difference:
    """Compare the new round's members (plain identities) with an earlier round's."""
    now = {fingerprint(salt=earlier.salt, member=member) for member in members}
    known = len(now ^ earlier.hashes)
    missing = len(earlier.hashes - now)
    return Difference(
        low=max(known - earlier.forgotten, 0),
        high=known + earlier.forgotten,
        leavers=bool(missing or earlier.forgotten),
    )


def participation_only_note(
    *, labels_withheld: bool, respondents: int, min_respondents: int, too_few: str
) -> tuple[str, dict[str, int]]:
    """Why a result shows only participation: the catalogue key and its values.

    Either too few people answered (``too_few``, the instrument's own text, told
    the minimum as ``count``), or enough did but the group differs too little from
    an earlier round's, so figures would single out the people who joined or left.
    Every instrument's post says it the same way.
    """
    if labels_withheld and respondents >= min_respondents:
        return "anonymity.withheld", {"minimum": comparison_minimum(min_respondents)}
    return too_few, {"count": min_respondents}
