"""The warning that the shipped holiday data ends: planned once, a month before.

Apart from the planner's rounds because it plans no round: it tells the team that
after the data's last day school days count as weekdays minus public holidays,
and what to do about that (bot/calendar/data/README.md).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.calendar.planner import SchoolDays, at_eight, end_of, on_or_before
from bot.calendar.vocabulary import school_year_label, school_year_of
from conversations.core.clock import SCHOOL_TZ
from storage.schedule.store import PlannedPing

DATA_END_KIND = "calendar_data_ends"


def month_before(day: date) -> date:
    """The same day a calendar month earlier (the month's last day if it has fewer)."""
    first_of_month = day.replace(day=1)
    last_of_previous = first_of_month - timedelta(days=1)
    return last_of_previous.replace(day=min(day.day, last_of_previous.day))


def data_end_pings(
    *, team_id: int, days: SchoolDays, last_day: date, now: datetime
) -> list[PlannedPing]:
    """One warning to the team a month before the shipped holiday data ends.

    On the last school day on or before that moment (a month before the end of the
    last summer holiday is still in that holiday), useful until the data ends. A
    team that names its region after that moment, while the data has not ended, is
    warned late: at 08:00 today (at once when that has passed, like a missed ping).

    The id names the data (the last school year it holds), not the region's last
    day: the team is warned once even if it changes region afterwards, and a bot
    update with longer data plans a new one.
    """
    if now > end_of(last_day):
        return []
    due = at_eight(on_or_before(days, month_before(last_day)))
    if due <= now:
        due = at_eight(now.astimezone(SCHOOL_TZ).date())
    last_year = school_year_label(school_year_of(last_day + timedelta(days=1)) - 1)
    return [
        PlannedPing(
            id=f"team{team_id}:calendar:data-ends:{last_year}",
            kind=DATA_END_KIND,
            due_at=due,
            useful_until=end_of(last_day),
            args={"last_day": last_day.isoformat()},
        )
    ]
