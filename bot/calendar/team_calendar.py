"""A team's school days: the packaged calendar, its region and its own holiday dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.calendar.school_calendar import SchoolCalendar
from bot.calendar.vocabulary import (
    CalendarError,
    HolidayKind,
    Region,
    parse_holiday_kind,
    parse_region,
)
from storage.quickscan.records import Team


@dataclass(frozen=True, slots=True)
class RegionDays:
    """The school days of one region (the planner's ``SchoolDays``)."""

    calendar: SchoolCalendar
    region: Region

    def data_last_day(self) -> date:
        """The last day of the shipped holiday data of the region.

        After it, school days are weekdays minus public holidays and the school's own
        holidays: the bot warns the coordinators a month before and ``kalender`` says so.
        """
        return self.calendar.coverage(region=self.region)[1]

    def is_school_day(self, day: date) -> bool:
        """A weekday outside holidays; before the shipped years nothing is a school day."""
        try:
            return self.calendar.is_school_day(day, region=self.region)
        except CalendarError:
            return False

    def first_school_day_after(self, day: date, *, inclusive: bool = False) -> date:
        """The first school day after ``day`` (or ``day`` itself when ``inclusive``)."""
        return self.calendar.first_school_day_after(day, region=self.region, inclusive=inclusive)

    def last_school_day_before(self, day: date, *, inclusive: bool = False) -> date:
        """The last school day before ``day`` (or ``day`` itself when ``inclusive``)."""
        return self.calendar.last_school_day_before(day, region=self.region, inclusive=inclusive)

    def holiday_start(self, *, kind: str, school_year: int) -> date | None:
        """First day of the holiday, or None outside the shipped years."""
        found = self._holiday(kind, school_year)
        return None if found is None else found[0]

    def holiday_end(self, *, kind: str, school_year: int) -> date | None:
        """Last day of the holiday, or None outside the shipped years."""
        found = self._holiday(kind, school_year)
        return None if found is None else found[1]

    def _holiday(self, kind: str, school_year: int) -> tuple[date, date] | None:
        try:
            holiday = self.calendar.holiday(
                region=self.region,
                kind=parse_holiday_kind(kind),
                school_year_starting=school_year,
            )
        except CalendarError:
            return None
        return holiday.start, holiday.end


def override_key(*, school_year: int, kind: HolidayKind) -> str:
    """How a team's own holiday dates are keyed in storage ("2026:herfst")."""
    return f"{school_year}:{kind.value}"


def days_for(team: Team) -> RegionDays | None:
    """The team's school days, or None while it has not named its region."""
    if not team.region:
        return None
    region = parse_region(team.region)
    calendar = SchoolCalendar.load()
    overrides: dict[tuple[int, HolidayKind], tuple[date, date]] = {}
    for key, (start, end) in team.holiday_overrides.items():
        year, _, kind = key.partition(":")
        try:
            overrides[(int(year), parse_holiday_kind(kind))] = (
                date.fromisoformat(start),
                date.fromisoformat(end),
            )
        except ValueError:
            continue  # a malformed stored override counts as none
    if overrides:
        calendar = calendar.with_overrides(region=region, overrides=overrides)
    return RegionDays(calendar=calendar, region=region)
