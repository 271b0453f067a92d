"""Checklist rounds of a team: round 1 and 2 of each school year, one open at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.checklist.records import (
    ROUND_NUMBERS,
    ChecklistRound,
    ChecklistRoundExistsError,
    ChecklistRoundNotOpenError,
    OtherChecklistRoundOpenError,
    TeacherState,
)
from storage.checklist.shared import (
    CLOSED,
    LOG,
    OPEN,
    ChecklistRepositoryBase,
    round_record,
)
from storage.keys import TeamKey
from storage.models.checklist import ChecklistRoundRow, ChecklistTeacherRow
from storage.models.quickscan import TeamRow
from storage.quickscan.queries import rowcount, team_filter, team_row


class RoundRepository(ChecklistRepositoryBase):
    """Opening, finding and closing checklist rounds."""

    def open_round(
        self,
        *,
        key: TeamKey,
        number: int,
        school_year: int,
        deadline: datetime | None,
        opened_by: str,
        now: datetime,
    ) -> ChecklistRound:
        """Open round ``number`` of ``school_year`` for the team.

        The unique constraints decide: each (school year, number) exists once, and
        only one round per team is open, whoever opens it at the same moment.

        Raises:
            ValueError: ``number`` is not 1 or 2.
            LookupError: The team does not exist.
            ChecklistRoundExistsError: This round was opened before.
            OtherChecklistRoundOpenError: Another round is still open.
        """
        if number not in ROUND_NUMBERS:
            msg = f"a checklist round is 1 or 2, not {number}"
            raise ValueError(msg)
        with self._sessions.begin() as session:
            team = team_row(session, key)
            if team is None:
                msg = f"unknown team {key}"
                raise LookupError(msg)
            exists = session.scalar(
                select(ChecklistRoundRow.id).where(
                    ChecklistRoundRow.team_id == team.id,
                    ChecklistRoundRow.school_year == school_year,
                    ChecklistRoundRow.number == number,
                )
            )
            if exists is not None:
                msg = f"round {number} of {school_year} of team {team.id} exists"
                raise ChecklistRoundExistsError(msg)
            if self._open_round_row(session, team.id) is not None:
                msg = f"team {team.id} has another open checklist round"
                raise OtherChecklistRoundOpenError(msg)
            team_id = team.id
            row = ChecklistRoundRow(
                team_id=team_id,
                number=number,
                school_year=school_year,
                status=OPEN,
                opened_by=opened_by,
                opened_at=now,
                deadline=deadline,
                closed_at=None,
            )
            try:
                with session.begin_nested():  # the transaction survives a lost race
                    session.add(row)
                    session.flush()
            except IntegrityError as error:
                # Lost a race with a concurrent open: one of the two constraints.
                msg = f"round {number} of {school_year} of team {team_id} raced"
                raise ChecklistRoundExistsError(msg) from error
            opened = round_record(row)
        LOG.info("checklist: team %d opened round %d (%d)", team_id, number, school_year)
        return opened

    def current_round(self, *, key: TeamKey) -> ChecklistRound | None:
        """The team's open checklist round, if any."""
        with self._sessions.begin() as session:
            row = session.scalars(
                select(ChecklistRoundRow)
                .join(TeamRow, TeamRow.id == ChecklistRoundRow.team_id)
                .where(ChecklistRoundRow.status == OPEN, *team_filter(key))
            ).one_or_none()
            return None if row is None else round_record(row)

    def open_round_of_team(self, *, team_id: int) -> ChecklistRound | None:
        """The open round of a team by row id (a teacher record carries the team id)."""
        with self._sessions.begin() as session:
            row = self._open_round_row(session, team_id)
            return None if row is None else round_record(row)

    def rounds(self, *, key: TeamKey) -> list[ChecklistRound]:
        """All checklist rounds of the team, oldest first."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(ChecklistRoundRow)
                .join(TeamRow, TeamRow.id == ChecklistRoundRow.team_id)
                .where(*team_filter(key))
                .order_by(
                    ChecklistRoundRow.school_year, ChecklistRoundRow.number, ChecklistRoundRow.id
                )
            )
            return [round_record(row) for row in rows]

    def rounds_of_team(self, *, team_id: int) -> list[ChecklistRound]:
        """All rounds of a team by row id, oldest first."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(ChecklistRoundRow)
                .where(ChecklistRoundRow.team_id == team_id)
                .order_by(
                    ChecklistRoundRow.school_year, ChecklistRoundRow.number, ChecklistRoundRow.id
                )
            )
            return [round_record(row) for row in rows]

    def close_round(self, *, key: TeamKey, round_id: int, now: datetime) -> ChecklistRound:
        """Close an open round; of two concurrent closes exactly one wins.

        Raises:
            ChecklistRoundNotOpenError: Already closed, or not this team's round.
        """
        with self._sessions.begin() as session:
            team = team_row(session, key)
            closed = _update_open(
                session,
                team=team,
                round_id=round_id,
                status=CLOSED,
                closed_at=now,
                # Frozen with the round: a later, lower minimum opens nothing of it.
                min_respondents=team.min_respondents if team is not None else None,
            )
        if closed is None:
            msg = f"checklist round {round_id} is not open"
            raise ChecklistRoundNotOpenError(msg)
        LOG.info("checklist: round %d closed", round_id)
        return closed

    def move_deadline(
        self, *, key: TeamKey, round_id: int, deadline: datetime
    ) -> ChecklistRound | None:
        """Give an open round the deadline its calendar now says (a holiday moved).

        Conditional, like the close: a round closed meanwhile keeps its deadline.
        Returns the moved round, or None when it was no longer open.
        """
        with self._sessions.begin() as session:
            team = team_row(session, key)
            moved = _update_open(session, team=team, round_id=round_id, deadline=deadline)
        if moved is not None:
            LOG.info("checklist: round %d deadline moved with the calendar", round_id)
        return moved

    def settle_after_close(self, *, key: TeamKey) -> int:
        """Send teachers who were scoring (or paused) in the team back to idle.

        Called when a round closes, so a later message is not taken for a score of
        a round that is over; returns how many were reset.
        """
        busy = [
            state.value for state in (TeacherState.SCORING, TeacherState.STEP, TeacherState.PAUSED)
        ]
        with self._sessions.begin() as session:
            team_ids = select(TeamRow.id).where(*team_filter(key))
            result = session.execute(
                update(ChecklistTeacherRow)
                .where(
                    ChecklistTeacherRow.team_id.in_(team_ids),
                    ChecklistTeacherRow.state.in_(busy),
                )
                .values(state=TeacherState.IDLE.value, pupil_id=None)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)


def _update_open(
    session: Session, *, team: TeamRow | None, round_id: int, **values: object
) -> ChecklistRound | None:
    """Set ``values`` on the team's round if it is still open: the round as it is now.

    Conditional (``WHERE status = open``), so of a close and a deadline move, or of
    two closes, on any process, exactly the ones that find it open change it.
    Returns None when the round was not open (or not this team's).
    """
    result = session.execute(
        update(ChecklistRoundRow)
        .where(
            ChecklistRoundRow.id == round_id,
            ChecklistRoundRow.status == OPEN,
            ChecklistRoundRow.team_id == (team.id if team is not None else -1),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return None
    row = session.get(ChecklistRoundRow, round_id)
    if row is None:  # pragma: no cover - the UPDATE just matched it
        return None
    session.refresh(row)
    return round_record(row)
