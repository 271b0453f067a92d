"""Immutable records of the team's plan and its support question."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from storage.keys import TeamKey


class Vote(enum.StrEnum):
    """A member's answer to the support question ("draagvlak")."""

    STEUN = "steun"
    TWIJFEL = "twijfel"
    GEEN = "geen"


class StepAnswer(enum.StrEnum):
    """The owner's answer on the plan's date: was the first step taken?"""

    GEDAAN = "gedaan"
    DEELS = "deels"
    NOG_NIET = "nog_niet"


PARTS = ("factors", "step", "owner", "date")
"""What agreement needs, in the order the coordinator is told (before a plan exists: all)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A team's plan in answer to one closed round.

    Attributes:
        id: The plan's id (in button payloads; always checked against the team).
        team: The team.
        team_id: The team's row id (stable ping ids).
        round_id: The closed round the plan answers.
        factors: The chosen success factors, most important first.
        step: The first step, as the coordinator wrote it (cleaned).
        owner_ref: Who carries the step (a platform user id).
        owner_name: Their name as the roster showed it.
        due_date: By when (a school day).
        next_round_date: The next round's day, once chosen or fixed at agreement.
        next_round_chosen: The coordinator chose it (else the rule made it).
        agreed_at: When last agreed (``plan vaststellen``); None while a draft.
        agreed_by: The coordinator who agreed it.
        agreed_by_name: Their name then.
        changed: Changed since the last agreement.
        support_round: Number of the latest support question (0: never asked).
        support_open: The support question accepts votes.
        support_counts: The frozen share of the last closed question, per vote.
        followup_answer: The owner's answer, once given.
    """

    id: int
    team: TeamKey
    team_id: int
    round_id: int
    factors: tuple[int, ...] = ()
    step: str | None = None
    owner_ref: str | None = None
    owner_name: str | None = None
    due_date: date | None = None
    next_round_date: date | None = None
    next_round_chosen: bool = False
    agreed_at: datetime | None = None
    agreed_by: str | None = None
    agreed_by_name: str | None = None
    changed: bool = False
    support_round: int = 0
    support_open: bool = False
    support_counts: Mapping[Vote, int] | None = field(default=None)
    followup_answer: StepAnswer | None = None

    @property
    def agreed(self) -> bool:
        """Whether the team agreed the plan (at least once)."""
        return self.agreed_at is not None

    def missing(self) -> tuple[str, ...]:
        """What agreement still needs: ``factors``, ``step``, ``owner``, ``date``."""
        parts = {
            "factors": bool(self.factors),
            "step": bool(self.step),
            "owner": bool(self.owner_ref),
            "date": self.due_date is not None,
        }
        return tuple(name for name in PARTS if not parts[name])
