"""Immutable records of the checklist oudercontact, as ``ChecklistStore`` hands them out.

Pupil labels are personal data that must stay in the teacher's own DM. Every field
that holds one is left out of ``repr`` so a record that ends up in a log line, an
assertion message or a traceback never carries a label with it; errors name row
ids and line numbers instead.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from storage.keys import ConversationKey

ROUND_NUMBERS = (1, 2)
"""Round 1 before the herfstvakantie, round 2 after the kerstvakantie."""

LABEL_MAX_CHARS = 12
"""Room for initials or a code (conversations/pupil_codes.py has the whole rule); a longer
label is almost always a name or a mistake. Labels stored before the limit (up to 40)
stay readable and removable."""

STEP_MAX_CHARS = 500
"""A verbeterstap is one concrete next step, not a report."""


class TeacherState(enum.StrEnum):
    """Where a teacher is in the checklist DM (the conversation FSM state)."""

    IDLE = "idle"  # nothing in progress: only /checklist commands are for the checklist
    REGISTERING = "registering"  # every text line is a pupil until "klaar"
    SCORING = "scoring"  # pupil_id = the pupil on screen
    STEP = "step"  # the next text is the verbeterstap of pupil_id
    PAUSED = "paused"  # chose "later"; a message resumes at the first unfinished pupil
    CONFIRM_WIPE = "confirm_wipe"  # asked "wis alles?": waiting for the button


class ChecklistRoundStatus(enum.StrEnum):
    """Whether a checklist round still accepts scores."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Teacher:
    """A team member bound to the team's checklist, with their DM state.

    Attributes:
        id: Row id, used in button payloads.
        key: The teacher's private conversation about this team.
        team_id: The team's row id.
        display_name: As the platform named them when they bound themselves.
        state: Where the checklist DM stands.
        pupil_id: The pupil on screen (SCORING, STEP), else None.
        bound_at: When the teacher typed ``/quickscan checklist``.
        updated_at: Last change of the DM state; the most recent binding wins in
            DMs that do not say which team they are about.
        keep_until: The teacher keeps their pupil data past the end of the school
            year until this moment; None = deleted on 1 August.
    """

    id: int
    key: ConversationKey
    team_id: int
    display_name: str
    state: TeacherState
    pupil_id: int | None
    bound_at: datetime
    updated_at: datetime
    keep_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pupil:
    """One pupil of a teacher's class; ``label`` is hidden from ``repr``."""

    id: int
    teacher_id: int
    position: int
    created_at: datetime
    label: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ChecklistRound:
    """Round 1 or 2 of a school year, for one team.

    Attributes:
        school_year: The calendar year the school year starts in (2026 = 2026/27).
    """

    id: int
    team_id: int
    number: int
    school_year: int
    status: ChecklistRoundStatus
    opened_by: str
    opened_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    min_respondents: int | None = None
    """The team's minimum when the round closed (None while open, or closed before it
    was recorded)."""

    @property
    def is_open(self) -> bool:
        """Whether scores may still change."""
        return self.status is ChecklistRoundStatus.OPEN


@dataclass(frozen=True, slots=True)
class AddPupilsOutcome:
    """What ``add_pupils`` did, by line number (1-based) and never by label.

    Attributes:
        added: How many pupils were added.
        duplicate_lines: Lines whose label was already in the class (or earlier in
            the same message), compared without case and extra spaces.
        too_long_lines: Lines over ``LABEL_MAX_CHARS``.
        over_limit_lines: Lines refused because the class is full.
        total: Pupils in the class afterwards.
    """

    added: int
    duplicate_lines: tuple[int, ...]
    too_long_lines: tuple[int, ...]
    over_limit_lines: tuple[int, ...]
    total: int


@dataclass(frozen=True, slots=True)
class TeacherProgress:
    """How far one bound teacher is in a round: counts only."""

    user: str
    display_name: str
    pupils: int
    complete: int

    @property
    def finished(self) -> bool:
        """All pupils scored; a teacher without pupils has not finished (no class yet)."""
        return self.pupils > 0 and self.complete >= self.pupils


@dataclass(frozen=True, slots=True)
class ClassRound:
    """One teacher's scores and steps in one round, by pupil id.

    A verbeterstap is free text that may name a child or a parent, so it is left
    out of ``repr`` like a label.
    """

    round: ChecklistRound
    scores: Mapping[int, Mapping[str, str]]
    steps: Mapping[int, str] = field(repr=False)


class ChecklistRoundExistsError(Exception):
    """The team already had this round (school year and number): opening is idempotent."""


class OtherChecklistRoundOpenError(Exception):
    """Another checklist round of the team is still open; one at a time."""


class ChecklistRoundNotOpenError(Exception):
    """The round was closed (or is another team's) when a change was attempted."""
