"""Parsing of ``/quickscan <sub>`` in the team channel.

Dutch subcommands are canonical; English aliases map to the same command so a
team can use either without configuration.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


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
    MIJN_GEGEVENS = "mijn-gegevens"
    VERGEET_MIJ = "vergeet-mij"


ALIASES: dict[str, Sub] = {
    "start": Sub.START,
    "begin": Sub.START,
    "status": Sub.STATUS,
    "stand": Sub.STATUS,
    "sluit": Sub.SLUIT,
    "close": Sub.SLUIT,
    "afsluiten": Sub.SLUIT,
    "help": Sub.HELP,
    "hulp": Sub.HELP,
    "coordinator": Sub.COORDINATOR,
    "coördinator": Sub.COORDINATOR,
    "minimum": Sub.MINIMUM,
    "min": Sub.MINIMUM,
    "taal": Sub.TAAL,
    "language": Sub.TAAL,
    "export": Sub.EXPORT,
    "exporteer": Sub.EXPORT,
    "grafiek": Sub.GRAFIEK,
    "chart": Sub.GRAFIEK,
    "drempel": Sub.DREMPEL,
    "drempels": Sub.DREMPEL,
    "threshold": Sub.DREMPEL,
    "thresholds": Sub.DREMPEL,
    "checklist": Sub.CHECKLIST,
    "regio": Sub.REGIO,
    "region": Sub.REGIO,
    "gemeente": Sub.GEMEENTE,
    "municipality": Sub.GEMEENTE,
    "vakantie": Sub.VAKANTIE,
    "holiday": Sub.VAKANTIE,
    "kalender": Sub.KALENDER,
    "calendar": Sub.KALENDER,
    "planning": Sub.PLANNING,
    "schedule": Sub.PLANNING,
    "mijn-gegevens": Sub.MIJN_GEGEVENS,
    "my-data": Sub.MIJN_GEGEVENS,
    "vergeet-mij": Sub.VERGEET_MIJ,
    "forget-me": Sub.VERGEET_MIJ,
}

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


# ``/quickscan checklist start 1`` opens a checklist round (bot/checklist_commands.py).
CHECKLIST_START_WORDS = frozenset({"start", "begin", "open"})


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
