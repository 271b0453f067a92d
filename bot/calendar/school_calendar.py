"""The school calendar: Dutch school holidays per region, public holidays and school days.

The bot plans checklist rounds and reminders relative to the school holidays ("three
weeks before the herfstvakantie", "the first school day after the kerstvakantie") and
must never ping on a day without school. This module answers those questions from
data that ships with the bot and never reads the clock: callers pass the day.

* School holidays per region (noord, midden, zuid) come from
  ``bot/calendar/data/school_holidays.csv``, derived by ``scripts/build_calendar.py`` from the
  OpenHolidays API data (``SOURCE_ATTRIBUTION``; the file stays under the ODbL, see
  ``bot/calendar/data/README.md``). A school may override its own dates, since the autumn and
  spring dates are only advice (``SchoolCalendar.with_overrides``).
* Public holidays come from the ``holidays`` package (country NL, category public),
  plus Goede Vrijdag whatever the installed version says (see ``_days_off_by_law``).
* The municipality -> region table is ``bot/calendar/data/municipalities.csv`` (same source).

The shipped data covers 1 September of the first shipped school year through the end
of the last shipped summer holiday of each region (``coverage``). Questions about the
holidays themselves outside it raise ``OutOfRangeError`` instead of guessing. School
days do not stop there, because a deadline after the data must still be reminded and
closed: after the data a school day is a weekday that is no public holiday and not in
a holiday the school set itself (``with_overrides`` accepts school years after the
data). Days before the data still raise.

The terms (regions, holidays, school years) are in ``bot.calendar.vocabulary``, the
municipality table in ``bot.calendar.municipalities`` and the shipped files in
``bot.calendar.data_files``; this module is the calendar itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from bot.calendar.data_files import SCHOOL_HOLIDAYS_FILE, read_csv
from bot.calendar.vocabulary import (
    CalendarError,
    Holiday,
    HolidayKind,
    OutOfRangeError,
    Region,
    parse_school_year,
    school_year_label,
    school_year_of,
)

with warnings.catch_warnings():
    # holidays 0.5x-0.6x warn on import about their coming 1.0 versioning: nothing to act
    # on here, and it would fail every test run (pytest turns warnings into errors).
    warnings.filterwarnings(
        "ignore",
        message=r"\s*This is a future version incompatibility",
        category=DeprecationWarning,
    )
    import holidays as holidays_package

# The calendar starts on 1 September of the first school year: every region's previous
# summer holiday has ended by then (the build script checks this against the source).
_COVERAGE_FIRST_MONTH = 9
_SATURDAY = 5


_HolidayKey = tuple[Region, int, HolidayKind]


@dataclass(frozen=True, slots=True, kw_only=True)
class SchoolCalendar:
    """School holidays per region and public holidays; answers "is this a school day?".

    Immutable: ``with_overrides`` returns a new calendar, so the packaged one can be
    shared (``load`` caches it) and a team's calendar is just the packaged one plus
    that team's own dates.
    """

    holidays: tuple[Holiday, ...]
    public_holidays: frozenset[date]
    first_day: date
    data_end: Mapping[Region, date] = field(default_factory=dict, compare=False)
    """The last day of the shipped data per region; empty: the last holiday's end.

    Kept apart from the holidays, because a school's own dates after the data (set
    with ``with_overrides``) do not make the shipped data any longer.
    """
    _index: Mapping[_HolidayKey, Holiday] = field(init=False, repr=False, compare=False)
    _by_region: Mapping[Region, tuple[Holiday, ...]] = field(init=False, repr=False, compare=False)
    _last_day: Mapping[Region, date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[_HolidayKey, Holiday] = {}
        for item in self.holidays:
            key = (item.region, item.school_year, item.kind)
            if key in index:
                raise CalendarError(f"two {item.kind.value} holidays for {key}")
            if item.end < item.start:
                raise CalendarError(f"holiday ends before it starts: {item}")
            index[key] = item
        by_region = {
            region: tuple(sorted((h for h in self.holidays if h.region is region), key=_start))
            for region in Region
        }
        for region, ordered in by_region.items():
            if not ordered:
                raise CalendarError(f"no school holidays for region {region.value}")
            for before, after in zip(ordered, ordered[1:], strict=False):
                if after.start <= before.end:
                    raise CalendarError(
                        f"{region.value}: {after.kind.value} {after.school_year_label} "
                        f"({after.start}..{after.end}) overlaps {before.kind.value} "
                        f"({before.start}..{before.end})"
                    )
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_by_region", by_region)
        last_day = {region: max(h.end for h in by_region[region]) for region in Region}
        object.__setattr__(self, "_last_day", {**last_day, **self.data_end})

    @classmethod
    def load(cls) -> SchoolCalendar:
        """The calendar shipped with the bot (read once, then shared: it is immutable)."""
        return _packaged_calendar()

    def coverage(self, *, region: Region) -> tuple[date, date]:
        """The first and last day of the shipped holiday data for ``region``.

        After the last day school days are weekdays minus public holidays (and the
        school's own holidays), which the bot tells the coordinators beforehand.
        """
        return self.first_day, self._last_day[region]

    def holiday(self, *, region: Region, kind: HolidayKind, school_year_starting: int) -> Holiday:
        """The ``kind`` holiday of ``region`` in the school year starting in that year.

        Raises:
            OutOfRangeError: the school year is not in the shipped data.
        """
        found = self._index.get((region, school_year_starting, kind))
        if found is None:
            years = sorted({h.school_year for h in self.holidays})
            wanted, first, last = (
                school_year_label(year) for year in (school_year_starting, years[0], years[-1])
            )
            raise OutOfRangeError(
                f"no {kind.value} for {region.value} in {wanted}: "
                f"the calendar has {first} to {last}"
            )
        return found

    def holidays_between(self, *, region: Region, start: date, end: date) -> tuple[Holiday, ...]:
        """The holidays of ``region`` that overlap ``start``..``end`` (both included), in order.

        Raises:
            OutOfRangeError: either end lies outside the calendar.
        """
        if end < start:
            raise CalendarError(f"holidays_between: end {end} is before start {start}")
        self._check_covered(start, region=region)
        self._check_covered(end, region=region)
        return tuple(h for h in self._by_region[region] if h.start <= end and h.end >= start)

    def next_holiday(self, *, region: Region, kind: HolidayKind, on_or_after: date) -> Holiday:
        """The first ``kind`` holiday of ``region`` that starts on or after ``on_or_after``.

        A holiday already under way on that day is not "next": during the herfstvakantie
        the next herfstvakantie is a year later.

        Raises:
            OutOfRangeError: ``on_or_after`` is outside the calendar, or the shipped data
                has no later ``kind`` holiday.
        """
        self._check_covered(on_or_after, region=region)
        for item in self._by_region[region]:
            if item.kind is kind and item.start >= on_or_after:
                return item
        raise OutOfRangeError(
            f"no {kind.value} for {region.value} on or after {on_or_after} in the shipped data"
        )

    def holiday_on(self, day: date, *, region: Region) -> Holiday | None:
        """The school holiday of ``region`` that ``day`` falls in, if any."""
        self._check_covered(day, region=region)
        return next((h for h in self._by_region[region] if h.contains(day)), None)

    def is_public_holiday(self, day: date) -> bool:
        """Whether ``day`` is a Dutch public holiday on which schools are closed.

        Years after the shipped data are asked of the ``holidays`` package too: public
        holidays, unlike school holidays, follow from the law and the date of Easter.

        Raises:
            OutOfRangeError: ``day`` is before the calendar starts.
        """
        if day < self.first_day:
            raise OutOfRangeError(f"{day} is outside the school calendar")
        if day.year > max(self._last_day.values()).year:
            return day in _days_off_by_law(range(day.year, day.year + 1))
        return day in self.public_holidays

    def is_school_day(self, day: date, *, region: Region) -> bool:
        """Monday to Friday, not in a school holiday of ``region``, not a public holiday.

        After the shipped data only the school's own holidays are known, so a school
        day there is a weekday that is no public holiday and not in one of those.

        Raises:
            OutOfRangeError: ``day`` is before the calendar starts.
        """
        if day < self.first_day:
            self._check_covered(day, region=region)  # raises, naming the range
        if day.weekday() >= _SATURDAY or self.is_public_holiday(day):
            return False
        return not any(h.contains(day) for h in self._by_region[region])

    def school_days_before(self, day: date, *, n: int, region: Region) -> date:
        """The ``n``-th school day before ``day`` (``n`` = 1: the last one before it).

        Raises:
            CalendarError: ``n`` < 1.
            OutOfRangeError: counting back leaves the calendar.
        """
        if n < 1:
            raise CalendarError(f"school_days_before needs n >= 1, got {n}")
        found = day
        for _ in range(n):
            found = self.last_school_day_before(found, region=region)
        return found

    def school_days_after(self, day: date, *, n: int, region: Region) -> date:
        """The ``n``-th school day after ``day`` (``n`` = 1: the first one after it).

        Raises:
            CalendarError: ``n`` < 1.
        """
        if n < 1:
            raise CalendarError(f"school_days_after needs n >= 1, got {n}")
        found = day
        for _ in range(n):
            found = self.first_school_day_after(found, region=region)
        return found

    def first_school_day_after(
        self, day: date, *, region: Region, inclusive: bool = False
    ) -> date:
        """The first school day after ``day`` (or ``day`` itself if ``inclusive`` and it is one).

        After the shipped data it counts weekdays minus public holidays (see
        :meth:`is_school_day`), so it always finds one.
        """
        return next(self._school_days(day, region=region, step=1, inclusive=inclusive))

    def last_school_day_before(
        self, day: date, *, region: Region, inclusive: bool = False
    ) -> date:
        """The last school day before ``day`` (or ``day`` itself if ``inclusive`` and it is one).

        Raises:
            OutOfRangeError: there is none after the calendar starts.
        """
        return next(self._school_days(day, region=region, step=-1, inclusive=inclusive))

    def with_overrides(
        self,
        *,
        region: Region,
        overrides: Mapping[tuple[int, HolidayKind], tuple[date, date]],
    ) -> SchoolCalendar:
        """This calendar with a school's own dates for some holidays of ``region``.

        Keys are (first year of the school year, kind), values (first, last holiday
        day), e.g. ``{(2026, HolidayKind.HERFST): (date(2026, 10, 17), date(2026, 10, 25))}``.
        Other regions are unchanged; an empty mapping returns this calendar. A school
        year after the shipped data may be given too: once the data ends, a school's
        own dates are the only holidays the bot can know.

        Raises:
            OutOfRangeError: dates before the calendar.
            CalendarError: end before start, dates in another school year, or an overlap
                with another holiday of the region.
        """
        if not overrides:
            return self
        replaced = dict(self._index)
        for (year, kind), (start, end) in overrides.items():
            key = (region, year, kind)
            if end < start:
                raise CalendarError(
                    f"override for {kind.value}: end {end} is before start {start}"
                )
            if start < self.first_day:
                raise OutOfRangeError(f"override for {kind.value} starts before {self.first_day}")
            if school_year_of(start) != year:
                raise CalendarError(
                    f"override for {kind.value} {school_year_label(year)} starts on {start}, "
                    f"in school year {school_year_label(school_year_of(start))}"
                )
            replaced[key] = Holiday(
                region=region, kind=kind, school_year=year, start=start, end=end, overridden=True
            )
        return SchoolCalendar(
            holidays=tuple(sorted(replaced.values(), key=_file_order)),
            public_holidays=self.public_holidays,
            first_day=self.first_day,
            data_end=self._last_day,
        )

    def _school_days(
        self, day: date, *, region: Region, step: int, inclusive: bool
    ) -> Iterator[date]:
        candidate = day if inclusive else day + timedelta(days=step)
        while True:
            if self.is_school_day(candidate, region=region):
                yield candidate
            candidate += timedelta(days=step)

    def _check_covered(self, day: date, *, region: Region) -> None:
        last = self._last_day[region]
        if not self.first_day <= day <= last:
            raise OutOfRangeError(
                f"{day} is outside the school calendar for region {region.value} "
                f"({self.first_day} to {last})"
            )


@cache
def _packaged_calendar() -> SchoolCalendar:
    items = tuple(_read_holidays(SCHOOL_HOLIDAYS_FILE))
    first_year = min(item.school_year for item in items)
    first_day = date(first_year, _COVERAGE_FIRST_MONTH, 1)
    last_year = max(item.end.year for item in items)
    return SchoolCalendar(
        holidays=items,
        public_holidays=_days_off_by_law(range(first_year, last_year + 1)),
        first_day=first_day,
    )


def _read_holidays(path: Path) -> Iterator[Holiday]:
    header = ("school_year", "region", "kind", "start", "end")
    for line, record in read_csv(path, header=header):
        try:
            start, end = date.fromisoformat(record["start"]), date.fromisoformat(record["end"])
            item = Holiday(
                region=Region(record["region"]),
                kind=HolidayKind(record["kind"]),
                school_year=parse_school_year(record["school_year"]),
                start=start,
                end=end,
            )
        except ValueError as error:
            raise CalendarError(f"{path.name}:{line}: {error}") from error
        if school_year_of(start) != item.school_year:
            raise CalendarError(f"{path.name}:{line}: {start} is not in {record['school_year']}")
        yield item


@cache
def _days_off_by_law(years: range) -> frozenset[date]:
    """Public holidays: the ``holidays`` package's NL public calendar, plus Goede Vrijdag.

    The package is the source of truth: Nieuwjaarsdag, Pasen, Koningsdag (26 April
    when the 27th is a Sunday), Bevrijdingsdag only in lustrum years (2025, 2030),
    Hemelvaartsdag, Pinksteren and Kerstmis. Goede Vrijdag is not a general day off,
    but many schools close; the package lists it as optional in older releases
    (0.60) and as public in newer ones (0.109), so it is added here explicitly to
    make the answer independent of the installed version. A reminder a day later
    does less harm than one sent on a day the school is closed.
    """
    listed = holidays_package.country_holidays("NL", years=list(years), categories=("public",))
    days = {day for day in listed if isinstance(day, date)}
    days.update(_easter_sunday(year) - timedelta(days=2) for year in years)
    return frozenset(days)


def _easter_sunday(year: int) -> date:
    """Western Easter (anonymous Gregorian algorithm), to place Goede Vrijdag."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    correction = (century + 8) // 25
    moon = (century - correction + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon + 15) % 30
    leap_years, year_rest = divmod(year_of_century, 4)
    weekday = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    shift = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * shift + 114, 31)
    return date(year, month, day + 1)


def _start(item: Holiday) -> date:
    return item.start


def _file_order(item: Holiday) -> tuple[int, int, int]:
    return item.school_year, list(HolidayKind).index(item.kind), list(Region).index(item.region)
