"""Immutable records the repositories hand out.

The engine never sees ORM objects: a record is a snapshot, so nothing outside
storage can change a row by accident or trigger a lazy load after the session
closed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from storage.keys import ConversationKey, TeamKey

DEFAULT_MIN_RESPONDENTS = 5
MIN_RESPONDENTS_FLOOR = 3
DEFAULT_MIN_TEXT_RESPONDENTS = 5


class RoundStatus(enum.StrEnum):
    """Whether a round still accepts answers."""

    OPEN = "open"
    CLOSED = "closed"


class ParticipationState(enum.StrEnum):
    """Where a member is in the private walkthrough (the conversation FSM state)."""

    INVITED = "invited"  # intro sent, nothing answered yet
    ANSWERING = "answering"  # position = index of the question on screen
    PAUSED = "paused"  # chose "later"; any message resumes
    GRADES = "grades"  # position = index of the cluster whose grade is asked
    OPEN_QUESTIONS = "open_questions"  # position = index of the open question
    REVIEW = "review"  # summary shown, waiting for "versturen"
    SUBMITTED = "submitted"  # sent; may reopen while the round is open


@dataclass(frozen=True, slots=True)
class Team:
    """A team and its settings."""

    id: int
    key: TeamKey
    locale: str
    min_respondents: int
    min_text_respondents: int
    created_at: datetime
    label_rules: Mapping[str, float] = field(default_factory=dict)
    region: str | None = None
    holiday_overrides: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    plan_settings: Mapping[str, int] = field(default_factory=dict)
    # False: the team wants no checklist oudercontact rounds (nothing planned, nothing posted).
    checklist_enabled: bool = True


@dataclass(frozen=True, slots=True)
class Round:
    """One quickscan round of a team."""

    id: int
    team_id: int
    instrument_id: str
    status: RoundStatus
    opened_by: str
    opened_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    join_token: str | None = None


@dataclass(frozen=True, slots=True)
class Participation:
    """One member's walkthrough in one round."""

    id: int
    round_id: int
    key: ConversationKey
    display_name: str
    state: ParticipationState
    position: int
    invited_at: datetime
    started_at: datetime | None
    submitted_at: datetime | None
    unreachable_at: datetime | None = None
    version: int = 0  # what ``save_progress(expected_version=…)`` must still find


@dataclass(frozen=True, slots=True)
class RoundCounts:
    """Participation figures: never tied to names."""

    invited: int
    started: int
    finished: int


class RoundAlreadyOpenError(Exception):
    """A team can have only one open round; the database enforces it."""


class RoundNotOpenError(Exception):
    """The round was closed (or never existed) when a change was attempted."""
