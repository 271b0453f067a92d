"""Words people type, read from the catalogue (``locale/<locale>.words.toml``).

Command words and the walkthrough's navigation words used to be hard-coded in
several modules; now a translation adds its words where it adds its texts. The
words of *every* locale are accepted, whatever the team's language: a Dutch team
with one English-speaking colleague keeps working, as it always did.
"""

from __future__ import annotations

from functools import cache

from conversations.core.i18n import Catalogue, available_locales

SEPARATOR = "|"


def normalise(text: str) -> str:
    """Lower case with single spaces: how typed text and catalogue words are compared."""
    return " ".join(text.lower().split())


@cache
def words_of(key: str) -> frozenset[str]:
    """The words of catalogue ``key`` in every locale, normalised.

    Cached: the catalogue files do not change while the bot runs.

    Raises:
        KeyError: ``key`` is in no catalogue (a programming error).
    """
    return frozenset(
        word
        for locale in available_locales()
        for raw in Catalogue(locale).t(key).split(SEPARATOR)
        if (word := normalise(raw))
    )
