"""Participations: who was invited to a round and where they are (part of ``Store``).

``save_progress`` writes a member's answers together with their conversation
state, so a crash never loses an answer the member saw acknowledged. Given the
version the caller read, it writes only over that version: of two replicas that
computed a step from the same state, one wins and the other gets a
``ConcurrentChangeError`` to redo its event from what is stored now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Delete, Table, Update, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from storage.conflicts import ConcurrentChangeError
from storage.keys import ConversationKey, TeamKey
from storage.models.quickscan import AnswerRow, ParticipationRow, RoundRow, TeamRow, UTCDateTime
from storage.quickscan.queries import dialect_insert, rowcount, team_filter
from storage.quickscan.records import (
    Participation,
    ParticipationState,
    RoundCounts,
    RoundNotOpenError,
)
from storage.quickscan.shared import (
    OPEN,
    RepositoryBase,
    UnknownParticipationError,
    answer_upsert,
    load_participation,
    load_participations,
    participation_by_id,
    team_id_of,
)

# PostgreSQL: share-locks the round so a concurrent close waits for the saving
# commit. Built once (see shared.py): it runs for every answer.
_STATUS_AND_VERSION = (
    select(RoundRow.status, ParticipationRow.version)
    .join(ParticipationRow, ParticipationRow.round_id == RoundRow.id)
    .where(ParticipationRow.id == bindparam("participation_id"))
    .with_for_update(read=True, of=RoundRow)
)


class ParticipationRepository(RepositoryBase):
    """Invitations, walkthrough progress and reachability of members."""

    def invite(
        self, *, key: TeamKey, round_id: int, user: str, display_name: str, now: datetime
    ) -> tuple[Participation, bool]:
        """Invite a member to an open round of the team; repeating it changes nothing.

        Returns:
            The participation and whether it was created now (so the invitation
            message is sent once).

        Raises:
            RoundNotOpenError: The round is closed or not this team's.
        """
        with self._sessions.begin() as session:
            # Lock the round against a concurrent close (no-op on SQLite, whose
            # single writer serialises the INSERT below anyway).
            status = session.scalars(
                select(RoundRow.status)
                .where(RoundRow.id == round_id, RoundRow.team_id == team_id_of(key))
                .with_for_update(read=True)
            ).one_or_none()
            if status != OPEN:
                msg = f"round {round_id} of team {key} is not open"
                raise RoundNotOpenError(msg)
            statement = (
                dialect_insert(self.engine, ParticipationRow)
                .values(
                    round_id=round_id,
                    user_ref=user,
                    display_name=display_name,
                    state=ParticipationState.INVITED.value,
                    position=0,
                    invited_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["round_id", "user_ref"])
                .returning(ParticipationRow.id)
            )
            created = session.execute(statement).first() is not None
            participation = load_participation(
                session, ParticipationRow.round_id == round_id, ParticipationRow.user_ref == user
            )
            if participation is None:  # pragma: no cover - inserted or found just above
                msg = f"participation of {user} in round {round_id} vanished"
                raise UnknownParticipationError(msg)
            return participation, created

    def participation(self, *, key: ConversationKey, round_id: int) -> Participation | None:
        """One member's participation in a round of the team."""
        with self._sessions.begin() as session:
            return load_participation(
                session,
                ParticipationRow.round_id == round_id,
                ParticipationRow.user_ref == key.user,
                *team_filter(key.team_key),
            )

    def participation_for_user(
        self, *, platform: str, workspace: str, user: str, participation_id: int
    ) -> Participation | None:
        """A participation by id, only if it is this user's in this workspace.

        Button payloads carry participation ids; a forged or replayed id of
        someone else yields None.
        """
        with self._sessions.begin() as session:
            return load_participation(
                session,
                ParticipationRow.id == participation_id,
                ParticipationRow.user_ref == user,
                TeamRow.platform == platform,
                TeamRow.workspace == workspace,
            )

    def active_participations(
        self, *, platform: str, workspace: str, user: str
    ) -> list[Participation]:
        """The user's participations in open rounds of any team, newest invite first.

        A direct message without a button is routed to the newest one.
        """
        with self._sessions.begin() as session:
            return load_participations(
                session,
                ParticipationRow.user_ref == user,
                TeamRow.platform == platform,
                TeamRow.workspace == workspace,
                RoundRow.status == OPEN,
                order_by=(ParticipationRow.invited_at.desc(), ParticipationRow.id.desc()),
            )

    def participations(self, *, key: TeamKey, round_id: int) -> list[Participation]:
        """All participations of a round of the team, in invitation order."""
        with self._sessions.begin() as session:
            return load_participations(
                session,
                ParticipationRow.round_id == round_id,
                *team_filter(key),
                order_by=(ParticipationRow.id,),
            )

    def save_progress(
        self,
        *,
        participation_id: int,
        state: ParticipationState,
        position: int,
        now: datetime,
        answers: Mapping[str, str | None] | None = None,
        mark_started: bool = False,
        mark_submitted: bool = False,
        clear_submitted: bool = False,
        expected_version: int | None = None,
    ) -> Participation:
        """Store answers and the conversation state in one transaction.

        Called before the next question is sent, so a crash never loses an
        answer the member saw acknowledged, and never records a state without
        its answer. Every save raises the participation's version.

        Args:
            participation_id: Whose walkthrough (already checked to be the user's).
            state: The new conversation state.
            position: The new position within that state.
            now: Current time (aware UTC).
            answers: Item id to value; None deletes the item's answer.
            mark_started: Set ``started_at`` unless already set.
            mark_submitted: Set ``submitted_at`` to ``now``.
            clear_submitted: Set ``submitted_at`` to None (reopened answers).
            expected_version: The ``version`` of the participation the step was
                computed from; the write happens only if it is still stored. None
                writes unconditionally, for callers that computed nothing from a
                read (set-up in tests and scripts); a conversation always passes it.

        Returns:
            The participation as stored.

        Raises:
            RoundNotOpenError: The round was closed; nothing is changed.
            ConcurrentChangeError: Someone saved a step since ``expected_version``
                was read; nothing is changed.
            UnknownParticipationError: No such participation.
            ValueError: Both ``mark_submitted`` and ``clear_submitted``.
        """
        if mark_submitted and clear_submitted:
            msg = "mark_submitted and clear_submitted exclude each other"
            raise ValueError(msg)
        answers = answers or {}
        with self._sessions.begin() as session:
            # PostgreSQL: share-lock the round so a concurrent close waits for this
            # commit. SQLite ignores FOR SHARE; there the status condition in the
            # UPDATE below is evaluated while holding the single write lock.
            found = session.execute(
                _STATUS_AND_VERSION, {"participation_id": participation_id}
            ).one_or_none()
            if found is None:
                msg = f"unknown participation {participation_id}"
                raise UnknownParticipationError(msg)
            status, version = found
            if status != OPEN:
                msg = f"the round of participation {participation_id} is closed"
                raise RoundNotOpenError(msg)
            if expected_version is not None and version != expected_version:
                raise _stale(participation_id)
            statement = _progress_update(
                started=mark_started,
                submitted=True if mark_submitted else (False if clear_submitted else None),
                versioned=expected_version is not None,
            )
            parameters = {
                "participation_id": participation_id,
                "state": state.value,
                "position": position,
                "now": now,
                "expected_version": expected_version,
            }
            if rowcount(session.execute(statement, parameters)) != 1:
                # The round is share-locked (PostgreSQL) or the write lock held
                # (SQLite) since it was read open, so only the version can differ.
                raise _stale(participation_id)
            self._write_answers(session, participation_id, answers, now)
            saved = participation_by_id(session, participation_id)
            if saved is None:  # pragma: no cover - updated just above
                msg = f"participation {participation_id} vanished"
                raise UnknownParticipationError(msg)
            return saved

    def _write_answers(
        self,
        session: Session,
        participation_id: int,
        answers: Mapping[str, str | None],
        now: datetime,
    ) -> None:
        """Upsert the given answers and delete those set to None."""
        removed = [item for item, value in answers.items() if value is None]
        kept = [
            {
                "participation_id": participation_id,
                "item_id": item,
                "value": self._seal(item, value),
                "updated_at": now,
            }
            for item, value in answers.items()
            if value is not None
        ]
        if removed:
            removal: Delete = delete(AnswerRow).where(
                AnswerRow.participation_id == participation_id, AnswerRow.item_id.in_(removed)
            )
            session.execute(removal.execution_options(synchronize_session=False))
        if kept:  # a prebuilt Core statement, the rows as its parameters (shared.py)
            session.execute(answer_upsert(self.engine.dialect.name), kept)

    def mark_unreachable(self, *, key: ConversationKey, round_id: int, now: datetime) -> bool:
        """Note that a member's DM failed; False if already noted (report once)."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.round_id == round_id,
                    ParticipationRow.user_ref == key.user,
                    ParticipationRow.round_id.in_(
                        select(RoundRow.id).where(RoundRow.team_id == team_id_of(key.team_key))
                    ),
                    ParticipationRow.unreachable_at.is_(None),
                )
                .values(unreachable_at=now)
            )
            return rowcount(result) > 0

    def mark_reachable(self, *, key: ConversationKey, round_id: int) -> None:
        """Lift the unreachable mark: the member opened the bot after all."""
        with self._sessions.begin() as session:
            session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.round_id == round_id,
                    ParticipationRow.user_ref == key.user,
                    ParticipationRow.round_id.in_(
                        select(RoundRow.id).where(RoundRow.team_id == team_id_of(key.team_key))
                    ),
                )
                .values(unreachable_at=None)
            )

    def round_counts(self, *, key: TeamKey, round_id: int) -> RoundCounts:
        """How many were invited, started and finished; zero for another team's round."""
        with self._sessions.begin() as session:
            invited, started, finished = session.execute(
                select(
                    func.count(ParticipationRow.id),
                    func.count(ParticipationRow.started_at),
                    func.count(ParticipationRow.submitted_at),
                )
                .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
                .where(ParticipationRow.round_id == round_id, RoundRow.team_id == team_id_of(key))
            ).one()
            return RoundCounts(invited=invited, started=started, finished=finished)


@cache
def _progress_update(*, started: bool, submitted: bool | None, versioned: bool) -> Update:
    """``save_progress``'s guarded UPDATE for one combination of its flags, built once.

    ``submitted``: True sets ``submitted_at``, False clears it, None leaves it. With
    ``versioned`` the row must still have ``expected_version``: the check that
    counts, as the SELECT before it does not lock the row. A Core statement on the
    table with bound parameters, since building one costs more than running it.
    """
    table = cast(Table, ParticipationRow.__table__)
    now = bindparam("now", type_=UTCDateTime())
    values: dict[str, Any] = {
        "state": bindparam("state"),
        "position": bindparam("position"),
        "updated_at": now,
        "version": table.c.version + 1,
    }
    if started:
        values["started_at"] = func.coalesce(table.c.started_at, now)
    if submitted is not None:
        values["submitted_at"] = now if submitted else None
    conditions = [
        table.c.id == bindparam("participation_id"),
        table.c.round_id.in_(select(RoundRow.id).where(RoundRow.status == OPEN)),
    ]
    if versioned:
        conditions.append(table.c.version == bindparam("expected_version"))
    return update(table).where(*conditions).values(values)


def _stale(participation_id: int) -> ConcurrentChangeError:
    msg = f"participation {participation_id} was saved by someone else meanwhile"
    return ConcurrentChangeError(msg)
