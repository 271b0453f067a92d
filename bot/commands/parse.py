"""Parsing of ``/quickscan <sub>`` in the team channel.

Dutch subcommands are canonical; the words for each (Dutch, English, and any
locale added later) come from the catalogue (``locale/<locale>.words.toml``), so a
team can use either language without configuration.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conversations.quickscan.words import words_of


class Sub(enum.StrEnum):
    """The canonical (Dutch) subcommands."""

    START = "start"
    STATUS = "status"
    SLUIT = "sluit"
    HELP = "help"
    COORDINATOR = "coordinator"
    MINIMUM = "minimum"
    TAAL = "taal"
    EXPORT = "export"
    GRAFIEK = "grafiek"
    DREMPEL = "drempel"
    CHECKLIST = "checklist"
    REGIO = "regio"
    GEMEENTE = "gemeente"
    VAKANTIE = "vakantie"
    KALENDER = "kalender"
    PLANNING = "planning"
    PLAN = "plan"
    MIJN_GEGEVENS = "mijn-gegevens"
    VERGEET_MIJ = "vergeet-mij"


def sub_words(sub: Sub) -> frozenset[str]:
    """The words that name ``sub``, in every locale (catalogue ``words.command.<name>``)."""
    return words_of(f"words.command.{sub.name.lower()}")


def arg_words(name: str) -> frozenset[str]:
    """Words after a subcommand, in every locale (catalogue ``words.arg.<name>``)."""
    return words_of(f"words.arg.{name}")


def _aliases() -> Mapping[str, Sub]:
    """Every word to its subcommand; one word naming two subcommands is a catalogue error."""
    table: dict[str, Sub] = {}
    for sub in Sub:
        for word in sub_words(sub):
            if table.setdefault(word, sub) is not sub:
                raise ValueError(f"{word!r} names both {table[word]} and {sub}")
    return MappingProxyType(table)


ALIASES: Mapping[str, Sub] = _aliases()

COMMAND_WORD = "/quickscan"
_COMMAND_RE = re.compile(r"^/quickscan(?:@\S+)?(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: ``sub`` is None when the word was not recognised."""

    word: str
    sub: Sub | None
    args: tuple[str, ...]


def is_command(text: str) -> bool:
    """Whether a team-channel message is addressed to the bot."""
    return _COMMAND_RE.match(text.strip()) is not None


def parse_command(text: str) -> Command:
    """Split ``/quickscan <sub> <args>``; no subcommand means help.

    Telegram appends ``@botname`` to commands in groups; that suffix is ignored.
    """
    match = _COMMAND_RE.match(text.strip())
    rest = (match.group("rest") or "") if match else text
    parts = rest.split()
    if not parts:
        return Command(word="help", sub=Sub.HELP, args=())
    word = parts[0].lower()
    return Command(word=parts[0], sub=ALIASES.get(word), args=tuple(parts[1:]))


# ``/quickscan checklist start 1`` opens a checklist round (bot/commands/checklist.py).
CHECKLIST_START_WORDS = arg_words("checklist_start")


def starts_a_round(command: Command) -> bool:
    """Whether the command opens a round (a quickscan or a checklist round).

    Where the platform names no admins, the first person to start a round becomes
    the team's coordinator; asking for help or the status must not make anyone one.
    """
    if command.sub is Sub.START:
        return True
    return (
        command.sub is Sub.CHECKLIST
        and bool(command.args)
        and command.args[0].lower() in CHECKLIST_START_WORDS
    )
