"""Button payloads of the DM walkthrough: compact, parseable, never trusted.

A payload names the participation, the verb and the position it was shown for,
e.g. ``qs:12:a:7:3`` = "participation 12 answers option 3 on question 7". The
engine checks ownership (the platform-authenticated user must own participation
12) and freshness (the member must still be at position 7) before acting, so a
forged or stale button changes nothing.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from conversations.core.limits import check_payload

PREFIX = "qs"
# Only the canonical ASCII form that ``Action.encode`` writes: re.ASCII keeps out
# fullwidth and other non-ASCII digits, and ``fullmatch`` a trailing newline (which
# ``$`` would let through). The digit counts bound every number.
_PAYLOAD_RE = re.compile(r"qs:([0-9]{1,12}):([a-z]{1,2}):([0-9]{1,4})(?::([0-9]{1,3}))?", re.ASCII)


class Verb(enum.StrEnum):
    """What a button does."""

    GO = "go"  # start or resume the walkthrough
    ANSWER = "a"  # answer a question: arg = option index
    BACK = "b"  # previous step
    PAUSE = "p"  # "later"
    GRADE = "g"  # closing page grade: arg = the grade
    SKIP = "k"  # skip an optional open question
    SEND = "s"  # submit from the summary
    EDIT = "e"  # reopen after submitting


@dataclass(frozen=True, slots=True)
class Action:
    """A decoded button press or an interpreted text."""

    participation_id: int
    verb: Verb
    position: int
    arg: int | None = None

    def encode(self) -> str:
        """The payload string, checked against the 64-byte platform limit."""
        tail = "" if self.arg is None else f":{self.arg}"
        return check_payload(
            f"{PREFIX}:{self.participation_id}:{self.verb.value}:{self.position}{tail}"
        )


def decode(payload: str) -> Action | None:
    """The action of a payload, or None when it is malformed (forged or foreign)."""
    match = _PAYLOAD_RE.fullmatch(payload)
    if match is None:
        return None
    try:
        verb = Verb(match[2])
    except ValueError:
        return None
    arg = int(match[4]) if match[4] is not None else None
    action = Action(participation_id=int(match[1]), verb=verb, position=int(match[3]), arg=arg)
    # Canonical means exactly what encode() writes: no leading zeros either.
    return action if action.encode() == payload else None
