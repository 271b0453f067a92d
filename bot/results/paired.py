"""The result of a paired survey: per statement experience, importance and the gap between.

A closed round of a paired survey (seed 003's mentor survey) is shown from its
frozen snapshot alone: :func:`paired_result` merges each item's counts into its
list's three categories and pairs experience with importance per statement, or
passes on the coarse labels, or nothing, as the round's tier allows. The snapshot
holds no more than that tier (``bot.results.paired_freeze`` decides at close), so
whatever renders a :class:`PairedResult` (text, chart, export) cannot show a figure
of too small a group. How the pairs are read (important, good, the gap, which gaps
are suggested priorities) is the rule of ``bot.results.paired_gap``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.results.anonymity import Tier
from bot.results.labels import Label
from bot.results.paired_freeze import group_codes, group_key
from bot.results.paired_gap import (
    Shares,
    gap_of,
    good_share,
    important_share,
    suggested_priorities,
)

if TYPE_CHECKING:
    from bot.results.snapshot import RoundSnapshot
    from conversations.instrument import PairedSurvey, Quickscan, SurveyList


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementResult:
    """One statement: experience and importance side by side, and the gap.

    Attributes:
        number: The statement's place in the result (its experience item's number).
        name: The statement's short name.
        section: The name of the section it is asked in (of its experience item).
        experience_text: The statement as the experience list asks it.
        importance_text: The statement as the importance list asks it.
        experience: The experience answers in three categories.
        importance: The importance answers in three categories.
        before_gap: The gap in the team's previous round of the same instrument, when
            that round had exact figures and a comparison was allowed at close.
    """

    number: int
    name: str
    section: str
    experience_text: str
    importance_text: str
    experience: Shares
    importance: Shares
    before_gap: float | None = None

    @property
    def important(self) -> float:
        """Share of importance answers "redelijk tot zeer belangrijk" (top two)."""
        return important_share(self.importance)

    @property
    def good(self) -> float:
        """Share of experience answers in the top category ("goed")."""
        return good_share(self.experience)

    @property
    def gap(self) -> float | None:
        """Important minus good; None when either list has no answer."""
        return gap_of(experience=self.experience, importance=self.importance)

    @property
    def gap_change(self) -> float | None:
        """How the gap moved since the previous round (negative = it closed)."""
        gap = self.gap
        return None if gap is None or self.before_gap is None else gap - self.before_gap


@dataclass(frozen=True, slots=True, kw_only=True)
class CoarseLine:
    """One section at the coarse tier: a label per list, None where none may be shown."""

    section: str
    experience: Label | None
    importance: Label | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PairedResult:
    """A closed round of a paired survey, as its snapshot allows it to be shown.

    Attributes:
        instrument_id: The survey.
        title: The survey's title.
        respondents: Submitted surveys.
        invited: Members invited.
        min_respondents: The team's minimum at close.
        tier: What may be shown (bot/results/anonymity.py).
        compared: Lowered to coarse by the comparison with an earlier exact round.
        labels_withheld: Participation only, because of that comparison.
        categories: The category labels of experience and of importance, high first.
        statements: Per statement its figures (exact tier only).
        coarse: Per section the coarse labels (coarse tier only).
        coarse_codes: The answer codes the coarse labels count as high and as low
            (from the scales), so their texts name the true numbers.
    """

    instrument_id: str
    title: str
    respondents: int
    invited: int
    min_respondents: int
    tier: Tier
    compared: bool
    labels_withheld: bool
    categories: tuple[tuple[str, str, str], tuple[str, str, str]]
    statements: tuple[StatementResult, ...] = ()
    coarse: tuple[CoarseLine, ...] = ()
    coarse_codes: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    @property
    def itemised(self) -> bool:
        """Whether exact figures (shares, gaps, chart, export) may be shown."""
        return self.tier is Tier.EXACT

    @property
    def has_trend(self) -> bool:
        """Whether the previous round's gaps are known (exact, comparison allowed)."""
        return any(statement.before_gap is not None for statement in self.statements)

    def priorities(self) -> tuple[StatementResult, ...]:
        """The suggested priorities, by the rule of ``bot.results.paired_gap``."""
        return suggested_priorities(self.statements)


def paired_result(*, instrument: Quickscan, snapshot: RoundSnapshot) -> PairedResult:
    """The result a closed round shows, read from its frozen snapshot only."""
    survey = instrument.paired_or_raise()
    categories = (_labels(survey.experience), _labels(survey.importance))
    base = PairedResult(
        instrument_id=instrument.id,
        title=instrument.title,
        respondents=snapshot.respondents,
        invited=snapshot.invited,
        min_respondents=snapshot.min_respondents,
        tier=snapshot.tier,
        compared=snapshot.compared,
        labels_withheld=snapshot.labels_withheld,
        categories=categories,
    )
    if snapshot.tier is Tier.COARSE:
        return replace(
            base,
            coarse=_coarse_lines(survey, snapshot.group_labels),
            coarse_codes=group_codes(instrument),
        )
    if snapshot.tier is not Tier.EXACT:
        return base
    statements = []
    for pair in survey.pairs:
        experience = survey.item(pair.experience)
        importance = survey.item(pair.importance)
        now = _pair_shares(
            instrument=instrument, counts=snapshot.item_counts, pair=(experience.id, importance.id)
        )
        if now is None:
            continue
        then = _pair_shares(
            instrument=instrument,
            counts=snapshot.before_counts,
            pair=(experience.id, importance.id),
        )
        statements.append(
            StatementResult(
                number=experience.number,
                name=pair.name,
                section=survey.section(experience.section).name,
                experience_text=experience.text,
                importance_text=importance.text,
                experience=now[0],
                importance=now[1],
                before_gap=None
                if then is None
                else gap_of(experience=then[0], importance=then[1]),
            )
        )
    return replace(base, statements=tuple(statements))


def _pair_shares(
    *, instrument: Quickscan, counts: Mapping[str, Mapping[str, int]], pair: tuple[str, str]
) -> tuple[Shares, Shares] | None:
    """A statement's experience and importance shares; None if the counts lack either."""
    survey = instrument.paired_or_raise()
    experience, importance = pair
    if experience not in counts or importance not in counts:
        return None
    return (
        _shares(
            instrument=instrument,
            survey=survey,
            survey_list=survey.experience,
            item_id=experience,
            counts=counts[experience],
        ),
        _shares(
            instrument=instrument,
            survey=survey,
            survey_list=survey.importance,
            item_id=importance,
            counts=counts[importance],
        ),
    )


def _shares(
    *,
    instrument: Quickscan,
    survey: PairedSurvey,
    survey_list: SurveyList,
    item_id: str,
    counts: Mapping[str, int],
) -> Shares:
    """An item's counts per code merged into its list's three categories."""
    scale = survey.scale_of(survey.item(item_id), default=instrument.scale)
    by_score = {option.score: counts.get(option.code, 0) for option in scale.options}
    merged = [
        sum(by_score.get(score, 0) for score in category.scores)
        for category in survey_list.categories.ordered()
    ]
    return Shares(high=merged[0], middle=merged[1], low=merged[2])


def _coarse_lines(survey: PairedSurvey, labels: Mapping[str, Label]) -> tuple[CoarseLine, ...]:
    """Per section its frozen labels; an empty tuple when the labels were withheld."""
    if not labels:
        return ()
    return tuple(
        CoarseLine(
            section=section.name,
            experience=labels.get(group_key(list_id=survey.experience.id, section_id=section.id)),
            importance=labels.get(group_key(list_id=survey.importance.id, section_id=section.id)),
        )
        for section in survey.sections
    )


def _labels(survey_list: SurveyList) -> tuple[str, str, str]:
    high, middle, low = survey_list.categories.ordered()
    return (high.label, middle.label, low.label)
