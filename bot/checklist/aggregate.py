"""The team channel's view of a checklist round: aggregates only, above the minimum.

The team channel gets aggregates over all pupils of all teachers who took part,
and only once at least the team's minimum of teachers took part (below it only
the participation count); under ``EXACT_MINIMUM`` teachers only coarse bands, so
two colleagues who pool their own classes cannot work out a third's. The
aggregate is computed from unnamed score lists, so no label, name or per-teacher
figure can reach it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.results.anonymity import EXACT_MINIMUM, Tier, tier_for
from conversations.checklist.naming import round_name
from conversations.checklist.scale import high_options, is_complete
from conversations.core.i18n import Catalogue
from conversations.instrument import Checklist
from storage.checklist.records import ChecklistRound

COARSE_FLOOR = 3
"""Fewer participating teachers than this never get figures, whatever the team's minimum."""

MIDDLE_SHARE = 0.5
HIGH_SHARE = 0.75
"""Boundaries of the coarse bands of a share: below half, half to three quarters, more."""

TREND_POINTS = 0.10
"""A coarse change counts as "higher" or "lower" from ten percentage points on."""


class ShareBand(enum.StrEnum):
    """A coarse share: which of three wide bands the team's share of known parents is in."""

    LOW = "low"  # less than half of the pupils
    MIDDLE = "middle"  # half to three quarters
    HIGH = "high"  # three quarters or more


class Trend(enum.StrEnum):
    """A coarse change since round 1."""

    UP = "up"
    SAME = "same"
    DOWN = "down"


def band_of(share: float) -> ShareBand:
    """The coarse band of a share."""
    if share >= HIGH_SHARE:
        return ShareBand.HIGH
    if share >= MIDDLE_SHARE:
        return ShareBand.MIDDLE
    return ShareBand.LOW


def trend_of(change: float) -> Trend:
    """The coarse direction of a change in share (a fraction)."""
    if change >= TREND_POINTS:
        return Trend.UP
    if change <= -TREND_POINTS:
        return Trend.DOWN
    return Trend.SAME


def tier_of(*, took_part: int, min_respondents: int) -> Tier:
    """What the channel may see of a round with ``took_part`` teachers.

    Teachers are counted, not pupils: what two colleagues could pool is their own
    classes. Below the team's minimum (never below ``COARSE_FLOOR``) only the
    participation; up to ``EXACT_MINIMUM`` coarse bands without the number of
    pupils; from there exact shares, as for the quickscan (bot/anonymity.py).
    """
    return tier_for(respondents=took_part, minimum=max(min_respondents, COARSE_FLOOR))


@dataclass(frozen=True, slots=True)
class StatementFigure:
    """One statement over all counted pupils of the team.

    Attributes:
        number: 1-based, as shown.
        text: The statement.
        pupils: Pupils counted.
        high: Of those, pupils in the upper half of the scale.
        change: Share now minus share in round 1 (a fraction), when both are shown.
    """

    number: int
    text: str
    pupils: int
    high: int
    change: float | None = None

    @property
    def share(self) -> float:
        """The share of pupils in the upper half of the scale."""
        return self.high / self.pupils if self.pupils else 0.0

    @property
    def band(self) -> ShareBand:
        """The share as a coarse band (what a coarse post shows)."""
        return band_of(self.share)

    @property
    def trend(self) -> Trend | None:
        """The change as a coarse direction (what a coarse post shows)."""
        return None if self.change is None else trend_of(self.change)


@dataclass(frozen=True, slots=True)
class TeamAggregate:
    """The team channel's view of a round: counts, and figures only above the minimum.

    Attributes:
        teachers: Bound teachers.
        took_part: Teachers with at least one fully scored pupil.
        pupils: Fully scored pupils over all classes (0 unless exact figures are shown:
            with the colleagues' own class sizes it would give away the third's).
        min_respondents: The team's minimum of teachers.
        statements: Per statement figures; empty below the minimum.
        tier: What the channel may see (participation, coarse bands, exact shares).
        change_tier: How the change since round 1 may be shown: the lower of the
            two rounds' tiers, so an exact round never sharpens a coarse one.
    """

    teachers: int
    took_part: int
    pupils: int
    min_respondents: int
    statements: tuple[StatementFigure, ...]
    tier: Tier = Tier.NONE
    change_tier: Tier = Tier.NONE

    @property
    def shown(self) -> bool:
        """Whether enough teachers took part for figures."""
        return bool(self.statements)


_TIER_ORDER = (Tier.NONE, Tier.COARSE, Tier.EXACT)


def team_aggregate(
    *,
    checklist: Checklist,
    per_teacher: Sequence[Sequence[Mapping[str, str]]],
    teachers: int,
    min_respondents: int,
    previous: TeamAggregate | None = None,
) -> TeamAggregate:
    """Aggregate unnamed score lists; only pupils with all statements scored count.

    Counting only complete pupils keeps every statement's share over the same
    pupils, so the six figures can be compared with each other.

    Args:
        checklist: The instrument.
        per_teacher: Per teacher a list of per-pupil {statement id: code}.
        teachers: Bound teachers (the "van N").
        min_respondents: The team's minimum of participating teachers.
        previous: Round 1's aggregate, for the change (only when it was shown).
    """
    complete = [
        [pupil for pupil in pupils if is_complete(checklist, pupil)] for pupils in per_teacher
    ]
    took_part = sum(1 for pupils in complete if pupils)
    counted = [pupil for pupils in complete for pupil in pupils]
    tier = tier_of(took_part=took_part, min_respondents=min_respondents)
    if tier is Tier.NONE:
        return TeamAggregate(
            teachers=teachers,
            took_part=took_part,
            pupils=0,
            min_respondents=min_respondents,
            statements=(),
        )
    high = {option.code for option in high_options(checklist)}
    shown_before = previous is not None and previous.shown
    before = {figure.number: figure for figure in previous.statements} if previous else {}
    figures = []
    for number, statement in enumerate(checklist.statements, start=1):
        figure = StatementFigure(
            number=number,
            text=statement.text,
            pupils=len(counted),
            high=sum(1 for pupil in counted if pupil[statement.id] in high),
        )
        if shown_before and number in before and before[number].pupils:
            figure = replace(figure, change=figure.share - before[number].share)
        figures.append(figure)
    change_tier = Tier.NONE
    if shown_before and previous is not None:
        change_tier = min(tier, previous.tier, key=_TIER_ORDER.index)
    return TeamAggregate(
        teachers=teachers,
        took_part=took_part,
        pupils=len(counted) if tier is Tier.EXACT else 0,
        min_respondents=min_respondents,
        statements=tuple(figures),
        tier=tier,
        change_tier=change_tier,
    )


def render_team(
    *,
    aggregate: TeamAggregate,
    checklist: Checklist,
    round_: ChecklistRound,
    texts: Catalogue,
    first: ChecklistRound | None = None,
) -> str:
    """The team channel post: participation, then the shares (and change) per statement.

    With fewer than ``EXACT_MINIMUM`` teachers the shares are shown as three wide
    bands and the change as a direction, and the number of pupils is left out: two
    colleagues who pool their own classes cannot subtract them from the post to
    find the third's (docs/privacy.md, threat model).
    """
    title = texts.t("checklist.team_title", title=checklist.title, round=round_name(round_, texts))
    if aggregate.teachers == 0:  # "Deelname: 0 van 0 leraren" tells nobody anything
        return "\n".join([title, texts.t("checklist.team_nobody")])
    lines = [
        title,
        texts.t(
            "checklist.team_participation",
            took_part=aggregate.took_part,
            count=aggregate.teachers,
        ),
    ]
    if not aggregate.shown:
        minimum = max(aggregate.min_respondents, COARSE_FLOOR)
        lines.append(texts.t("checklist.team_too_few", minimum=minimum))
        return "\n".join(lines)
    high = high_options(checklist)
    exact = aggregate.tier is Tier.EXACT
    if exact:
        lines.append(texts.t("checklist.team_pupils", count=aggregate.pupils))
    lines += [
        "",
        texts.t(
            "checklist.team_share_intro",
            codes=texts.t("checklist.or").join(option.code for option in high),
            labels=texts.t("checklist.or").join(option.label for option in high),
        ),
    ]
    for figure in aggregate.statements:
        shown = (
            f"*{round(figure.share * 100)} %*"
            if exact
            else "*" + texts.t(f"checklist.band_{figure.band.value}") + "*"
        )
        line = f"{figure.number}. {figure.text}: {shown}"
        if figure.change is not None and first is not None:
            if aggregate.change_tier is Tier.EXACT:
                line += " " + texts.t(
                    "checklist.team_change",
                    points=_points(figure.change),
                    round=first.number,
                    count=abs(round(figure.change * 100)),
                )
            elif aggregate.change_tier is Tier.COARSE and figure.trend is not None:
                line += " " + texts.t(f"checklist.trend_{figure.trend.value}", round=first.number)
        lines.append(line)
    if not exact:
        lines += ["", texts.t("checklist.team_coarse", exact=EXACT_MINIMUM)]
    lines += ["", texts.t("checklist.team_footer")]
    return "\n".join(lines)


def _points(change: float) -> str:
    """A change in percentage points with its sign: "+12", "−3", "0"."""
    points = round(change * 100)
    if points > 0:
        return f"+{points}"
    if points < 0:
        return f"\u2212{-points}"
    return "0"
