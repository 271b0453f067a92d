"""School days for the plan: the step's date, the follow-up and the next round.

With a region the team's own calendar decides (holidays, public holidays and the
school's own dates, bot/calendar/team_calendar.py; after the shipped data it
counts weekdays minus public holidays itself). Without one a school day is a
weekday that is no Dutch public holiday (the calendar's own list): the plan must
still work for a team that never named its region.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.calendar import planner
from bot.calendar.planner import SchoolDays
from bot.calendar.school_calendar import SchoolCalendar
from conversations.core.clock import SCHOOL_TZ

SATURDAY = 5
NEXT_ROUND_AFTER_YEARS = 1
NEXT_ROUND_WEEKS = 3
FOLLOWUP_NUDGE_SCHOOL_DAYS = 5


def _weekday_school_day(day: date) -> bool:
    """Without a region: a weekday that is no public holiday."""
    if day.weekday() >= SATURDAY:
        return False
    try:
        return not SchoolCalendar.load().is_public_holiday(day)
    except ValueError:  # before the shipped calendar: only weekends are known
        return True


def _walk(day: date, step: int) -> date:
    while not _weekday_school_day(day):
        day += timedelta(days=step)
    return day


def on_or_after(days: SchoolDays | None, *, day: date) -> date:
    """The first school day on or after ``day``."""
    return _walk(day, 1) if days is None else planner.on_or_after(days, day)


def on_or_before(days: SchoolDays | None, *, day: date) -> date:
    """The last school day on or before ``day``."""
    return _walk(day, -1) if days is None else planner.on_or_before(days, day)


def school_days_after(days: SchoolDays | None, *, day: date, count: int) -> date:
    """The ``count``-th school day after ``day``."""
    for _ in range(count):
        day = on_or_after(days, day=day + timedelta(days=1))
    return day


def local_day(moment: datetime) -> date:
    """The school-time calendar day of ``moment``."""
    return moment.astimezone(SCHOOL_TZ).date()


def default_next_round(days: SchoolDays | None, *, closed: date) -> date:
    """The rule: a year after the round closed, on the first school day on or after it.

    29 February closes a year later on 28 February (then moves on to a school day).
    """
    try:
        target = closed.replace(year=closed.year + NEXT_ROUND_AFTER_YEARS)
    except ValueError:
        target = closed.replace(year=closed.year + NEXT_ROUND_AFTER_YEARS, day=28)
    return on_or_after(days, day=target)


def next_round_deadline(days: SchoolDays | None, *, opens: date) -> date:
    """Three weeks after the round opens, on the last school day on or before that."""
    return on_or_before(days, day=opens + timedelta(weeks=NEXT_ROUND_WEEKS))
