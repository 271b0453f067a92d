"""What a checklist round shows: the team aggregate, the private comparison, the class export.

Two audiences, two rules:

* The team channel gets aggregates over all pupils of all teachers who took part,
  and only once at least the team's minimum of teachers took part (below it only
  the participation count); under ``EXACT_MINIMUM`` teachers only coarse bands, so
  two colleagues who pool their own classes cannot work out a third's. The
  aggregate is computed from unnamed score lists, so no label, name or
  per-teacher figure can reach it.
* The teacher's own DM gets their own class, by pupil label: round 1 against
  round 2 per statement, who improved and who still needs attention, and the
  .xlsx list the seed recommends. Nothing of it is logged.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment

from bot.results.anonymity import EXACT_MINIMUM, Tier, tier_for
from bot.results.export import _Column, _save, _set, _write_table
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import Checklist, ScaleOption
from storage.checklist.records import ChecklistRound, ClassRound, Pupil, Teacher
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.records import Team

_LOG = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# What XML 1.0 cannot contain: C0 controls except tab and line breaks, surrogates,
# and the two non-characters at the end of the Basic Multilingual Plane.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ABOUT_WIDTH = 100


# ------------------------------------------------------------------ scale helpers


def high_options(checklist: Checklist) -> tuple[ScaleOption, ...]:
    """The upper half of the scale ("3 redelijk", "4 goed"): what counts as known well."""
    scored = sorted(checklist.scale.scored(), key=lambda option: option.score or 0)
    return tuple(scored[len(scored) - len(scored) // 2 :])


def low_options(checklist: Checklist) -> tuple[ScaleOption, ...]:
    """The lower half of the scale ("1 niet", "2 nauwelijks"): a reason for attention."""
    scored = sorted(checklist.scale.scored(), key=lambda option: option.score or 0)
    return tuple(scored[: len(scored) // 2])


def score_of(checklist: Checklist, code: str | None) -> int | None:
    """The numeric score of a stored code, None for missing or unknown codes."""
    if code is None:
        return None
    try:
        return checklist.scale.by_code(code).score
    except KeyError:
        return None


def is_complete(checklist: Checklist, scores: Mapping[str, str] | None) -> bool:
    """Whether every statement of the checklist has a score."""
    return scores is not None and all(s.id in scores for s in checklist.statements)


def round_name(round_: ChecklistRound, texts: Catalogue) -> str:
    """ "ronde 1 (2026/27)"."""
    return texts.t(
        "checklist.round_name", number=round_.number, year=school_year_text(round_.school_year)
    )


def school_year_text(year: int) -> str:
    """2026 -> "2026/27"."""
    return f"{year}/{(year + 1) % 100:02d}"


# ------------------------------------------------------------------ team aggregate

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
    lines = [
        texts.t("checklist.team_title", title=checklist.title, round=round_name(round_, texts)),
        texts.t(
            "checklist.team_participation",
            took_part=aggregate.took_part,
            teachers=aggregate.teachers,
        ),
    ]
    if not aggregate.shown:
        minimum = max(aggregate.min_respondents, COARSE_FLOOR)
        lines.append(texts.t("checklist.team_too_few", minimum=minimum))
        return "\n".join(lines)
    high = high_options(checklist)
    exact = aggregate.tier is Tier.EXACT
    if exact:
        lines.append(texts.t("checklist.team_pupils", pupils=aggregate.pupils))
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
                    "checklist.team_change", points=_points(figure.change), round=first.number
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


# ------------------------------------------------------------ private comparison


@dataclass(frozen=True, slots=True)
class PupilChange:
    """One pupil's scores in round 1 and round 2 (None = not scored).

    ``step`` is the verbeterstap noted in round 1: the comparison is where the
    teacher checks whether it worked.
    """

    position: int
    before: tuple[int | None, ...]
    after: tuple[int | None, ...]
    label: str = field(repr=False)
    step: str | None = field(default=None, repr=False)

    @property
    def before_total(self) -> int | None:
        """Sum over the statements, when all were scored in round 1."""
        return None if None in self.before else sum(s for s in self.before if s is not None)

    @property
    def after_total(self) -> int | None:
        """Sum over the statements, when all were scored in round 2."""
        return None if None in self.after else sum(s for s in self.after if s is not None)

    @property
    def difference(self) -> int | None:
        """Round 2 total minus round 1 total, when both rounds are complete."""
        if self.before_total is None or self.after_total is None:
            return None
        return self.after_total - self.before_total


@dataclass(frozen=True, slots=True)
class ClassComparison:
    """A teacher's class after round 2.

    Attributes:
        pupils: Every pupil, in class order.
        improved: Pupils whose total went up.
        attention: Pupils scored in round 2 with any statement in the lower half of
            the scale, lowest total first.
    """

    pupils: tuple[PupilChange, ...]
    improved: tuple[PupilChange, ...]
    attention: tuple[PupilChange, ...]


def compare_class(
    *,
    checklist: Checklist,
    pupils: Sequence[Pupil],
    first: ClassRound | None,
    second: ClassRound,
) -> ClassComparison:
    """Round 1 against round 2 for each pupil of one class."""
    low = {option.score for option in low_options(checklist)}

    def scores(round_: ClassRound | None, pupil: Pupil) -> tuple[int | None, ...]:
        given = round_.scores.get(pupil.id, {}) if round_ is not None else {}
        return tuple(score_of(checklist, given.get(s.id)) for s in checklist.statements)

    changes = tuple(
        PupilChange(
            position=pupil.position,
            before=scores(first, pupil),
            after=scores(second, pupil),
            label=pupil.label,
            step=first.steps.get(pupil.id) if first is not None else None,
        )
        for pupil in pupils
    )
    improved = tuple(c for c in changes if (c.difference or 0) > 0)
    attention = tuple(
        sorted(
            (c for c in changes if c.after_total is not None and low & set(c.after)),
            key=lambda c: (c.after_total or 0, c.position),
        )
    )
    return ClassComparison(pupils=changes, improved=improved, attention=attention)


def render_comparison(
    *, comparison: ClassComparison, checklist: Checklist, round_: ChecklistRound, texts: Catalogue
) -> tuple[str, str]:
    """The private summary (improved, attention) and the per-pupil table as details."""
    lines = [
        texts.t(
            "checklist.compare_title",
            title=checklist.title,
            year=school_year_text(round_.school_year),
        ),
        texts.t("checklist.compare_private"),
        "",
    ]
    if comparison.improved:
        names = ", ".join(f"{c.label} ({_signed(c.difference or 0)})" for c in comparison.improved)
        lines.append(
            texts.t("checklist.compare_improved", count=len(comparison.improved), names=names)
        )
    else:
        lines.append(texts.t("checklist.compare_none_improved"))
    low = texts.t("checklist.or").join(option.code for option in low_options(checklist))
    if comparison.attention:
        names = ", ".join(f"{c.label} ({c.after_total})" for c in comparison.attention)
        lines.append(texts.t("checklist.compare_attention", codes=low, names=names))
    else:
        lines.append(texts.t("checklist.compare_no_attention", codes=low))
    lines += ["", texts.t("checklist.compare_next")]
    details = [texts.t("checklist.compare_table", count=len(checklist.statements))]
    for change in comparison.pupils:
        before = _row(change.before)
        after = _row(change.after)
        difference = change.difference
        tail = f" ({_signed(difference)})" if difference is not None else ""
        line = f"• {change.label}: {before} → {after}{tail}"
        if change.step:
            line += " · " + texts.t("checklist.compare_step", step=change.step)
        details.append(line)
    return "\n".join(lines), "\n".join(details)


def _row(scores: Sequence[int | None]) -> str:
    return " ".join("–" if score is None else str(score) for score in scores)


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"\u2212{-value}")


# ------------------------------------------------------------------- class export


def export_class_workbook(
    *,
    checklist: Checklist,
    pupils: Sequence[Pupil],
    rounds: Sequence[ClassRound],
    path: Path,
    texts: Catalogue,
    generated_at: datetime,
) -> Path:
    """Write one teacher's class list: one row per pupil, a column per statement and round.

    The layout follows the Excel list the seed recommends: pupils down, statements
    across, for round 1 and round 2 next to each other, each round followed by its
    verbeterstap column, so the teacher can see per child whether the scores went
    up. Scores are numbers (to sort and filter on); labels and steps are forced to
    text, so a label typed as "=..." never becomes a formula. The file is
    byte-for-byte deterministic for the same data and ``generated_at``.

    Args:
        checklist: The instrument (statement texts go on the about sheet).
        pupils: The class, in class order.
        rounds: The team's rounds with this teacher's scores, oldest first.
        path: Where to write; parents are created, an existing file is replaced.
        texts: Catalogue for headers.
        generated_at: The injected clock's now; must be timezone-aware.

    Raises:
        ValueError: ``generated_at`` is naive.
    """
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        msg = "generated_at must be timezone-aware"
        raise ValueError(msg)
    stamp = generated_at.astimezone(UTC).replace(tzinfo=None)
    workbook = Workbook()
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.title = checklist.title
    workbook.properties.creator = None

    columns = [
        _Column(texts.t("checklist.export_number")),
        _Column(texts.t("checklist.export_pupil")),
    ]
    for class_round in rounds:
        short = _short_round(class_round.round)
        columns += [
            _Column(f"{short} · {number}") for number in range(1, len(checklist.statements) + 1)
        ]
        columns.append(_Column(f"{short} · {texts.t('checklist.export_step')}", wrap=True))
    rows = []
    for index, pupil in enumerate(pupils, start=1):
        row: list[str | int | float | None] = [index, xml_text(pupil.label)]
        for class_round in rounds:
            given = class_round.scores.get(pupil.id, {})
            row += [score_of(checklist, given.get(s.id)) for s in checklist.statements]
            step = class_round.steps.get(pupil.id)
            row.append(None if step is None else xml_text(step))
        rows.append(row)
    sheet = workbook.active
    sheet.title = texts.t("checklist.export_sheet")[:31]
    _write_table(sheet, columns=columns, rows=rows)

    about = workbook.create_sheet(texts.t("checklist.export_about")[:31])
    lines = [
        texts.t("checklist.export_about_text", title=checklist.title),
        texts.t("checklist.export_private"),
        "",
        *(
            f"{number}. {statement.text}"
            for number, statement in enumerate(checklist.statements, start=1)
        ),
        "",
        " · ".join(f"{option.code} = {option.label}" for option in checklist.scale.options),
        *(
            f"{_short_round(class_round.round)} = {round_name(class_round.round, texts)}"
            for class_round in rounds
        ),
        "",
        checklist.source,
    ]
    for row_index, line in enumerate(lines, start=1):
        _set(about.cell(row=row_index, column=1), line).alignment = Alignment(wrap_text=True)
    about.cell(row=len(lines) + 2, column=1, value=stamp).number_format = "yyyy-mm-dd hh:mm"
    about.column_dimensions["A"].width = _ABOUT_WIDTH
    _save(workbook, path=path, stamp=stamp)
    return path


def xml_text(value: str) -> str:
    """``value`` without the characters an .xlsx file cannot hold.

    XML 1.0 forbids most control characters, lone surrogates and U+FFFE/U+FFFF;
    openpyxl refuses such a cell and the export would then fail for good. Stored
    data may hold them (typed before input was screened, or restored from a
    backup), so the export drops them instead of failing.
    """
    return _XML_ILLEGAL.sub("", value)


def _short_round(round_: ChecklistRound) -> str:
    """A compact column prefix: "R1 26/27"."""
    year = round_.school_year % 100
    return f"R{round_.number} {year:02d}/{(year + 1) % 100:02d}"


# ------------------------------------------------------------------ the service


def minimum_of(round_: ChecklistRound, *, team: Team) -> int:
    """The minimum a round's team figures are shown under.

    A closed round keeps the minimum of the moment it closed, so lowering the
    minimum later (for round 2, say) never reveals round 1's figures that were
    hidden then. A round closed before that was recorded gets the stricter of the
    current minimum and ``EXACT_MINIMUM``; an open round follows the team.
    """
    if round_.is_open:
        return team.min_respondents
    if round_.min_respondents is not None:
        return round_.min_respondents
    return max(team.min_respondents, EXACT_MINIMUM)


class ChecklistResults:
    """Loads what a round shows from the store and turns it into messages."""

    def __init__(
        self, *, checklists: ChecklistStore, checklist: Checklist, output_dir: Path
    ) -> None:
        self._checklists = checklists
        self._checklist = checklist
        self._output_dir = output_dir

    def aggregate(self, *, team: Team, round_: ChecklistRound) -> TeamAggregate:
        """The team aggregate of a round, with the change since round 1 after round 2."""
        first = self.first_round_of(team=team.key, round_=round_)
        previous = self._aggregate(team, first, None) if first is not None else None
        return self._aggregate(team, round_, previous if previous and previous.shown else None)

    def _aggregate(
        self, team: Team, round_: ChecklistRound, previous: TeamAggregate | None
    ) -> TeamAggregate:
        return team_aggregate(
            checklist=self._checklist,
            per_teacher=self._checklists.team_scores(key=team.key, round_id=round_.id),
            teachers=len(self._checklists.teachers(key=team.key)),
            min_respondents=minimum_of(round_, team=team),
            previous=previous,
        )

    def first_round_of(self, *, team: TeamKey, round_: ChecklistRound) -> ChecklistRound | None:
        """Round 1 of the same school year, for a round 2."""
        if round_.number != 2:
            return None
        return next(
            (
                other
                for other in self._checklists.rounds(key=team)
                if other.school_year == round_.school_year and other.number == 1
            ),
            None,
        )

    def team_message(self, *, team: Team, round_: ChecklistRound) -> Outbound:
        """The aggregate post for the team channel: never a label, never one teacher."""
        texts = Catalogue(team.locale)
        aggregate = self.aggregate(team=team, round_=round_)
        first = self.first_round_of(team=team.key, round_=round_)
        _LOG.info(
            "checklist: team %d round %d aggregate (%d of %d teachers, shown=%s)",
            team.id,
            round_.id,
            aggregate.took_part,
            aggregate.teachers,
            aggregate.shown,
        )
        return Outbound(
            destination=Destination.team_channel(team=team.key.team),
            text=render_team(
                aggregate=aggregate,
                checklist=self._checklist,
                round_=round_,
                texts=texts,
                first=first,
            ),
        )

    def comparison_messages(self, *, team: Team, round_: ChecklistRound) -> list[Outbound]:
        """After round 2: each teacher with a class privately gets their own comparison."""
        texts = Catalogue(team.locale)
        first = self.first_round_of(team=team.key, round_=round_)
        messages = []
        for teacher in self._checklists.teachers(key=team.key):
            pupils = self._checklists.pupils(teacher_id=teacher.id)
            if not pupils:
                continue
            second = self._checklists.class_round(teacher_id=teacher.id, round_=round_)
            earlier = (
                self._checklists.class_round(teacher_id=teacher.id, round_=first)
                if first is not None
                else None
            )
            if not second.scores and (earlier is None or not earlier.scores):
                continue  # took part in neither round: nothing to compare
            comparison = compare_class(
                checklist=self._checklist, pupils=pupils, first=earlier, second=second
            )
            text, details = render_comparison(
                comparison=comparison, checklist=self._checklist, round_=round_, texts=texts
            )
            if first is None:
                text += "\n" + texts.t("checklist.compare_no_first")
            messages.append(
                Outbound(
                    destination=Destination.dm(team=team.key.team, user=teacher.key.user),
                    text=text,
                    details=details,
                )
            )
        _LOG.info("checklist: round %d comparison sent to %d teachers", round_.id, len(messages))
        return messages

    def export_message(self, *, teacher: Teacher, texts: Catalogue, now: datetime) -> Outbound:
        """The teacher's class list as .xlsx, to their own DM."""
        pupils = self._checklists.pupils(teacher_id=teacher.id)
        rounds = [
            self._checklists.class_round(teacher_id=teacher.id, round_=round_)
            for round_ in self._checklists.rounds_of_team(team_id=teacher.team_id)
        ]
        path = export_class_workbook(
            checklist=self._checklist,
            pupils=pupils,
            rounds=rounds,
            path=self.export_path(teacher=teacher),
            texts=texts,
            generated_at=now,
        )
        _LOG.info("checklist: teacher %d exported %d pupils", teacher.id, len(pupils))
        return Outbound(
            destination=Destination.dm(team=teacher.key.team, user=teacher.key.user),
            text=texts.t("checklist.export_sent", pupils=len(pupils), rounds=len(rounds)),
            file=path,
        )

    def export_path(self, *, teacher: Teacher) -> Path:
        """Where a teacher's export goes: named by row id, never by person or pupil."""
        key = teacher.key
        folder = "-".join(
            _UNSAFE.sub("_", part) for part in (key.platform, key.workspace, key.team)
        )
        return self._output_dir / folder / f"checklist-klas-{teacher.id}.xlsx"
