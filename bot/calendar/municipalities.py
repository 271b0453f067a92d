"""Municipalities and their school holiday region: "Tilburg" -> zuid.

A team names its municipality rather than its region; the table
(``bot/calendar/data/municipalities.csv``) and the spellings people use ("Den
Bosch", "Bergen (NH)") are read here. A name that is unknown, ambiguous or split
over two regions gives no region, so the team names it itself instead of the bot
guessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from bot.calendar.data_files import MUNICIPALITIES_FILE, read_csv
from bot.calendar.vocabulary import CalendarError, Region, fold


@dataclass(frozen=True, slots=True, kw_only=True)
class Municipality:
    """A municipality and the school region(s) it belongs to (two for a few split ones)."""

    name: str
    province: str
    regions: tuple[Region, ...]

    @property
    def region(self) -> Region | None:
        """The region, or None when the municipality is split and the school must choose."""
        return self.regions[0] if len(self.regions) == 1 else None


# Common other spellings, folded (see ``_fold``), to the name in municipalities.csv.
_MUNICIPALITY_ALIASES: Mapping[str, str] = {
    "denbosch": "'s-Hertogenbosch",
    "hertogenbosch": "'s-Hertogenbosch",
    "sgravenhage": "Den Haag",
    "thehague": "Den Haag",
    "nuenen": "Nuenen c.a.",
    "nuenengerwenennederwetten": "Nuenen c.a.",
    "dantumadiel": "Dantumadeel",
    "tytsjerksteradiel": "Tietjerksteradeel",
    "defryskemarren": "De Friese Meren",
    "zuidwestfriesland": "Súdwest-Fryslân",
    "noordoostfriesland": "Noardeast-Fryslân",
}
# Abbreviations people add to tell two municipalities apart, e.g. "Bergen (NH)", "Bergen (L.)".
_PROVINCE_WORDS: Mapping[str, tuple[str, ...]] = {
    "Drenthe": ("dr",),
    "Flevoland": ("fl",),
    "Fryslân": ("fr", "fries", "friesland"),
    "Gelderland": ("ge", "gld", "gl"),
    "Groningen": ("gr", "gn"),
    "Limburg": ("li", "l", "lb", "lim"),
    "Noord-Brabant": ("nb", "br", "brabant"),
    "Noord-Holland": ("nh",),
    "Overijssel": ("ov",),
    "Utrecht": ("ut", "u"),
    "Zeeland": ("ze", "z", "zl"),
    "Zuid-Holland": ("zh",),
}
_QUALIFIED = re.compile(r"^(?P<name>.+?)\s*\((?P<province>[^()]+)\)\s*$")


def find_municipalities(name: str, *, province: str | None = None) -> tuple[Municipality, ...]:
    """The municipalities called ``name`` (ignoring case, accents, spaces and dashes).

    Accepts common other spellings ("Den Bosch", "'s-Gravenhage") and a province to
    tell namesakes apart, either as ``province`` or in the name: "Bergen (NH)",
    "Bergen (L.)", "Bergen Limburg". Usually one match; none when unknown, two for
    "Bergen" without a province.
    """
    index = _municipality_index()
    text = name.strip()
    if province is None and (match := _QUALIFIED.match(text)):
        text, province = match["name"], match["province"]
    key = _municipality_key(text)
    found = index.get(key, ())
    if not found and province is None and " " in text:
        head, _, tail = text.rpartition(" ")
        if _province_matches(tail, candidates=index.get(_municipality_key(head), ())):
            found, province = index[_municipality_key(head)], tail
    if province is not None:
        found = tuple(m for m in found if _is_province(province, of=m))
    return found


def region_for_municipality(name: str, *, province: str | None = None) -> Region | None:
    """The school region of a municipality, e.g. "Tilburg" -> zuid.

    Returns None when the name is unknown, names two municipalities (give the
    province) or the municipality is split over two regions (Altena, Montferland,
    Neder-Betuwe, De Ronde Venen): then the team must name its region itself.
    """
    found = find_municipalities(name, province=province)
    return found[0].region if len(found) == 1 else None


def _municipality_key(name: str) -> str:
    key = fold(name)
    if key.startswith("gemeente") and key != "gemeente":
        key = key.removeprefix("gemeente")
    alias = _MUNICIPALITY_ALIASES.get(key)
    return fold(alias) if alias is not None else key


def _province_matches(text: str, *, candidates: Iterable[Municipality]) -> bool:
    return any(_is_province(text, of=m) for m in candidates)


def _is_province(text: str, *, of: Municipality) -> bool:
    word = fold(text)
    return word == fold(of.province) or word in _PROVINCE_WORDS.get(of.province, ())


@cache
def _municipality_index() -> Mapping[str, tuple[Municipality, ...]]:
    index: dict[str, tuple[Municipality, ...]] = {}
    for line, record in read_csv(MUNICIPALITIES_FILE, header=("name", "province", "region")):
        try:
            regions = tuple(Region(value) for value in record["region"].split("|"))
        except ValueError as error:
            raise CalendarError(f"{MUNICIPALITIES_FILE.name}:{line}: {error}") from error
        municipality = Municipality(
            name=record["name"], province=record["province"], regions=regions
        )
        key = fold(municipality.name)
        index[key] = (*index.get(key, ()), municipality)
    return index
