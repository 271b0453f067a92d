"""Plans a team's pings from the school calendar: no one has to set a date.

Pure: the plan depends only on the calendar, the team's settings, its open
quickscan round and ``now``, so planning again gives the same ids and the
outbox (storage/schedule_store.py) changes nothing. Every ping is at 08:00
Europe/Amsterdam on a school day of the team's region: never in a weekend, a
school holiday or on a public holiday.

Checklist oudercontact (seed 004; defaults a coordinator can change later):

- round 1 opens three weeks before the herfstvakantie; its deadline is the last
  school day before it; the team result is posted on the first school day after it;
- one week before the kerstvakantie: an announcement that round 2 follows;
- round 2 opens on the first school day after the kerstvakantie; its deadline is
  three weeks later; the comparison goes out on the first school day after it;
- both rounds: reminders to teachers who have not finished one week and two
  school days before the round's deadline (one rule, :func:`checklist_reminder_days`),
  also for a round a coordinator opened with a deadline, closed the school day after.

Quickscan rounds with a deadline: reminders three school days and one school day
before it, and auto-close with the team result on the first school day after it.

The rules are stated once, in :class:`PlanSettings` and the functions that compute
a round's days (:func:`checklist_round_days`, :func:`quickscan_round_days`); the
texts that explain the planning (``/quickscan planning``) are filled in from the
same values and name the days these functions give, so they cannot disagree.

The warning that the holiday data ends is ``bot.calendar.data_end``.
A round whose opening moment has already passed when the bot is installed is not
planned at all: planning starts from the next applicable moment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import ClassVar, Protocol

from conversations.core.clock import SCHOOL_TZ
from storage.quickscan.records import Round
from storage.schedule.store import PlannedPing


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSettings:
    """The planning defaults a coordinator can change (``/quickscan planning``).

    Attributes:
        ronde1_weken: Weeks before the herfstvakantie that checklist round 1 opens.
        ronde2_weken: Weeks from round 2's opening to its deadline.
        herinnering_dagen: School days before a checklist deadline of the last reminder.

    The class constants are the fixed parts of the rules, stated here so the texts
    that explain them read the same values as the planner.
    """

    REMINDER_WEEKS: ClassVar[int] = 1
    """Weeks before a checklist deadline of the first reminder."""
    QUICKSCAN_REMINDER_DAYS: ClassVar[tuple[int, ...]] = (3, 1)
    """School days before a quickscan deadline of its reminders."""

    ronde1_weken: int = 3
    ronde2_weken: int = 3
    herinnering_dagen: int = 2

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings, as coordinators type them."""
        return tuple(item.name for item in fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, int]) -> PlanSettings:
        """Defaults overridden by a team's stored values (unknown names ignored)."""
        return replace(cls(), **{k: int(v) for k, v in values.items() if k in cls.names()})

    def as_mapping(self) -> dict[str, int]:
        """The settings by name, for display."""
        return asdict(self)


SETTING_RANGES = {"ronde1_weken": (1, 8), "ronde2_weken": (1, 8), "herinnering_dagen": (1, 5)}
PING_TIME = time(8, 0)
KEEP_CLOSE_USEFUL = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundDays:
    """The days of one round: what the pings do and what the texts name.

    Attributes:
        opens: The day the round opens (a quickscan's: the day it was started).
        reminders: The reminder days, in order, each within the round.
        deadline: The last day to answer.
        closes: The day the round closes and its result is posted (08:00).
    """

    opens: date
    reminders: tuple[date, ...]
    deadline: date
    closes: date


class SchoolDays(Protocol):
    """What the planner needs to know of the calendar, for one region.

    The walks over school days are the calendar's own (bot/calendar/school_calendar.py);
    they raise a ``CalendarError`` (a ``ValueError``) beyond the shipped school years.
    """

    def first_school_day_after(self, day: date, *, inclusive: bool = False) -> date:
        """The first school day after ``day`` (or ``day`` itself when ``inclusive``)."""
        ...

    def last_school_day_before(self, day: date, *, inclusive: bool = False) -> date:
        """The last school day before ``day`` (or ``day`` itself when ``inclusive``)."""
        ...

    def holiday_start(self, *, kind: str, school_year: int) -> date | None:
        """First day of a holiday ("herfst", "kerst") of the school year starting then."""
        ...

    def holiday_end(self, *, kind: str, school_year: int) -> date | None:
        """Last day of that holiday."""
        ...


def at_eight(day: date) -> datetime:
    """08:00 school time on ``day``, as an aware datetime."""
    return datetime.combine(day, PING_TIME, tzinfo=SCHOOL_TZ)


def end_of(day: date) -> datetime:
    """The last moment of ``day`` in school time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SCHOOL_TZ)


def on_or_after(days: SchoolDays, day: date) -> date:
    """The first school day on or after ``day``."""
    return days.first_school_day_after(day, inclusive=True)


def on_or_before(days: SchoolDays, day: date) -> date:
    """The last school day on or before ``day``."""
    return days.last_school_day_before(day, inclusive=True)


def after(days: SchoolDays, day: date) -> date:
    """The first school day after ``day``."""
    return days.first_school_day_after(day)


def before(days: SchoolDays, day: date, count: int = 1) -> date:
    """The ``count``-th school day before ``day``."""
    for _ in range(count):
        day = days.last_school_day_before(day)
    return day


def checklist_reminder_days(
    *, days: SchoolDays, opens: date, deadline: date, settings: PlanSettings
) -> tuple[date, ...]:
    """The reminder days of a checklist round: one rule for round 1 and round 2.

    One week before the deadline (the first school day from then on) and
    ``herinnering_dagen`` school days before it; only days after the opening and
    up to the deadline count, and a day named twice is one reminder.
    """
    wanted = (
        on_or_after(days, deadline - timedelta(weeks=settings.REMINDER_WEEKS)),
        before(days, deadline, settings.herinnering_dagen),
    )
    return tuple(sorted({day for day in wanted if opens < day <= deadline}))


def checklist_round_days(
    *, days: SchoolDays, school_year: int, number: int, settings: PlanSettings
) -> RoundDays | None:
    """The days of checklist round ``number`` of ``school_year``; None without its holiday.

    Round 1 hangs on the herfstvakantie, round 2 on the kerstvakantie, both of the
    team's own calendar (its region and its own dates).
    """
    kind = "herfst" if number == 1 else "kerst"
    start = days.holiday_start(kind=kind, school_year=school_year)
    end = days.holiday_end(kind=kind, school_year=school_year)
    if start is None or end is None:
        return None
    if number == 1:
        opens = on_or_after(days, start - timedelta(weeks=settings.ronde1_weken))
        deadline = before(days, start)
        closes = after(days, end)
    else:
        opens = after(days, end)
        deadline = on_or_before(days, opens + timedelta(weeks=settings.ronde2_weken))
        closes = after(days, deadline)
    reminders = checklist_reminder_days(
        days=days, opens=opens, deadline=deadline, settings=settings
    )
    return RoundDays(opens=opens, reminders=reminders, deadline=deadline, closes=closes)


def checklist_open_ping_id(*, team_id: int, school_year: int, number: int) -> str:
    """The id of a checklist round's opening ping (whether the bot opened that round)."""
    return f"team{team_id}:{school_year}:checklist:r{number}:open"


def checklist_pings(
    *,
    team_id: int,
    days: SchoolDays,
    school_year: int,
    now: datetime,
    known: Callable[[str], bool] = lambda _ping_id: False,
    settings: PlanSettings | None = None,
) -> list[PlannedPing]:
    """The checklist pings of one school year, from the next applicable moment.

    ``known`` tells which ping ids the outbox already holds: a round that opened
    before the bot was installed is skipped whole, but one the bot opened itself
    keeps its reminders and close.
    """
    plan = settings or PlanSettings()
    planned: list[PlannedPing] = []
    prefix = f"team{team_id}:{school_year}:checklist"
    first = checklist_round_days(days=days, school_year=school_year, number=1, settings=plan)
    if first is not None:
        planned += _round_pings(
            prefix=f"{prefix}:r1",
            number=1,
            school_year=school_year,
            round_days=first,
            now=now,
            known=known,
        )
    kerst = days.holiday_start(kind="kerst", school_year=school_year)
    second = checklist_round_days(days=days, school_year=school_year, number=2, settings=plan)
    if kerst is not None and second is not None:
        announce = on_or_after(days, kerst - timedelta(weeks=1))
        if at_eight(announce) > now:
            planned.append(
                PlannedPing(
                    id=f"{prefix}:r2:announce",
                    kind="checklist_announce",
                    due_at=at_eight(announce),
                    useful_until=end_of(before(days, kerst)),
                    args={"number": 2, "school_year": school_year},
                )
            )
        planned += _round_pings(
            prefix=f"{prefix}:r2",
            number=2,
            school_year=school_year,
            round_days=second,
            now=now,
            known=known,
        )
    return planned


def _round_pings(
    *,
    prefix: str,
    number: int,
    school_year: int,
    round_days: RoundDays,
    now: datetime,
    known: Callable[[str], bool],
) -> list[PlannedPing]:
    opens = round_days.opens
    if at_eight(opens) <= now and not known(f"{prefix}:open"):
        return []  # installed after this round opened: start from the next one
    deadline = round_days.deadline
    args = {"number": number, "school_year": school_year, "deadline": deadline.isoformat()}
    until = end_of(deadline)
    pings = [
        PlannedPing(
            id=f"{prefix}:open",
            kind="checklist_open",
            due_at=at_eight(opens),
            useful_until=until,
            args=args,
        )
    ]
    return pings + _reminders_and_close(
        prefix=prefix,
        kind="checklist",
        days=list(round_days.reminders),
        until=until,
        closes=round_days.closes,
        args=args,
    )


def _reminders_and_close(
    *,
    prefix: str,
    kind: str,
    days: list[date],
    until: datetime,
    closes: date,
    args: Mapping[str, object],
) -> list[PlannedPing]:
    """Reminder pings (useful until the deadline) and the closing ping of a round."""
    pings = [
        PlannedPing(
            id=f"{prefix}:remind:{day.isoformat()}",
            kind=f"{kind}_remind",
            due_at=at_eight(day),
            useful_until=until,
            args=args,
        )
        for day in sorted(set(days))
    ]
    pings.append(
        PlannedPing(
            id=f"{prefix}:close",
            kind=f"{kind}_close",
            due_at=at_eight(closes),
            useful_until=at_eight(closes) + KEEP_CLOSE_USEFUL,
            args=args,
        )
    )
    return pings


def quickscan_round_days(*, days: SchoolDays, round_: Round) -> RoundDays | None:
    """The reminder and closing days of a quickscan round; None without a deadline.

    The deadline is the coordinator's; reminders and the close follow the school
    calendar, so a deadline inside a holiday closes on the first school day after it.
    Reminders before the round opened are left out.
    """
    if round_.deadline is None:
        return None
    deadline = round_.deadline.astimezone(SCHOOL_TZ).date()
    wanted = {before(days, deadline, count) for count in PlanSettings.QUICKSCAN_REMINDER_DAYS}
    reminders = tuple(sorted(day for day in wanted if at_eight(day) > round_.opened_at))
    return RoundDays(
        opens=round_.opened_at.astimezone(SCHOOL_TZ).date(),
        reminders=reminders,
        deadline=deadline,
        closes=after(days, deadline),
    )


def quickscan_pings(*, team_id: int, days: SchoolDays, round_: Round) -> list[PlannedPing]:
    """Deadline reminders and the auto-close of an open quickscan round.

    The pings carry the deadline and the closing day, so what they say is what the
    plan does (a later holiday change re-plans them with the new days).
    """
    round_days = quickscan_round_days(days=days, round_=round_)
    if round_days is None:
        return []
    return _reminders_and_close(
        prefix=f"team{team_id}:quickscan:{round_.id}",
        kind="quickscan",
        days=list(round_days.reminders),
        until=end_of(round_days.deadline),
        closes=round_days.closes,
        args={
            "round_id": round_.id,
            "deadline": round_days.deadline.isoformat(),
            "closes": round_days.closes.isoformat(),
        },
    )


def own_checklist_pings(
    *,
    team_id: int,
    days: SchoolDays,
    round_id: int,
    opened_at: datetime,
    deadline: datetime,
    settings: PlanSettings,
) -> list[PlannedPing]:
    """Reminders and the close of a checklist round a coordinator opened with a deadline.

    The same rule as the bot's own rounds (reminders one week and
    ``herinnering_dagen`` school days before the deadline, closed with the team
    overview on the first school day after it), keyed on the round's id, so a
    coordinator's deadline is kept like the bot's.
    """
    last = deadline.astimezone(SCHOOL_TZ).date()
    opens = opened_at.astimezone(SCHOOL_TZ).date()
    closes = after(days, last)
    return _reminders_and_close(
        prefix=f"team{team_id}:checklist-own:{round_id}",
        kind="checklist_own",
        days=list(
            checklist_reminder_days(days=days, opens=opens, deadline=last, settings=settings)
        ),
        until=end_of(last),
        closes=closes,
        args={"round_id": round_id, "deadline": last.isoformat(), "closes": closes.isoformat()},
    )
