"""The school calendar's terms: regions, school holidays and school years, also as typed.

Coordinators type a region ("Regio Zuid", "south"), a holiday ("Herfstvakantie",
"carnaval") or a school year ("2026/27"); the calendar, the planner and the
commands all read them here, so they agree on what a word means. Nothing here
reads the clock: callers pass the day.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

SCHOOL_YEAR_FIRST_MONTH = 8
"""The school year turns on 1 August: the one rule, for holidays, plans and overviews.

A holiday starting in August or later belongs to the school year starting that
calendar year; one starting before August (voorjaar, mei, zomer) to the one before.
"""


class CalendarError(ValueError):
    """A question the calendar cannot answer (unknown name, bad argument); says why."""


class OutOfRangeError(CalendarError):
    """A date or school year outside the data that ships with the bot."""


class Region(Enum):
    """The three school holiday regions of the Netherlands."""

    NOORD = "noord"
    MIDDEN = "midden"
    ZUID = "zuid"


class HolidayKind(Enum):
    """The five school holidays, in school-year order."""

    HERFST = "herfst"
    KERST = "kerst"
    VOORJAAR = "voorjaar"
    MEI = "mei"
    ZOMER = "zomer"


@dataclass(frozen=True, slots=True, kw_only=True)
class Holiday:
    """One school holiday of one region; ``start`` and ``end`` are both holiday days."""

    region: Region
    kind: HolidayKind
    school_year: int
    start: date
    end: date
    overridden: bool = False

    @property
    def school_year_label(self) -> str:
        """The school year as people write it, e.g. ``2026-2027``."""
        return school_year_label(self.school_year)

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in this holiday (both ends included)."""
        return self.start <= day <= self.end


def school_year_of(day: date) -> int:
    """The first calendar year of the school year ``day`` (a school-time day) falls in.

    Holidays are filed by their start: a summer holiday starting in July 2027 ends the
    school year 2026-2027, a herfstvakantie in October 2027 opens 2027-2028. The
    planner and the overviews ask the same of the day of a moment in school time.
    """
    return day.year if day.month >= SCHOOL_YEAR_FIRST_MONTH else day.year - 1


def school_year_label(start_year: int) -> str:
    """``2026`` -> ``"2026-2027"``, the form of the data file and of Dutch school papers."""
    return f"{start_year}-{start_year + 1}"


def parse_school_year(text: str) -> int:
    """The first year of a school year written as ``2026-2027``, ``2026/27`` or ``2026``.

    Raises:
        CalendarError: not a school year, or the two years do not follow each other.
    """
    match = re.fullmatch(r"\s*(\d{4})\s*(?:[-/]\s*(\d{2}|\d{4}))?\s*", text)
    if match is None:
        raise CalendarError(f"not a school year: {text!r} (write e.g. 2026-2027)")
    first = int(match[1])
    if match[2] is not None and int(match[2]) % 100 != (first + 1) % 100:
        raise CalendarError(f"not a school year: {text!r} (the years must follow each other)")
    return first


_REGION_WORDS: Mapping[str, Region] = {
    "noord": Region.NOORD,
    "north": Region.NOORD,
    "no": Region.NOORD,
    "midden": Region.MIDDEN,
    "middle": Region.MIDDEN,
    "central": Region.MIDDEN,
    "centre": Region.MIDDEN,
    "center": Region.MIDDEN,
    "mi": Region.MIDDEN,
    "zuid": Region.ZUID,
    "south": Region.ZUID,
    "zu": Region.ZUID,
}
_KIND_WORDS: Mapping[str, HolidayKind] = {
    "herfst": HolidayKind.HERFST,
    "autumn": HolidayKind.HERFST,
    "fall": HolidayKind.HERFST,
    "kerst": HolidayKind.KERST,
    "christmas": HolidayKind.KERST,
    "xmas": HolidayKind.KERST,
    "voorjaar": HolidayKind.VOORJAAR,
    "voorjaars": HolidayKind.VOORJAAR,
    "krokus": HolidayKind.VOORJAAR,
    "carnaval": HolidayKind.VOORJAAR,
    "carnavals": HolidayKind.VOORJAAR,
    "spring": HolidayKind.VOORJAAR,
    "mei": HolidayKind.MEI,
    "may": HolidayKind.MEI,
    "zomer": HolidayKind.ZOMER,
    "summer": HolidayKind.ZOMER,
}


def parse_region(text: str) -> Region:
    """A region from what a coordinator types: ``zuid``, ``Regio Zuid``, ``south``, ``ZU``.

    Raises:
        CalendarError: not one of the three regions.
    """
    word = fold(text)
    for prefix in ("regio", "region"):
        if word.startswith(prefix) and word != prefix:
            word = word.removeprefix(prefix)
    region = _REGION_WORDS.get(word)
    if region is None:
        raise CalendarError(f"unknown region {text!r}: use noord, midden or zuid")
    return region


def parse_holiday_kind(text: str) -> HolidayKind:
    """A holiday from ``herfst``, ``Herfstvakantie``, ``autumn holiday``, ``carnaval`` etc.

    Raises:
        CalendarError: not one of the five school holidays.
    """
    word = fold(text)
    for suffix in ("vakantie", "holidays", "holiday", "break"):
        if word.endswith(suffix) and word != suffix:
            word = word.removesuffix(suffix)
            break
    kind = _KIND_WORDS.get(word)
    if kind is None:
        raise CalendarError(
            f"unknown school holiday {text!r}: use herfst, kerst, voorjaar, mei or zomer"
        )
    return kind


def weeks_before(day: date, *, n: int) -> date:
    """The same weekday ``n`` weeks earlier (``n`` may be 0); plain date arithmetic."""
    if n < 0:
        raise CalendarError(f"weeks_before needs n >= 0, got {n}")
    return day - timedelta(weeks=n)


def fold(text: str) -> str:
    """Lower case, no accents, letters and digits only: "'s-Hertogenbosch" -> "shertogenbosch"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())
