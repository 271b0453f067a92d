"""The checklist's words come from the catalogue, and every word that worked still works."""

from __future__ import annotations

import pytest

from conversations.checklist.words import Nav, Sub, TeamWord, is_word, subcommand, team_words
from conversations.core.i18n import available_locales, catalogue_keys

# The words the checklist understood when they were still written in its code.
SUBCOMMANDS = {
    "klas": Sub.CLASS,
    "class": Sub.CLASS,
    "leerlingen": Sub.LIST,
    "lijst": Sub.LIST,
    "pupils": Sub.LIST,
    "list": Sub.LIST,
    "verwijder": Sub.REMOVE,
    "remove": Sub.REMOVE,
    "wis": Sub.WIPE,
    "wissen": Sub.WIPE,
    "wipe": Sub.WIPE,
    "erase": Sub.WIPE,
    "export": Sub.EXPORT,
    "exporteer": Sub.EXPORT,
    "invullen": Sub.FILL,
    "vul": Sub.FILL,
    "fill": Sub.FILL,
    "start": Sub.FILL,
    "help": Sub.HELP,
    "hulp": Sub.HELP,
    "bewaar": Sub.KEEP,
    "bewaren": Sub.KEEP,
    "keep": Sub.KEEP,
}
NAVIGATION = {
    Nav.DONE: {"klaar", "done", "gereed", "stop"},
    Nav.NEXT: {"klaar", "volgende", "verder", "next", "done", "volgende leerling"},
    Nav.LATER: {"later", "pauze", "pause", "stop"},
    Nav.BACK: {"vorige", "terug", "back", "previous", "vorige leerling"},
    Nav.STEP: {"verbeterstap", "stap", "step", "verbeterstap toevoegen"},
    Nav.SKIP: {"-", "overslaan", "sla over", "skip", "annuleer", "cancel"},
    Nav.OFF: {"uit", "off", "nee", "no", "niet"},
}
TEAM_WORDS = {
    TeamWord.CLOSE: {"sluit", "close", "afsluiten"},
    TeamWord.STATUS: {"status", "stand"},
    TeamWord.HELP: {"help", "hulp"},
    TeamWord.ON: {"aan", "on"},
    TeamWord.OFF: {"uit", "off"},
}


def test_every_subcommand_word_still_names_its_subcommand() -> None:
    assert {word: subcommand(word) for word in SUBCOMMANDS} == SUBCOMMANDS
    assert subcommand("KLAS") is Sub.CLASS  # typed in capitals
    assert subcommand("klassen") is None
    assert subcommand("") is None


@pytest.mark.parametrize("nav", list(Nav))
def test_navigation_words_are_the_ones_teachers_learnt(nav: Nav) -> None:
    for word in NAVIGATION[nav]:
        assert is_word(word, nav=nav), word
        assert is_word(f"  {word.upper()} ", nav=nav), word  # case and spaces do not matter
    others = set().union(*NAVIGATION.values()) - NAVIGATION[nav]
    assert not any(is_word(word, nav=nav) for word in others)
    assert not is_word("", nav=nav)


def test_team_words_are_the_ones_coordinators_learnt() -> None:
    assert {word: set(team_words(word)) for word in TeamWord} == TEAM_WORDS


def test_every_locale_defines_the_same_checklist_words() -> None:
    """A translation that forgets a word would silently fall back to Dutch only."""
    keys = {
        locale: {key for key in catalogue_keys(locale) if key.startswith("words.checklist.")}
        for locale in available_locales()
    }
    expected = (
        {f"words.checklist.sub.{sub.value}" for sub in Sub}
        | {f"words.checklist.nav.{nav.value}" for nav in Nav}
        | {f"words.checklist.team.{word.value}" for word in TeamWord}
    )
    assert keys == dict.fromkeys(available_locales(), expected)
