"""What the checklist repositories share: record builders, label keys, the base.

``ChecklistStore`` is composed of one repository per aggregate (teachers and their
data, pupils, rounds, scores); they share the store's private view of the engine,
its sessions and its cipher, which ``ChecklistRepositoryBase`` declares.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.checklist.records import (
    ChecklistRound,
    ChecklistRoundStatus,
    Pupil,
    Teacher,
    TeacherState,
)
from storage.crypto import FieldCipher
from storage.db import checkpoint
from storage.keys import ConversationKey
from storage.models.checklist import ChecklistPupilRow, ChecklistRoundRow, ChecklistTeacherRow
from storage.models.quickscan import TeamRow
from storage.quickscan.queries import rowcount
from storage.quickscan.records import ParticipationState
from storage.transactions import Sessions

# One logger name for the whole checklist store, whichever module logs: operators
# configure (and tests capture) "storage.checklist.store" and its ".sql" child.
STORE_LOGGER = "storage.checklist.store"
LOG = logging.getLogger(STORE_LOGGER)
SQL_LOG = logging.getLogger(f"{STORE_LOGGER}.sql")

OPEN = ChecklistRoundStatus.OPEN.value
CLOSED = ChecklistRoundStatus.CLOSED.value
CLASS_MAX_PUPILS = 60
"""A class, not a school: a cap keeps one pasted spreadsheet from flooding the DM."""

# Quickscan states in which a member is busy answering (for routing plain DM text).
QUICKSCAN_BUSY = tuple(
    state.value
    for state in ParticipationState
    if state not in (ParticipationState.INVITED, ParticipationState.SUBMITTED)
)


def label_key(label: str) -> str:
    """The comparison form of a pupil label: no case, single spaces.

    "AB", "ab" and "A  B"... are the same pupil to a teacher, so they are to the
    unique constraint too.
    """
    return " ".join(label.split()).casefold()


def teacher_record(row: ChecklistTeacherRow, team: TeamRow) -> Teacher:
    return Teacher(
        id=row.id,
        key=ConversationKey(
            platform=team.platform, workspace=team.workspace, team=team.team_ref, user=row.user_ref
        ),
        team_id=row.team_id,
        display_name=row.display_name,
        state=TeacherState(row.state),
        pupil_id=row.pupil_id,
        bound_at=row.bound_at,
        updated_at=row.updated_at,
        keep_until=row.keep_until,
    )


def round_record(row: ChecklistRoundRow) -> ChecklistRound:
    return ChecklistRound(
        id=row.id,
        team_id=row.team_id,
        number=row.number,
        school_year=row.school_year,
        status=ChecklistRoundStatus(row.status),
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        deadline=row.deadline,
        closed_at=row.closed_at,
        min_respondents=row.min_respondents,
    )


class ChecklistRepositoryBase:
    """The state every checklist repository works with (``ChecklistStore.__init__`` sets it).

    Attributes:
        engine: The SQLAlchemy engine the store was given.
    """

    engine: Engine
    _cipher: FieldCipher
    _sessions: Sessions

    def _lookup(self, label: str) -> str:
        """The stored ``label_key``: the comparison form, keyed-hashed when encrypting."""
        return self._cipher.lookup_key(label_key(label))

    def _pupil_record(self, row: ChecklistPupilRow) -> Pupil:
        return Pupil(
            id=row.id,
            teacher_id=row.teacher_id,
            position=row.position,
            created_at=row.created_at,
            label=self._cipher.open(row.label),
        )

    def _erased(self) -> None:
        """After a delete of personal data is committed: out of SQLite's WAL too."""
        checkpoint(engine=self.engine)

    @staticmethod
    def _teachers(session: Session, *where: Any, order_by: Sequence[Any] = ()) -> list[Teacher]:
        query = (
            select(ChecklistTeacherRow, TeamRow)
            .join(TeamRow, TeamRow.id == ChecklistTeacherRow.team_id)
            .where(*where)
            .order_by(*order_by)
        )
        return [teacher_record(row, team) for row, team in session.execute(query)]

    @staticmethod
    def _open_round_row(session: Session, team_id: int) -> ChecklistRoundRow | None:
        return session.scalars(
            select(ChecklistRoundRow).where(
                ChecklistRoundRow.team_id == team_id, ChecklistRoundRow.status == OPEN
            )
        ).one_or_none()

    def _update_state(
        self,
        session: Session,
        teacher_id: int,
        state: TeacherState,
        pupil_id: int | None,
        now: datetime,
    ) -> Teacher:
        result = session.execute(
            update(ChecklistTeacherRow)
            .where(ChecklistTeacherRow.id == teacher_id)
            .values(state=state.value, pupil_id=pupil_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            msg = f"checklist teacher {teacher_id} does not exist"
            raise LookupError(msg)
        (teacher,) = self._teachers(session, ChecklistTeacherRow.id == teacher_id)
        return teacher
