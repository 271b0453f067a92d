"""Plans a team's pings from the school calendar: no one has to set a date.

Pure: the plan depends only on the calendar, the team's settings, its open
quickscan round and ``now``, so planning again gives the same ids and the
outbox (storage/schedule_store.py) changes nothing. Every ping is at 08:00
Europe/Amsterdam on a school day of the team's region: never in a weekend, a
school holiday or on a public holiday.

Checklist oudercontact (seed 004; defaults a coordinator can change later):

- round 1 opens three weeks before the herfstvakantie; reminders one week and two
  school days before it; deadline the last school day before it; the team result
  is posted on the first school day after it;
- one week before the kerstvakantie: an announcement that round 2 follows;
- round 2 opens on the first school day after the kerstvakantie, with reminders
  one week and two school days before its deadline three weeks later; the
  comparison goes out on the first school day after that deadline.

Quickscan rounds with a deadline: reminders three school days and one school day
before it, and auto-close with the team result on the first school day after it.

A round whose opening moment has already passed when the bot is installed is not
planned at all: planning starts from the next applicable moment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Protocol

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
    """

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


class SchoolDays(Protocol):
    """What the planner needs to know of the calendar, for one region.

    The walks over school days are the calendar's own (bot/calendar.py); they raise
    a ``CalendarError`` (a ``ValueError``) beyond the shipped school years.
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


def school_year_of(moment: datetime) -> int:
    """The school year (by its starting calendar year) a moment falls in; it turns on 1 August."""
    local = moment.astimezone(SCHOOL_TZ).date()
    return local.year if local.month >= 8 else local.year - 1


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
    herfst = days.holiday_start(kind="herfst", school_year=school_year)
    herfst_end = days.holiday_end(kind="herfst", school_year=school_year)
    if herfst is not None and herfst_end is not None:
        deadline = before(days, herfst)
        planned += _round_pings(
            prefix=f"{prefix}:r1",
            number=1,
            school_year=school_year,
            opens=on_or_after(days, herfst - timedelta(weeks=plan.ronde1_weken)),
            reminders=(
                on_or_after(days, herfst - timedelta(weeks=1)),
                before(days, herfst, plan.herinnering_dagen),
            ),
            deadline=deadline,
            closes=after(days, herfst_end),
            now=now,
            known=known,
        )
    kerst = days.holiday_start(kind="kerst", school_year=school_year)
    kerst_end = days.holiday_end(kind="kerst", school_year=school_year)
    if kerst is not None and kerst_end is not None:
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
        opens = after(days, kerst_end)
        deadline = on_or_before(days, opens + timedelta(weeks=plan.ronde2_weken))
        planned += _round_pings(
            prefix=f"{prefix}:r2",
            number=2,
            school_year=school_year,
            opens=opens,
            reminders=(
                on_or_after(days, deadline - timedelta(weeks=1)),
                before(days, deadline, plan.herinnering_dagen),
            ),
            deadline=deadline,
            closes=after(days, deadline),
            now=now,
            known=known,
        )
    return planned


def _round_pings(
    *,
    prefix: str,
    number: int,
    school_year: int,
    opens: date,
    reminders: tuple[date, ...],
    deadline: date,
    closes: date,
    now: datetime,
    known: Callable[[str], bool],
) -> list[PlannedPing]:
    if at_eight(opens) <= now and not known(f"{prefix}:open"):
        return []  # installed after this round opened: start from the next one
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
    reminder_days = [day for day in reminders if opens < day <= deadline]
    return pings + _reminders_and_close(
        prefix=prefix,
        kind="checklist",
        days=reminder_days,
        until=until,
        closes=closes,
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


def quickscan_pings(*, team_id: int, days: SchoolDays, round_: Round) -> list[PlannedPing]:
    """Deadline reminders and the auto-close of an open quickscan round."""
    if round_.deadline is None:
        return []
    deadline = round_.deadline.astimezone(SCHOOL_TZ).date()
    reminder_days = [
        day
        for day in (before(days, deadline, 3), before(days, deadline, 1))
        if at_eight(day) > round_.opened_at
    ]
    return _reminders_and_close(
        prefix=f"team{team_id}:quickscan:{round_.id}",
        kind="quickscan",
        days=reminder_days,
        until=end_of(deadline),
        closes=after(days, deadline),
        args={"round_id": round_.id},
    )
