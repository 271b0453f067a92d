"""Dutch and English plurals: no "1 leraren", "1 collega's", "1 teachers" anywhere.

Every text that states a number of things is a plural table in the catalogue,
chosen by ``count``. Three checks: every plural table renders right for 0, 1 and
2 in both languages; every table has the forms Dutch and English need; and a
whole flow of a team of one (one member, one pupil, one teacher) is read for
singular numbers with plural nouns.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from conversations.core.i18n import LOCALE_DIR, Catalogue, available_locales, is_plural_table
from conversations.core.messages import Outbound, Where
from tests.testbot import TestBot

_PLURAL_NOUNS = (
    # Dutch
    "leraren|collega's|teamleden|leden|leerlingen|vragen|dagen|schooldagen|weken|maanden"
    "|antwoorden|cijfers|rondes|ronden|deelnames|coördinatorrollen|quickscans|personen"
    "|tekens|uitspraken|scores|stemmen|mentoren|ouders|prioriteiten|stappen"
    # English
    "|teachers|colleagues|members|pupils|questions|days|weeks|months|answers|grades"
    "|rounds|participations|roles|people|characters|statements|scores|votes|mentors"
    "|priorities|steps"
)
_SINGULAR_NOUNS = (
    "leraar|collega|teamlid|lid|leerling|vraag|dag|schooldag|week|maand|antwoord|cijfer"
    "|ronde|deelname|coördinatorrol|persoon|teken|uitspraak|stem|mentor|prioriteit|stap"
    "|teacher|colleague|member|pupil|question|day|month|answer|grade|round|participation"
    "|role|person|character|statement|vote|priority|step"
)
# "1 leraren", "1 uitgenodigde teamleden" (one adjective may come between), "1 colleagues".
ONE_WITH_PLURAL = re.compile(rf"(?<![\d.,\-−+])\b1 (?:\w+ )?(?:{_PLURAL_NOUNS})(?![\w'])")
# "2 leraar", "3 teacher"; "2 van 3" is no noun.
MANY_WITH_SINGULAR = re.compile(
    rf"(?<![\d.,\-−+])\b[02-9] (?:\w+ )?(?:{_SINGULAR_NOUNS})(?![\w'])"
)


def _tables(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, str]]]:
    for name, value in node.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and is_plural_table(value):
            yield key, value
        elif isinstance(value, Mapping):
            yield from _tables(value, f"{key}.")


def plural_tables(locale: str) -> dict[str, Mapping[str, str]]:
    """Every plural table of one locale's catalogue (main file and parts), by key."""
    found: dict[str, Mapping[str, str]] = {}
    for path in [LOCALE_DIR / f"{locale}.toml", *sorted(LOCALE_DIR.glob(f"{locale}.*.toml"))]:
        with path.open("rb") as handle:
            found.update(_tables(tomllib.load(handle)))
    return found


CASES = [(locale, key) for locale in ("nl", "en") for key in sorted(plural_tables(locale))]


def _placeholders(forms: Mapping[str, str]) -> set[str]:
    return {
        field.split(".")[0].split("[")[0]
        for form in forms.values()
        for _text, field, _spec, _conversion in string.Formatter().parse(form)
        if field
    }


def test_there_are_plural_tables_to_check() -> None:
    # The texts converted for issue 12, among them: a table per counted noun.
    for key in ("checklist.team_participation", "start.announce", "privacy.forget_pupils"):
        assert key in plural_tables("nl")
        assert key in plural_tables("en")


@pytest.mark.parametrize(("locale", "key"), CASES)
@pytest.mark.parametrize("count", [0, 1, 2])
def test_every_plural_text_agrees_with_its_number(locale: str, key: str, count: int) -> None:
    forms = plural_tables(locale)[key]
    values: dict[str, object] = {name: "X" for name in _placeholders(forms)}
    values["count"] = count

    text = Catalogue(locale).t(key, **values)

    assert not ONE_WITH_PLURAL.search(text), text
    assert not MANY_WITH_SINGULAR.search(text), text


@pytest.mark.parametrize("locale", available_locales())
def test_every_plural_table_has_the_forms_dutch_and_english_need(locale: str) -> None:
    for key, forms in plural_tables(locale).items():
        assert {"one", "other"} <= set(forms), (locale, key)
        assert _placeholders({"x": forms["one"]}) <= _placeholders({"x": forms["other"]}) | {
            "count"
        }, (locale, key)


def test_dutch_and_english_count_the_same_texts() -> None:
    assert set(plural_tables("nl")) == set(plural_tables("en"))


def test_a_plural_text_without_a_count_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="count"):
        Catalogue("nl").t("checklist.team_participation", took_part=1)


# ----------------------------------------------------- a team of one, end to end


@pytest.fixture
def testbot_members() -> tuple[str, ...]:
    """A team of one: every count the bot states is 1."""
    return ("anna",)


def _texts(messages: list[Outbound]) -> list[str]:
    return [part for m in messages for part in (m.text, m.details or "") if part]


def _walk_through_the_quickscan(testbot: TestBot) -> list[Outbound]:
    said = testbot.say("anna", "start")
    for _ in range(48):
        said += testbot.say("anna", "+")
    for grade in ("7", "8", "6"):
        said += testbot.say("anna", grade)
    for _ in range(3):
        said += testbot.say("anna", "overslaan")
    return said + testbot.say("anna", "versturen")


def test_a_team_of_one_reads_the_singular_everywhere(testbot: TestBot) -> None:
    team, dm = Where.TEAM, Where.DM
    said: list[Outbound] = []
    started = testbot.say("anna", "/quickscan start", where=team)
    said += started
    said += _walk_through_the_quickscan(testbot)
    said += testbot.say("anna", "/quickscan status", where=team)
    said += testbot.say("anna", "/quickscan regio midden", where=team)
    said += testbot.say("anna", "/quickscan planning ronde2_weken 1", where=team)
    said += testbot.say("anna", "/quickscan planning herinnering_dagen 1", where=team)
    said += testbot.say("anna", "/quickscan planning", where=team)
    said += testbot.say("anna", "/quickscan kalender", where=team)
    said += testbot.say("anna", "/quickscan help", where=team)
    said += testbot.say("anna", "/quickscan sluit", where=team)
    said += testbot.say("anna", "/quickscan checklist", where=team)
    said += testbot.say("anna", "/checklist klas\nAB\nklaar", where=dm)
    said += testbot.say("anna", "/checklist leerlingen", where=dm)
    opened = testbot.say("anna", "/quickscan checklist start 1", where=team)
    said += opened
    said += testbot.say("anna", "/checklist invullen", where=dm)
    said += testbot.say("anna", "3 3 3 3 3 3", where=dm)
    said += testbot.say("anna", "/checklist invullen", where=dm)
    said += testbot.say("anna", "later", where=dm)
    said += testbot.say("anna", "/quickscan checklist status", where=team)
    said += testbot.say("anna", "/checklist export", where=dm)
    closed = testbot.say("anna", "/quickscan checklist sluit", where=team)
    said += closed
    said += testbot.say("anna", "/checklist wis", where=dm)
    forgotten = testbot.say("anna", "/quickscan vergeet-mij bevestig", where=team)
    said += forgotten

    everything = "\n".join(_texts(said))
    assert ONE_WITH_PLURAL.findall(everything) == []
    # The texts converted here say it in the singular (the scan above is not vacuous).
    assert "1 teamlid krijgt een privébericht" in "\n".join(_texts(started))
    assert "1 leraar krijgt een privébericht" in "\n".join(_texts(opened))
    assert "Deelname: 1 van 1 leraar." in "\n".join(_texts(closed))
    assert "Je klas staat erin: 1 leerling." in everything
    assert "Je klassenlijst: 1 leerling, 1 ronde." in everything
    assert "1 leraar doet mee" in everything
    assert "1 deelname met " in "\n".join(_texts(forgotten))
    assert "1 coördinatorrol" in "\n".join(_texts(forgotten))


def test_the_same_team_of_one_in_english(testbot: TestBot) -> None:
    said = testbot.say("anna", "/quickscan start", where=Where.TEAM)
    said += testbot.say("anna", "/quickscan language en", where=Where.TEAM)
    said += testbot.say("anna", "/quickscan checklist", where=Where.TEAM)
    said += testbot.say("anna", "/checklist klas\nAB\nklaar")
    said += testbot.say("anna", "/quickscan checklist start 1", where=Where.TEAM)
    said += testbot.say("anna", "/quickscan checklist status", where=Where.TEAM)
    said += testbot.say("anna", "/quickscan checklist close", where=Where.TEAM)
    said += testbot.say("anna", "/quickscan help", where=Where.TEAM)

    everything = "\n".join(_texts(said))
    assert ONE_WITH_PLURAL.findall(everything) == []
    assert "1 teacher gets a private message" in everything
    assert "Participation: 0 of 1 teacher." in everything
