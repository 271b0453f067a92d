"""Tests for the school calendar: derived data, regions, school days and overrides.

The packaged files in ``bot/calendar/data`` are checked always; the cross-checks against the
OpenHolidays source and the byte-for-byte rebuild run only where the source folder
(``../shared/data/openholidays-nl``) is present, which it is not in production.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.calendar import school_calendar as calendar_module
from bot.calendar.data_files import DATA_DIR, SOURCE_ATTRIBUTION
from bot.calendar.municipalities import find_municipalities, region_for_municipality
from bot.calendar.school_calendar import SchoolCalendar
from bot.calendar.vocabulary import (
    CalendarError,
    HolidayKind,
    OutOfRangeError,
    Region,
    parse_holiday_kind,
    parse_region,
    parse_school_year,
    school_year_of,
    weeks_before,
)

REPO = Path(__file__).resolve().parents[1]
# Through bot.calendar.school_calendar (it silences older holidays releases' import warning).
holidays_package = calendar_module.holidays_package
SOURCE = REPO.parent / "shared" / "data" / "openholidays-nl"
BUILD_SCRIPT = REPO / "scripts" / "build_calendar.py"
needs_source = pytest.mark.skipif(
    not (SOURCE / "holidays.school.csv").is_file(), reason="OpenHolidays source not present"
)

NOORD, MIDDEN, ZUID = Region.NOORD, Region.MIDDEN, Region.ZUID
HERFST, KERST, VOORJAAR = HolidayKind.HERFST, HolidayKind.KERST, HolidayKind.VOORJAAR

# Facts from the source README, cross-checked there against three secondary sources.
README_FACTS = (
    ("2026-2027", "noord", "herfst", "2026-10-10", "2026-10-18"),
    ("2026-2027", "midden", "herfst", "2026-10-17", "2026-10-25"),
    ("2026-2027", "zuid", "herfst", "2026-10-17", "2026-10-25"),
    ("2026-2027", "noord", "kerst", "2026-12-19", "2027-01-03"),
    ("2026-2027", "midden", "kerst", "2026-12-19", "2027-01-03"),
    ("2026-2027", "zuid", "kerst", "2026-12-19", "2027-01-03"),
)
SOURCE_NAMES = {
    "herfst": "Herfstvakantie",
    "kerst": "Kerstvakantie",
    "voorjaar": "Voorjaarsvakantie",
    "mei": "Meivakantie",
    "zomer": "Zomervakantie",
}
SOURCE_GROUPS = {"noord": "NO", "midden": "MI", "zuid": "ZU"}


@pytest.fixture(scope="module")
def calendar() -> SchoolCalendar:
    return SchoolCalendar.load()


def _packaged_rows() -> list[tuple[str, ...]]:
    with (DATA_DIR / "school_holidays.csv").open(encoding="utf-8", newline="") as handle:
        return [tuple(row) for row in csv.reader(handle)]


def _source_rows() -> list[dict[str, str]]:
    with (SOURCE / "holidays.school.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _source_has(rows: list[dict[str, str]], fact: tuple[str, ...]) -> bool:
    _, region, kind, start, end = fact
    return any(
        row["Name"].startswith(f"NL {SOURCE_NAMES[kind]},")
        and SOURCE_GROUPS[region] in row["Groups"].split(",")
        and (row["StartDate"], row["EndDate"]) == (start, end)
        for row in rows
    )


# --- the derived data -----------------------------------------------------------------


def test_packaged_file_has_the_readme_facts() -> None:
    rows = _packaged_rows()
    assert rows[0] == ("school_year", "region", "kind", "start", "end")
    for fact in README_FACTS:
        assert fact in rows


def test_calendar_answers_the_readme_facts(calendar: SchoolCalendar) -> None:
    for year, region, kind, start, end in README_FACTS:
        found = calendar.holiday(
            region=Region(region), kind=HolidayKind(kind), school_year_starting=int(year[:4])
        )
        assert (found.start, found.end) == (date.fromisoformat(start), date.fromisoformat(end))
        assert found.school_year_label == year


def test_packaged_file_is_complete_and_well_formed() -> None:
    rows = _packaged_rows()[1:]
    keys = [(year, region, kind) for year, region, kind, _, _ in rows]
    assert len(keys) == len(set(keys)) == 5 * 3 * 5
    assert {year for year, _, _ in keys} == {f"{y}-{y + 1}" for y in range(2025, 2030)}
    assert rows == sorted(
        rows,
        key=lambda r: (r[0], list(SOURCE_NAMES).index(r[2]), list(SOURCE_GROUPS).index(r[1])),
    )
    for _, _, kind, start, end in rows:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        assert (first.weekday(), last.weekday()) == (5, 6)  # Saturday to Sunday
        assert (last - first).days + 1 == {"kerst": 16, "zomer": 44}.get(kind, 9)


def test_the_erratum_rows_have_the_one_week_dates(calendar: SchoolCalendar) -> None:
    for year, start, end in (
        (2026, date(2027, 2, 13), date(2027, 2, 21)),
        (2028, date(2029, 2, 10), date(2029, 2, 18)),
    ):
        found = calendar.holiday(region=ZUID, kind=VOORJAAR, school_year_starting=year)
        assert (found.start, found.end) == (start, end)
    assert calendar.is_school_day(date(2027, 3, 1), region=ZUID)


@needs_source
def test_source_has_the_readme_facts() -> None:
    rows = _source_rows()
    for fact in README_FACTS:
        assert _source_has(rows, fact), fact


@needs_source
def test_every_derived_row_is_in_the_source_except_the_errata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = importlib.util.spec_from_file_location("build_calendar", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_calendar", script)  # dataclasses look it up
    spec.loader.exec_module(script)
    source = _source_rows()
    by_id = {row["Id"]: row for row in source}
    for erratum in script.ERRATA:
        assert by_id[erratum.row_id][erratum.column] == erratum.wrong
    for fact in _packaged_rows()[1:]:
        if _source_has(source, fact):
            continue
        corrected = [
            erratum
            for erratum in script.ERRATA
            if by_id[erratum.row_id]["StartDate"] == fact[3]
            and erratum.column == "EndDate"
            and erratum.right == fact[4]
            and SOURCE_GROUPS[fact[1]] in by_id[erratum.row_id]["Groups"].split(",")
        ]
        assert corrected, f"{fact} is neither in the source nor an erratum"
    in_range = [
        row
        for row in source
        if 2025 <= school_year_of(date.fromisoformat(row["StartDate"])) <= 2029
    ]
    assert sum(len(row["Groups"].split(",")) for row in in_range) == 75


def test_school_holidays_agree_with_the_holidays_package(calendar: SchoolCalendar) -> None:
    """An independent check where the installed ``holidays`` has NL school holidays."""
    if "school" not in holidays_package.NL.supported_categories:
        pytest.skip("this holidays release has no NL school holidays")
    for region in Region:
        listed = holidays_package.country_holidays(
            "NL", subdiv=region.value.capitalize(), years=range(2025, 2031), categories=("school",)
        )
        for item in calendar.holidays:
            if item.region is region:
                days = [
                    item.start + timedelta(days=n) for n in range((item.end - item.start).days + 1)
                ]
                assert all(day in listed for day in days), item


@needs_source
def test_build_script_reproduces_the_packaged_files(tmp_path: Path) -> None:
    out = tmp_path / "data"
    command = [sys.executable, str(BUILD_SCRIPT), "--source", str(SOURCE), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, cwd=tmp_path, timeout=120)
    for name in ("school_holidays.csv", "municipalities.csv", "LICENSE"):
        assert (out / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_data_folder_carries_licence_and_source() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert SOURCE_ATTRIBUTION in readme
    assert "dd3dfa8" in readme
    assert "Open Database License" in (DATA_DIR / "LICENSE").read_text(encoding="utf-8")


# --- municipalities and names -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("Tilburg", ZUID),
        ("Groningen", NOORD),
        ("Utrecht", MIDDEN),
        ("tilburg", ZUID),
        ("  UTRECHT ", MIDDEN),
        ("'s-Hertogenbosch", ZUID),
        ("’s-Hertogenbosch", ZUID),
        ("s Hertogenbosch", ZUID),
        ("Den Bosch", ZUID),
        ("Den Haag", MIDDEN),
        ("'s-Gravenhage", MIDDEN),
        ("Súdwest-Fryslân", NOORD),
        ("sudwest fryslan", NOORD),
        ("Nuenen", ZUID),
        ("gemeente Amsterdam", NOORD),
        ("Bergen (NH)", NOORD),
        ("Bergen (L.)", ZUID),
        ("Bergen Limburg", ZUID),
    ],
)
def test_region_for_municipality(name: str, region: Region) -> None:
    assert region_for_municipality(name) is region


def test_region_for_municipality_gives_up_rather_than_guess() -> None:
    assert region_for_municipality("Atlantis") is None
    assert region_for_municipality("Bergen") is None  # two municipalities
    assert len(find_municipalities("Bergen")) == 2
    assert region_for_municipality("Bergen", province="Noord-Holland") is NOORD
    assert region_for_municipality("Altena") is None  # split over two regions
    (altena,) = find_municipalities("Altena")
    assert altena.regions == (MIDDEN, ZUID)


def test_every_alias_points_to_a_shipped_municipality() -> None:
    from bot.calendar.municipalities import _MUNICIPALITY_ALIASES

    for alias, name in _MUNICIPALITY_ALIASES.items():
        assert [m.name for m in find_municipalities(name)] == [name], alias


def test_parse_region_and_kind_accept_dutch_and_english() -> None:
    assert parse_region("zuid") is ZUID
    assert parse_region("Regio Noord") is NOORD
    assert parse_region("central") is MIDDEN
    assert parse_region("ZU") is ZUID
    assert parse_holiday_kind("Herfstvakantie") is HERFST
    assert parse_holiday_kind("autumn holiday") is HERFST
    assert parse_holiday_kind("Christmas") is KERST
    assert parse_holiday_kind("carnavalsvakantie") is VOORJAAR
    assert parse_holiday_kind("zomer") is HolidayKind.ZOMER
    with pytest.raises(CalendarError, match="unknown region"):
        parse_region("oost")
    with pytest.raises(CalendarError, match="unknown school holiday"):
        parse_holiday_kind("paas")


def test_parse_school_year() -> None:
    assert parse_school_year("2026-2027") == 2026
    assert parse_school_year("2026/27") == 2026
    assert parse_school_year("2026") == 2026
    with pytest.raises(CalendarError):
        parse_school_year("2026-2028")
    assert school_year_of(date(2027, 7, 10)) == 2026
    assert school_year_of(date(2027, 10, 16)) == 2027


# --- school days --------------------------------------------------------------------------


def test_weekends_are_no_school_days(calendar: SchoolCalendar) -> None:
    for region in Region:
        assert not calendar.is_school_day(date(2026, 9, 12), region=region)  # Saturday
        assert not calendar.is_school_day(date(2026, 9, 13), region=region)  # Sunday
        assert calendar.is_school_day(date(2026, 9, 14), region=region)  # Monday


def test_herfstvakantie_per_region(calendar: SchoolCalendar) -> None:
    week_one, week_two = date(2026, 10, 12), date(2026, 10, 19)
    assert not calendar.is_school_day(week_one, region=NOORD)
    assert calendar.is_school_day(week_two, region=NOORD)
    for region in (MIDDEN, ZUID):
        assert calendar.is_school_day(week_one, region=region)
        assert not calendar.is_school_day(week_two, region=region)
    assert calendar.holiday_on(week_one, region=NOORD) == calendar.holiday(
        region=NOORD, kind=HERFST, school_year_starting=2026
    )
    assert calendar.holiday_on(week_one, region=ZUID) is None


@pytest.mark.parametrize(
    "day",
    [
        date(2028, 4, 27),  # Koningsdag on a Thursday, before the meivakantie
        date(2026, 4, 3),  # Goede Vrijdag
        date(2026, 4, 6),  # Tweede Paasdag
        date(2026, 5, 14),  # Hemelvaartsdag
        date(2026, 5, 25),  # Tweede Pinksterdag
        date(2026, 12, 25),  # Eerste Kerstdag (and kerstvakantie)
        date(2026, 12, 26),  # Tweede Kerstdag
        date(2027, 1, 1),  # Nieuwjaarsdag
    ],
)
def test_public_holidays_are_no_school_days(calendar: SchoolCalendar, day: date) -> None:
    assert calendar.is_public_holiday(day)
    for region in Region:
        assert not calendar.is_school_day(day, region=region)


def test_koningsdag_and_bevrijdingsdag_follow_the_package(calendar: SchoolCalendar) -> None:
    # 27 April 2025 is a Sunday: Koningsdag is the Saturday before.
    assert date(2025, 4, 26) in calendar.public_holidays
    assert date(2025, 4, 27) not in calendar.public_holidays
    # Bevrijdingsdag is a day off only in lustrum years; 5 May 2026 is a school day.
    assert date(2025, 5, 5) in calendar.public_holidays
    assert date(2030, 5, 5) in calendar.public_holidays
    assert not calendar.is_public_holiday(date(2026, 5, 5))
    assert calendar.is_school_day(date(2026, 5, 5), region=NOORD)
    assert calendar.is_school_day(date(2028, 4, 26), region=NOORD)


def test_public_holidays_are_the_package_ones_plus_goede_vrijdag(
    calendar: SchoolCalendar,
) -> None:
    listed = holidays_package.country_holidays(
        "NL", years=range(2025, 2031), categories=("public",)
    )
    good_fridays = {
        date(2025, 4, 18),
        date(2026, 4, 3),
        date(2027, 3, 26),
        date(2028, 4, 14),
        date(2029, 3, 30),
        date(2030, 4, 19),
    }
    assert calendar.public_holidays == frozenset(listed) | good_fridays


def test_school_days_before_skips_weekends_holidays_and_public_holidays(
    calendar: SchoolCalendar,
) -> None:
    herfst = calendar.holiday(region=NOORD, kind=HERFST, school_year_starting=2026)
    assert calendar.last_school_day_before(herfst.start, region=NOORD) == date(2026, 10, 9)
    assert calendar.school_days_before(herfst.start, n=2, region=NOORD) == date(2026, 10, 8)
    # Across the herfstvakantie: Monday after it, then the Friday before it.
    assert calendar.school_days_before(date(2026, 10, 20), n=2, region=NOORD) == date(2026, 10, 9)
    # Across Hemelvaartsdag (Thursday 14 May 2026) and a weekend.
    assert calendar.school_days_before(date(2026, 5, 18), n=3, region=ZUID) == date(2026, 5, 12)
    # Across Tweede Pinksterdag (Monday 25 May 2026).
    assert calendar.school_days_before(date(2026, 5, 26), n=1, region=ZUID) == date(2026, 5, 22)
    with pytest.raises(CalendarError):
        calendar.school_days_before(date(2026, 5, 26), n=0, region=ZUID)


def test_first_and_last_school_day_around_holidays(calendar: SchoolCalendar) -> None:
    kerst = calendar.holiday(region=MIDDEN, kind=KERST, school_year_starting=2026)
    assert calendar.first_school_day_after(kerst.end, region=MIDDEN) == date(2027, 1, 4)
    assert calendar.last_school_day_before(kerst.start, region=MIDDEN) == date(2026, 12, 18)
    monday = date(2026, 9, 14)
    assert calendar.first_school_day_after(monday, region=MIDDEN) == date(2026, 9, 15)
    assert calendar.first_school_day_after(monday, region=MIDDEN, inclusive=True) == monday
    assert calendar.last_school_day_before(monday, region=MIDDEN) == date(2026, 9, 11)
    assert calendar.last_school_day_before(monday, region=MIDDEN, inclusive=True) == monday
    assert calendar.school_days_after(kerst.end, n=2, region=MIDDEN) == date(2027, 1, 5)


def test_weeks_before_is_plain_date_arithmetic() -> None:
    assert weeks_before(date(2026, 10, 10), n=3) == date(2026, 9, 19)
    assert weeks_before(date(2026, 10, 10), n=0) == date(2026, 10, 10)
    with pytest.raises(CalendarError):
        weeks_before(date(2026, 10, 10), n=-1)


def test_next_holiday_and_holidays_between(calendar: SchoolCalendar) -> None:
    this_year = calendar.holiday(region=MIDDEN, kind=HERFST, school_year_starting=2026)
    next_year = calendar.holiday(region=MIDDEN, kind=HERFST, school_year_starting=2027)
    found = calendar.next_holiday(region=MIDDEN, kind=HERFST, on_or_after=this_year.start)
    assert found == this_year
    day_after = this_year.start + timedelta(days=1)
    assert calendar.next_holiday(region=MIDDEN, kind=HERFST, on_or_after=day_after) == next_year
    between = calendar.holidays_between(
        region=NOORD, start=date(2026, 9, 1), end=date(2027, 1, 31)
    )
    assert [h.kind for h in between] == [HERFST, KERST]
    assert all(h.region is NOORD for h in between)


# --- range ----------------------------------------------------------------------------------


def test_dates_outside_the_shipped_range_raise(calendar: SchoolCalendar) -> None:
    first, last = calendar.coverage(region=NOORD)
    assert first == date(2025, 9, 1)
    assert last == date(2030, 9, 1)  # end of the noord summer holiday 2030
    with pytest.raises(OutOfRangeError, match="outside the school calendar"):
        calendar.is_school_day(date(2025, 8, 29), region=NOORD)
    with pytest.raises(OutOfRangeError):
        calendar.holiday_on(last + timedelta(days=1), region=NOORD)
    with pytest.raises(OutOfRangeError, match="2030-2031"):
        calendar.holiday(region=ZUID, kind=HERFST, school_year_starting=2030)
    with pytest.raises(OutOfRangeError):
        calendar.next_holiday(region=ZUID, kind=HERFST, on_or_after=date(2029, 12, 1))
    with pytest.raises(OutOfRangeError):
        calendar.school_days_before(date(2025, 9, 2), n=5, region=ZUID)


# --- overrides -------------------------------------------------------------------------------


def test_overrides_take_effect_for_that_region_only(calendar: SchoolCalendar) -> None:
    own = calendar.with_overrides(
        region=ZUID, overrides={(2026, HERFST): (date(2026, 10, 10), date(2026, 10, 18))}
    )
    assert not own.is_school_day(date(2026, 10, 12), region=ZUID)
    assert own.is_school_day(date(2026, 10, 19), region=ZUID)
    assert not own.is_school_day(date(2026, 10, 19), region=MIDDEN)
    moved = own.holiday(region=ZUID, kind=HERFST, school_year_starting=2026)
    assert moved.overridden
    assert own.last_school_day_before(moved.start, region=ZUID) == date(2026, 10, 9)
    # The packaged calendar is shared and stays as it was.
    assert calendar.is_school_day(date(2026, 10, 12), region=ZUID)
    assert SchoolCalendar.load() is calendar
    assert calendar.with_overrides(region=ZUID, overrides={}) is calendar


def test_bad_overrides_are_refused(calendar: SchoolCalendar) -> None:
    with pytest.raises(CalendarError, match="before start"):
        calendar.with_overrides(
            region=NOORD, overrides={(2026, HERFST): (date(2026, 10, 18), date(2026, 10, 10))}
        )
    with pytest.raises(CalendarError, match="overlaps"):
        calendar.with_overrides(
            region=NOORD, overrides={(2026, HERFST): (date(2026, 10, 10), date(2026, 12, 20))}
        )
    with pytest.raises(CalendarError, match="school year"):
        calendar.with_overrides(
            region=NOORD, overrides={(2026, HERFST): (date(2027, 10, 9), date(2027, 10, 17))}
        )
    with pytest.raises(OutOfRangeError):
        calendar.with_overrides(
            region=NOORD, overrides={(2024, HERFST): (date(2024, 10, 12), date(2024, 10, 20))}
        )


def test_after_the_data_school_days_are_weekdays_minus_public_holidays(
    calendar: SchoolCalendar,
) -> None:
    _first, last = calendar.coverage(region=MIDDEN)
    assert last == date(2030, 8, 25)  # the midden summer holiday 2030 ends the data
    assert calendar.first_school_day_after(date(2030, 7, 12), region=MIDDEN) == date(2030, 8, 26)
    assert calendar.is_school_day(date(2030, 10, 21), region=MIDDEN)  # no herfst data: a Monday
    assert not calendar.is_school_day(date(2030, 10, 19), region=MIDDEN)  # a Saturday
    assert not calendar.is_school_day(date(2030, 12, 25), region=MIDDEN)  # Kerstmis
    assert not calendar.is_school_day(date(2031, 4, 11), region=MIDDEN)  # Goede Vrijdag
    assert calendar.school_days_before(date(2031, 4, 15), n=1, region=MIDDEN) == date(
        2031, 4, 10
    )  # skipping Goede Vrijdag, the weekend and Tweede Paasdag (Easter 2031: 13 April)


def test_a_school_may_set_its_own_holidays_after_the_data(calendar: SchoolCalendar) -> None:
    own = calendar.with_overrides(
        region=NOORD, overrides={(2030, HERFST): (date(2030, 10, 12), date(2030, 10, 20))}
    )
    assert not own.is_school_day(date(2030, 10, 14), region=NOORD)
    assert own.first_school_day_after(date(2030, 10, 11), region=NOORD) == date(2030, 10, 21)
    assert own.holiday(region=NOORD, kind=HERFST, school_year_starting=2030).overridden
    # The shipped data is no longer for it: the warning still comes in time.
    assert own.coverage(region=NOORD) == calendar.coverage(region=NOORD)


@pytest.mark.parametrize(
    "module", ["school_calendar.py", "vocabulary.py", "municipalities.py", "data_files.py"]
)
def test_the_calendar_never_reads_the_clock(module: str) -> None:
    source = (REPO / "bot" / "calendar" / module).read_text(encoding="utf-8")
    for call in ("today(", "now(", "time.time", "utcnow"):
        assert call not in source, call
