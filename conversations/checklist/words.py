"""The words the checklist understands, read from the catalogue (``*.words-checklist.toml``).

The ``/checklist`` subcommands, the navigation words a teacher may type instead
of pressing a button, and the words after ``/quickscan checklist`` used to be
hard-coded; now a translation adds its words where it adds its texts. The words
of every locale are accepted whatever the team's language, as they always were.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from conversations.quickscan.words import normalise, words_of


class Sub(enum.StrEnum):
    """A ``/checklist`` subcommand in the teacher's DM."""

    CLASS = "class"
    LIST = "list"
    REMOVE = "remove"
    WIPE = "wipe"
    EXPORT = "export"
    FILL = "fill"
    HELP = "help"
    KEEP = "keep"


class Nav(enum.StrEnum):
    """A word typed instead of a button (or to end a list, or to say "no")."""

    DONE = "done"
    NEXT = "next"
    LATER = "later"
    BACK = "back"
    STEP = "step"
    SKIP = "skip"
    OFF = "off"


class TeamWord(enum.StrEnum):
    """A word after ``/quickscan checklist`` in the team channel (start is ``words.arg``)."""

    CLOSE = "close"
    STATUS = "status"
    HELP = "help"
    ON = "on"  # the team's checklist rounds switched on again (coordinator)
    OFF = "off"  # ... or off: a team that only wants the quickscan


def is_word(text: str, *, nav: Nav) -> bool:
    """Whether the typed ``text`` is one of ``nav``'s words (case and spaces ignored)."""
    return normalise(text) in words_of(f"words.checklist.nav.{nav.value}")


def team_words(word: TeamWord) -> frozenset[str]:
    """The words for ``word`` after ``/quickscan checklist``, in every locale."""
    return words_of(f"words.checklist.team.{word.value}")


def subcommand(word: str) -> Sub | None:
    """The subcommand a typed word names, or None when it names none."""
    return _subcommands().get(normalise(word))


@cache
def _subcommands() -> Mapping[str, Sub]:
    """Every word to its subcommand; one word naming two subcommands is a catalogue error."""
    table: dict[str, Sub] = {}
    for sub in Sub:
        for word in words_of(f"words.checklist.sub.{sub.value}"):
            if table.setdefault(word, sub) is not sub:
                raise ValueError(f"{word!r} names both {table[word]} and {sub}")
    return MappingProxyType(table)
