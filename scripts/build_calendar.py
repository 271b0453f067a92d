"""Derive the bot's school calendar data files from the OpenHolidays API data.

The bot must not need the source data at run time (``/work/shared`` is not there in
production), so this script turns the OpenHolidays CSV files into two small files
that ship inside the ``bot`` package:

* ``school_holidays.csv``: school_year, region, kind, start, end (ISO dates,
  inclusive, as in the source) for the shipped school years only;
* ``municipalities.csv``: name, province, region (``midden|zuid`` for the few
  municipalities the source splits over two regions);

and copies the source's ``LICENSE`` (ODbL) next to them, because the derived files
stay under the ODbL. The output is sorted and carries no timestamp, so running the
script twice on the same source gives byte-identical files (a test checks that).

Usage::

    python scripts/build_calendar.py --source ../shared/data/openholidays-nl \
        --out bot/calendar/data
"""

from __future__ import annotations

import argparse
import csv
import logging
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.calendar.vocabulary import (
    HolidayKind,
    Region,
    school_year_label,
    school_year_of,
)

LOG = logging.getLogger("build_calendar")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "openholidays-nl"
DEFAULT_OUT = REPO_ROOT / "bot" / "calendar" / "data"

FIRST_SCHOOL_YEAR = 2025
LAST_SCHOOL_YEAR = 2029

SCHOOL_HOLIDAYS_FILE = "school_holidays.csv"
MUNICIPALITIES_FILE = "municipalities.csv"
LICENSE_FILE = "LICENSE"

_REGION_CODES: Mapping[str, Region] = {
    "NO": Region.NOORD,
    "MI": Region.MIDDEN,
    "ZU": Region.ZUID,
}
_KIND_NAMES: Mapping[str, HolidayKind] = {
    "Herfstvakantie": HolidayKind.HERFST,
    "Kerstvakantie": HolidayKind.KERST,
    "Voorjaarsvakantie": HolidayKind.VOORJAAR,
    "Meivakantie": HolidayKind.MEI,
    "Zomervakantie": HolidayKind.ZOMER,
}
# Every Dutch school holiday runs from a Saturday to a Sunday: one week (9 days),
# two weeks (kerst, 16 days) or six weeks (zomer, 44 days). A row of another length
# is a typo in the source, so the build stops instead of shipping it.
_EXPECTED_DAYS: Mapping[HolidayKind, int] = {
    HolidayKind.HERFST: 9,
    HolidayKind.KERST: 16,
    HolidayKind.VOORJAAR: 9,
    HolidayKind.MEI: 9,
    HolidayKind.ZOMER: 44,
}
_SATURDAY, _SUNDAY = 5, 6


@dataclass(frozen=True, slots=True, kw_only=True)
class Erratum:
    """A known error in one source row, corrected while deriving (and documented)."""

    row_id: str
    column: str
    wrong: str
    right: str
    reason: str


# Corrections to the source (openholidaysapi.data commit dd3dfa8). Each names the row
# by its Id and the exact wrong value: if the source changes that row, the build
# stops (or, when the source now has the right value, says the erratum is obsolete).
ERRATA: tuple[Erratum, ...] = (
    Erratum(
        row_id="81b673ef-0296-475d-9632-18389c9fceee",
        column="EndDate",
        wrong="2027-03-21",
        right="2027-02-21",
        reason=(
            "voorjaarsvakantie zuid 2027 is the week 13-21 Feb 2027 (ISO week 7, as in the "
            "holidays package's NL school calendar); the source's March end date makes it "
            "five weeks"
        ),
    ),
    Erratum(
        row_id="eb34a27b-2e8b-4580-9965-b647a8c00894",
        column="EndDate",
        wrong="2029-03-18",
        right="2029-02-18",
        reason=(
            "voorjaarsvakantie zuid 2029 is the week 10-18 Feb 2029 (ISO week 7, as in the "
            "holidays package's NL school calendar); the source's March end date makes it "
            "five weeks"
        ),
    ),
)


class SourceError(Exception):
    """The source data is not what this script understands; the message says where."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HolidayRow:
    """One line of ``school_holidays.csv``."""

    school_year: int
    region: Region
    kind: HolidayKind
    start: date
    end: date


@dataclass(frozen=True, slots=True, kw_only=True)
class MunicipalityRow:
    """One line of ``municipalities.csv``."""

    name: str
    province: str
    regions: tuple[Region, ...]


def main(argv: Sequence[str] | None = None) -> int:
    """Build the data files; exit code 0 on success, 1 when the source is not usable."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = _parser().parse_args(argv)
    try:
        written = build(
            source=args.source,
            out=args.out,
            first_year=args.first_year,
            last_year=args.last_year,
        )
    except SourceError as error:
        LOG.error("build_calendar: %s", error)
        return 1
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--first-year", type=int, default=FIRST_SCHOOL_YEAR)
    parser.add_argument("--last-year", type=int, default=LAST_SCHOOL_YEAR)
    return parser


def build(*, source: Path, out: Path, first_year: int, last_year: int) -> list[Path]:
    """Read the source folder and write the derived files into ``out``.

    Returns:
        The files written, in a fixed order.

    Raises:
        SourceError: a row the script does not understand, a missing holiday, a
            holiday of an unexpected length or an erratum that no longer matches.
    """
    if first_year > last_year:
        raise SourceError(f"first year {first_year} is after last year {last_year}")
    all_rows = list(read_school_holidays(source / "holidays.school.csv"))
    _check_previous_summer(all_rows, first_year=first_year)
    holidays = [row for row in all_rows if first_year <= row.school_year <= last_year]
    _check_complete(holidays, first_year=first_year, last_year=last_year)
    municipalities = read_municipalities(source / "subdivisions.csv")

    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write_csv(
            out / SCHOOL_HOLIDAYS_FILE,
            header=("school_year", "region", "kind", "start", "end"),
            rows=(_holiday_line(row) for row in sorted(holidays, key=_holiday_order)),
        ),
        _write_csv(
            out / MUNICIPALITIES_FILE,
            header=("name", "province", "region"),
            rows=(
                (row.name, row.province, "|".join(region.value for region in row.regions))
                for row in sorted(municipalities, key=_municipality_order)
            ),
        ),
    ]
    shutil.copyfile(source / LICENSE_FILE, out / LICENSE_FILE)
    written.append(out / LICENSE_FILE)
    LOG.info(
        "%d school holidays (%s to %s), %d municipalities",
        len(holidays),
        school_year_label(first_year),
        school_year_label(last_year),
        len(municipalities),
    )
    return written


def read_school_holidays(path: Path) -> Iterator[HolidayRow]:
    """Every region's holidays from ``holidays.school.csv``, errata applied."""
    pending = {erratum.row_id: erratum for erratum in ERRATA}
    for line, record in _records(path):
        record = _apply_erratum(record, pending.pop(record["Id"], None), line=line)
        if record["Country"] != "NL" or record["Type"] != "School":
            raise SourceError(f"{path.name}:{line}: not a Dutch school holiday")
        kind = _kind(record["Name"], where=f"{path.name}:{line}")
        start, end = _day(record["StartDate"], line=line), _day(record["EndDate"], line=line)
        _check_shape(kind=kind, start=start, end=end, where=f"{path.name}:{line}")
        for code in record["Groups"].split(","):
            region = _REGION_CODES.get(code.strip())
            if region is None:
                raise SourceError(f"{path.name}:{line}: unknown region group {code!r}")
            yield HolidayRow(
                school_year=school_year_of(start), region=region, kind=kind, start=start, end=end
            )
    if pending:
        raise SourceError(f"errata for rows not in the source: {sorted(pending)}")


def read_municipalities(path: Path) -> list[MunicipalityRow]:
    """The municipalities of ``subdivisions.csv`` with their province and region(s)."""
    records = list(_records(path))
    provinces = {
        record["ShortName"]: _dutch_name(record["Name"])
        for _, record in records
        if _category(record) == "provincie"
    }
    municipalities: list[MunicipalityRow] = []
    for line, record in records:
        if _category(record) != "gemeente":
            continue
        province = provinces.get(record["Parent"])
        if province is None:
            raise SourceError(f"{path.name}:{line}: unknown province {record['Parent']!r}")
        codes = [code.strip() for code in record["Groups"].split(",")]
        if any(code not in _REGION_CODES for code in codes):
            raise SourceError(f"{path.name}:{line}: unknown region group in {codes}")
        regions = tuple(region for region in Region if region in {_REGION_CODES[c] for c in codes})
        municipalities.append(
            MunicipalityRow(
                name=_municipality_name(_dutch_name(record["Name"])),
                province=province,
                regions=regions,
            )
        )
    return municipalities


def _records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a ``;``-separated OpenHolidays file (UTF-8, BOM or not) with line numbers."""
    if not path.is_file():
        raise SourceError(f"missing source file {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from enumerate(csv.DictReader(handle, delimiter=";"), start=2)


def _apply_erratum(
    record: dict[str, str], erratum: Erratum | None, *, line: int
) -> dict[str, str]:
    if erratum is None:
        return record
    found = record[erratum.column]
    if found == erratum.right:
        LOG.warning("erratum for row %s is obsolete: the source has been fixed", erratum.row_id)
        return record
    if found != erratum.wrong:
        raise SourceError(
            f"holidays.school.csv:{line}: erratum expects {erratum.column}={erratum.wrong}, "
            f"found {found}: review the erratum"
        )
    LOG.info("corrected row %s: %s %s -> %s", erratum.row_id, erratum.column, found, erratum.right)
    return {**record, erratum.column: erratum.right}


def _kind(names: str, *, where: str) -> HolidayKind:
    dutch = _dutch_name(names)
    kind = _KIND_NAMES.get(dutch)
    if kind is None:
        raise SourceError(f"{where}: unknown holiday name {dutch!r}")
    return kind


def _dutch_name(names: str) -> str:
    """``"NL Kerstvakantie,DE Weihnachtsferien,EN ..."`` -> ``"Kerstvakantie"``."""
    for part in names.split(","):
        if part.startswith("NL "):
            return part[3:].strip()
    raise SourceError(f"no Dutch name in {names!r}")


def _category(record: Mapping[str, str]) -> str:
    return _dutch_name(record["Category"])


def _municipality_name(name: str) -> str:
    """The source writes ``Den Haag('s-Gravenhage)``; the bot knows the other name as an alias."""
    return name.split("(", 1)[0].strip() if name.endswith(")") else name


def _day(text: str, *, line: int) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise SourceError(f"holidays.school.csv:{line}: bad date {text!r}") from error


def _check_shape(*, kind: HolidayKind, start: date, end: date, where: str) -> None:
    days = (end - start).days + 1
    if start.weekday() != _SATURDAY or end.weekday() != _SUNDAY or days != _EXPECTED_DAYS[kind]:
        raise SourceError(
            f"{where}: {kind.value} {start}..{end} is {days} days; expected Saturday to Sunday, "
            f"{_EXPECTED_DAYS[kind]} days (add an erratum if the source is wrong)"
        )


def _check_complete(rows: Iterable[HolidayRow], *, first_year: int, last_year: int) -> None:
    """Each region has each kind once per school year, and no two holidays overlap."""
    seen: dict[tuple[int, Region, HolidayKind], HolidayRow] = {}
    for row in rows:
        key = (row.school_year, row.region, row.kind)
        if key in seen:
            raise SourceError(
                f"two {row.kind.value} holidays in {row.region.value} {row.school_year}"
            )
        seen[key] = row
    for year in range(first_year, last_year + 1):
        for region in Region:
            for kind in HolidayKind:
                if (year, region, kind) not in seen:
                    raise SourceError(
                        f"no {kind.value} for {region.value} in {school_year_label(year)}"
                    )
    for region in Region:
        ordered = sorted((r for r in seen.values() if r.region is region), key=lambda r: r.start)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.start <= before.end:
                raise SourceError(f"{region.value}: {before} overlaps {after}")


def _check_previous_summer(rows: Iterable[HolidayRow], *, first_year: int) -> None:
    """The bot's calendar starts on 1 September of the first year: no summer may run on.

    The previous school year is not shipped, so this is checked here, where it is known.
    """
    first_day = date(first_year, 9, 1)
    summers = {
        row.region: row.end
        for row in rows
        if row.school_year == first_year - 1 and row.kind is HolidayKind.ZOMER
    }
    for region in Region:
        end = summers.get(region)
        if end is None:
            raise SourceError(f"no zomer {region.value} {school_year_label(first_year - 1)}")
        if end >= first_day:
            raise SourceError(f"zomer {region.value} ends {end}, after {first_day}")


def _holiday_order(row: HolidayRow) -> tuple[int, int, int]:
    kinds, regions = list(HolidayKind), list(Region)
    return row.school_year, kinds.index(row.kind), regions.index(row.region)


def _holiday_line(row: HolidayRow) -> tuple[str, ...]:
    return (
        school_year_label(row.school_year),
        row.region.value,
        row.kind.value,
        row.start.isoformat(),
        row.end.isoformat(),
    )


def _municipality_order(row: MunicipalityRow) -> tuple[str, str, str]:
    folded = unicodedata.normalize("NFKD", row.name.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return plain, row.name, row.province


def _write_csv(path: Path, *, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    """UTF-8 without BOM, ``\\n`` line ends, minimal quoting: the same bytes on every OS."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


if __name__ == "__main__":
    sys.exit(main())
