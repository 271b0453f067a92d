"""Button payloads of the plan's private questions: compact, parseable, never trusted.

``pl:12:v:3:1`` is "plan 12, support question 3, vote 1 (steun)"; ``pl:12:f:20270315:2``
is "plan 12, the first step due 15-03-2027, answer 2 (deels)". The handler checks
that the plan belongs to the presser's workspace, that the presser was asked
(a vote) or carries the step (an answer), and that the question is still the
one on screen, so a forged or stale button changes nothing.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from conversations.core.limits import check_payload
from storage.plans.records import StepAnswer, Vote

PREFIX = "pl"
_PAYLOAD_RE = re.compile(r"pl:([1-9][0-9]{0,11}):([vf]):([0-9]{1,8}):([1-3])", re.ASCII)
VOTES = (Vote.STEUN, Vote.TWIJFEL, Vote.GEEN)
ANSWERS = (StepAnswer.GEDAAN, StepAnswer.DEELS, StepAnswer.NOG_NIET)


class Kind(enum.StrEnum):
    """Which question a button answers."""

    VOTE = "v"  # the support question: ref = the question's number
    FOLLOWUP = "f"  # the owner's follow-up: ref = the due date as yyyymmdd


@dataclass(frozen=True, slots=True)
class PlanAction:
    """A decoded plan button: which plan, which question, which choice (1-3)."""

    plan_id: int
    kind: Kind
    ref: int
    choice: int

    def encode(self) -> str:
        """The payload string, checked against the 64-byte platform limit."""
        return check_payload(f"{PREFIX}:{self.plan_id}:{self.kind.value}:{self.ref}:{self.choice}")

    @property
    def vote(self) -> Vote:
        """The vote of a support button."""
        return VOTES[self.choice - 1]

    @property
    def answer(self) -> StepAnswer:
        """The answer of a follow-up button."""
        return ANSWERS[self.choice - 1]


def is_plan_payload(payload: str | None) -> bool:
    """Whether a button press is the plan's (the DM route takes it, valid or not)."""
    return payload is not None and payload.startswith(f"{PREFIX}:")


def decode(payload: str) -> PlanAction | None:
    """The action of a payload, or None when it is malformed (forged or foreign)."""
    match = _PAYLOAD_RE.fullmatch(payload)
    if match is None:
        return None
    action = PlanAction(
        plan_id=int(match[1]), kind=Kind(match[2]), ref=int(match[3]), choice=int(match[4])
    )
    return action if action.encode() == payload else None
