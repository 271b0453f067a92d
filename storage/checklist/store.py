"""The repository of the checklist oudercontact: bound teachers, classes, rounds, scores.

Like ``storage.quickscan.store.Store``: each public method is one short transaction, returns
frozen records, and scopes every read by the team key or by the owning user, so a
forged id in a button payload can never reach another teacher's class.

Pupil labels are the most sensitive thing the bot stores. This repository talks to
the database through its own view of the engine with ``hide_parameters`` set, so
neither SQLAlchemy's statement log (at INFO/DEBUG) nor the text of a database error
ever contains a label; duplicates are found before inserting and reported by line
number. With a ``FieldCipher`` that has keys, labels and verbeterstappen are stored
sealed and the unique ``label_key`` is a keyed hash, so a copied database file holds
no pupil code in readable form. Erasing (a pupil, a class, a member, the end of the
school year) checkpoints SQLite's WAL afterwards, so the values are gone from disk.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.checklist import lifecycle as lifecycle
from storage.checklist.records import (
    LABEL_MAX_CHARS,
    ROUND_NUMBERS,
    AddPupilsOutcome,
    ChecklistRound,
    ChecklistRoundExistsError,
    ChecklistRoundNotOpenError,
    ChecklistRoundStatus,
    ClassRound,
    OtherChecklistRoundOpenError,
    Pupil,
    Teacher,
    TeacherProgress,
    TeacherState,
)
from storage.crypto import FieldCipher
from storage.db import checkpoint
from storage.keys import ConversationKey, TeamKey
from storage.models.checklist import (
    ChecklistPupilRow,
    ChecklistRoundRow,
    ChecklistScoreRow,
    ChecklistStepRow,
    ChecklistTeacherRow,
)
from storage.models.quickscan import ParticipationRow, RoundRow, TeamRow
from storage.quickscan.queries import dialect_insert, team_filter, team_row
from storage.quickscan.records import ParticipationState, RoundStatus

_LOG = logging.getLogger(__name__)
_SQL_LOG = logging.getLogger(f"{__name__}.sql")

_OPEN = ChecklistRoundStatus.OPEN.value
_CLOSED = ChecklistRoundStatus.CLOSED.value
CLASS_MAX_PUPILS = 60
"""A class, not a school: a cap keeps one pasted spreadsheet from flooding the DM."""

# Quickscan states in which a member is busy answering (for routing plain DM text).
_QUICKSCAN_BUSY = tuple(
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


def _teacher_record(row: ChecklistTeacherRow, team: TeamRow) -> Teacher:
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


def _round_record(row: ChecklistRoundRow) -> ChecklistRound:
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


def _rowcount(result: Any) -> int:
    if not isinstance(result, CursorResult):
        msg = f"expected a cursor result, got {type(result).__name__}"
        raise TypeError(msg)
    return result.rowcount


class ChecklistStore:
    """All persistence of the checklist, on the same database as ``Store``.

    Attributes:
        engine: The SQLAlchemy engine it was given (not owned: ``Store.close``
            disposes it).
    """

    def __init__(self, *, engine: Engine, cipher: FieldCipher | None = None) -> None:
        """Share the engine of an already migrated ``Store`` (``engine=store.engine``).

        Args:
            engine: The migrated database.
            cipher: Seals pupil labels and verbeterstappen at rest; None or a cipher
                without keys stores them as typed.
        """
        self.engine = engine
        self._cipher = cipher if cipher is not None else FieldCipher()
        # Same pool and dialect, but bound parameters (pupil labels) are kept out of
        # SQL logs and of database error messages. SQLAlchemy also logs result rows
        # at DEBUG, which hide_parameters does not cover: the checklist's statements
        # log to their own logger, quiet (WARNING) unless an operator configures it,
        # so a root logger at DEBUG never prints a row with a label.
        private = engine.execution_options()
        private.hide_parameters = True
        if _SQL_LOG.level == logging.NOTSET:
            _SQL_LOG.setLevel(logging.WARNING)
        private.logger = _SQL_LOG
        self._sessions = sessionmaker(bind=private, expire_on_commit=False)

    # -- helpers ---------------------------------------------------------------------------

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
        return [_teacher_record(row, team) for row, team in session.execute(query)]

    @staticmethod
    def _open_round_row(session: Session, team_id: int) -> ChecklistRoundRow | None:
        return session.scalars(
            select(ChecklistRoundRow).where(
                ChecklistRoundRow.team_id == team_id, ChecklistRoundRow.status == _OPEN
            )
        ).one_or_none()

    # -- teachers --------------------------------------------------------------------------

    def bind_teacher(
        self, *, key: TeamKey, user: str, display_name: str, now: datetime
    ) -> tuple[Teacher, bool]:
        """Bind a member to the team's checklist; binding again only refreshes the name.

        Returns:
            The teacher and whether the binding is new.

        Raises:
            LookupError: The team does not exist (``Store.ensure_team`` first).
        """
        with self._sessions.begin() as session:
            team = team_row(session, key)
            if team is None:
                msg = f"unknown team {key}"
                raise LookupError(msg)
            statement = (
                dialect_insert(self.engine, ChecklistTeacherRow)
                .values(
                    team_id=team.id,
                    user_ref=user,
                    display_name=display_name,
                    state=TeacherState.IDLE.value,
                    pupil_id=None,
                    bound_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["team_id", "user_ref"])
                .returning(ChecklistTeacherRow.id)
            )
            created = session.execute(statement).first() is not None
            if not created:
                session.execute(
                    update(ChecklistTeacherRow)
                    .where(
                        ChecklistTeacherRow.team_id == team.id,
                        ChecklistTeacherRow.user_ref == user,
                    )
                    .values(display_name=display_name, updated_at=now)
                )
            (teacher,) = self._teachers(
                session,
                ChecklistTeacherRow.team_id == team.id,
                ChecklistTeacherRow.user_ref == user,
            )
        _LOG.info("checklist: teacher %d bound to team %d (new=%s)", teacher.id, team.id, created)
        return teacher, created

    def teachers_of_user(self, *, platform: str, workspace: str, user: str) -> list[Teacher]:
        """A user's bindings in one workspace, most recently active first.

        A DM does not always say which team it is about; the most recent binding is
        the one the teacher is working with.
        """
        with self._sessions.begin() as session:
            return self._teachers(
                session,
                ChecklistTeacherRow.user_ref == user,
                TeamRow.platform == platform,
                TeamRow.workspace == workspace,
                order_by=(ChecklistTeacherRow.updated_at.desc(), ChecklistTeacherRow.id.desc()),
            )

    def teacher_for_user(
        self, *, platform: str, workspace: str, user: str, teacher_id: int
    ) -> Teacher | None:
        """A binding by id, only if it is this user's (button payloads carry the id)."""
        with self._sessions.begin() as session:
            found = self._teachers(
                session,
                ChecklistTeacherRow.id == teacher_id,
                ChecklistTeacherRow.user_ref == user,
                TeamRow.platform == platform,
                TeamRow.workspace == workspace,
            )
            return found[0] if found else None

    def teachers(self, *, key: TeamKey) -> list[Teacher]:
        """The team's bound teachers, in binding order."""
        with self._sessions.begin() as session:
            return self._teachers(session, *team_filter(key), order_by=(ChecklistTeacherRow.id,))

    def set_state(
        self, *, teacher_id: int, state: TeacherState, pupil_id: int | None, now: datetime
    ) -> Teacher:
        """Move a teacher's DM to a new state (committed before the next prompt).

        Raises:
            LookupError: The binding no longer exists (wiped meanwhile).
        """
        with self._sessions.begin() as session:
            return self._update_state(session, teacher_id, state, pupil_id, now)

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
        if _rowcount(result) != 1:
            msg = f"checklist teacher {teacher_id} does not exist"
            raise LookupError(msg)
        (teacher,) = self._teachers(session, ChecklistTeacherRow.id == teacher_id)
        return teacher

    def wipe_teacher(self, *, teacher_id: int) -> int:
        """Erase a binding with its class, scores and steps (the AVG right to erasure).

        Returns:
            How many pupils were erased.
        """
        with self._sessions.begin() as session:
            pupils = lifecycle.delete_teachers(session, [teacher_id])
        self._erased()
        _LOG.info("checklist: teacher %d wiped with %d pupils", teacher_id, pupils)
        return pupils

    def set_keep_until(self, *, teacher_id: int, keep_until: datetime | None) -> Teacher:
        """Keep a teacher's pupil data past the end of the school year (None: do not).

        Raises:
            LookupError: The binding no longer exists.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                update(ChecklistTeacherRow)
                .where(ChecklistTeacherRow.id == teacher_id)
                .values(keep_until=keep_until)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                msg = f"checklist teacher {teacher_id} does not exist"
                raise LookupError(msg)
            (teacher,) = self._teachers(session, ChecklistTeacherRow.id == teacher_id)
        _LOG.info("checklist: teacher %d keeps data (%s)", teacher_id, keep_until is not None)
        return teacher

    # -- data life cycle (AVG) -------------------------------------------------------------

    def purge_expired(self, *, now: datetime) -> int:
        """Delete pupil data of school years that are over, unless the teacher keeps it.

        A pupil (with scores and verbeterstappen) entered before 1 August
        (Europe/Amsterdam) of the current school year is deleted, unless its teacher's
        ``keep_until`` is after ``now``. Idempotent; the daily retention job calls it.

        Returns:
            How many pupils were deleted.
        """
        with self._sessions.begin() as session:
            deleted = lifecycle.purge_expired(session, now=now)
        if deleted:
            self._erased()
        _LOG.info("checklist: retention deleted %d pupils", deleted)
        return deleted

    def forget_teacher(self, *, platform: str, workspace: str, user: str) -> int:
        """Erase all checklist data of a member in a workspace (every team's binding).

        Returns:
            How many pupils were erased.
        """
        with self._sessions.begin() as session:
            erased = lifecycle.forget_user(
                session, platform=platform, workspace=workspace, user=user
            )
        self._erased()
        _LOG.info("checklist: a member was forgotten with %d pupils", erased)
        return erased

    def teacher_data(self, *, platform: str, workspace: str, user: str) -> list[dict[str, object]]:
        """What the checklist holds of a member, with the pupil codes (their own export).

        JSON-serialisable: per team binding the name, dates and per pupil the code,
        scores per round and verbeterstappen. Only ever sent to that member's DM.
        """
        with self._sessions.begin() as session:
            return lifecycle.user_data(
                session, platform=platform, workspace=workspace, user=user, cipher=self._cipher
            )

    def rotate_keys(self) -> int:
        """Re-seal every stored pupil code and step with the newest key; re-key lookups.

        Run after putting a new key first in ``QUICKSCAN_ENCRYPTION_KEY``; afterwards
        the old key can be removed. Also seals values stored before encryption was on.

        Returns:
            How many rows changed (0 without keys).
        """
        with self._sessions.begin() as session:
            changed = lifecycle.rotate(session, cipher=self._cipher, key_of=self._lookup)
        if changed:
            self._erased()  # the old ciphertexts must not linger in the WAL either
        _LOG.info("checklist: re-sealed %d rows", changed)
        return changed

    # -- pupils ----------------------------------------------------------------------------

    def add_pupils(
        self, *, teacher_id: int, labels: Sequence[str], now: datetime
    ) -> AddPupilsOutcome:
        """Add pupils in the order given; duplicates and over-long labels are skipped.

        Nothing about a skipped label is raised or logged: the outcome names line
        numbers (1-based positions in ``labels``), which the DM reply can turn back
        into the teacher's own text.

        Args:
            teacher_id: The class owner (already checked to be the sender's).
            labels: The labels as typed, already stripped; empty ones are ignored.
            now: Current time (aware UTC).
        """
        duplicates: list[int] = []
        too_long: list[int] = []
        over_limit: list[int] = []
        with self._sessions.begin() as session:
            # Compared on the opened labels, not on the stored keys: a class entered
            # before a key change (and not yet rotated) still finds its duplicates.
            existing = {
                label_key(self._cipher.open(stored)): pupil_id
                for stored, pupil_id in session.execute(
                    select(ChecklistPupilRow.label, ChecklistPupilRow.id).where(
                        ChecklistPupilRow.teacher_id == teacher_id
                    )
                ).all()
            }
            position = (
                session.scalar(
                    select(func.max(ChecklistPupilRow.position)).where(
                        ChecklistPupilRow.teacher_id == teacher_id
                    )
                )
                or 0
            )
            rows: list[dict[str, Any]] = []
            for line, label in enumerate(labels, start=1):
                if not label:
                    continue
                key = label_key(label)
                if len(label) > LABEL_MAX_CHARS:
                    too_long.append(line)
                elif key in existing:
                    duplicates.append(line)
                elif len(existing) >= CLASS_MAX_PUPILS:
                    over_limit.append(line)
                else:
                    position += 1
                    existing[key] = 0
                    rows.append(
                        {
                            "teacher_id": teacher_id,
                            "label": self._cipher.seal(label),
                            "label_key": self._cipher.lookup_key(key),
                            "position": position,
                            "created_at": now,
                        }
                    )
            if rows:
                try:
                    session.execute(dialect_insert(self.engine, ChecklistPupilRow).values(rows))
                except IntegrityError:
                    # A concurrent insert of the same label; hide_parameters keeps the
                    # label out of the original error, and it is not chained here.
                    msg = f"class of checklist teacher {teacher_id} changed concurrently"
                    raise RuntimeError(msg) from None
            total = len(existing)
        _LOG.info(
            "checklist: teacher %d added %d pupils (%d duplicate, %d too long, %d over limit)",
            teacher_id,
            len(rows),
            len(duplicates),
            len(too_long),
            len(over_limit),
        )
        return AddPupilsOutcome(
            added=len(rows),
            duplicate_lines=tuple(duplicates),
            too_long_lines=tuple(too_long),
            over_limit_lines=tuple(over_limit),
            total=total,
        )

    def pupils(self, *, teacher_id: int) -> list[Pupil]:
        """A teacher's class in the order it was entered."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(ChecklistPupilRow)
                .where(ChecklistPupilRow.teacher_id == teacher_id)
                .order_by(ChecklistPupilRow.position, ChecklistPupilRow.id)
            )
            return [self._pupil_record(row) for row in rows]

    def find_pupil(self, *, teacher_id: int, label: str) -> Pupil | None:
        """The teacher's pupil with this label (compared like the unique constraint).

        The stored key is tried first; a class keyed under an older encryption key
        (not yet rotated) is searched on its opened labels.
        """
        with self._sessions.begin() as session:
            row = session.scalars(
                select(ChecklistPupilRow).where(
                    ChecklistPupilRow.teacher_id == teacher_id,
                    ChecklistPupilRow.label_key == self._lookup(label),
                )
            ).one_or_none()
            if row is not None:
                return self._pupil_record(row)
            wanted = label_key(label)
            for candidate in session.scalars(
                select(ChecklistPupilRow).where(ChecklistPupilRow.teacher_id == teacher_id)
            ):
                pupil = self._pupil_record(candidate)
                if label_key(pupil.label) == wanted:
                    return pupil
            return None

    def remove_pupil(self, *, teacher_id: int, pupil_id: int) -> bool:
        """Remove one pupil of this teacher with all their scores and steps.

        Returns:
            False when the pupil is not (or no longer) the teacher's.
        """
        with self._sessions.begin() as session:
            owned = session.scalar(
                select(ChecklistPupilRow.id).where(
                    ChecklistPupilRow.id == pupil_id, ChecklistPupilRow.teacher_id == teacher_id
                )
            )
            if owned is None:
                return False
            # Also sends the teacher back to idle if this pupil was on screen.
            lifecycle.delete_pupils(session, [pupil_id])
        self._erased()
        _LOG.info("checklist: teacher %d removed pupil %d", teacher_id, pupil_id)
        return True

    # -- rounds ----------------------------------------------------------------------------

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
        try:
            with self._sessions.begin() as session:
                row = ChecklistRoundRow(
                    team_id=team_id,
                    number=number,
                    school_year=school_year,
                    status=_OPEN,
                    opened_by=opened_by,
                    opened_at=now,
                    deadline=deadline,
                    closed_at=None,
                )
                session.add(row)
                session.flush()
                opened = _round_record(row)
        except IntegrityError as error:
            # Lost a race with a concurrent open: one of the two constraints.
            msg = f"round {number} of {school_year} of team {team_id} raced"
            raise ChecklistRoundExistsError(msg) from error
        _LOG.info("checklist: team %d opened round %d (%d)", team_id, number, school_year)
        return opened

    def current_round(self, *, key: TeamKey) -> ChecklistRound | None:
        """The team's open checklist round, if any."""
        with self._sessions.begin() as session:
            row = session.scalars(
                select(ChecklistRoundRow)
                .join(TeamRow, TeamRow.id == ChecklistRoundRow.team_id)
                .where(ChecklistRoundRow.status == _OPEN, *team_filter(key))
            ).one_or_none()
            return None if row is None else _round_record(row)

    def open_round_of_team(self, *, team_id: int) -> ChecklistRound | None:
        """The open round of a team by row id (a teacher record carries the team id)."""
        with self._sessions.begin() as session:
            row = self._open_round_row(session, team_id)
            return None if row is None else _round_record(row)

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
            return [_round_record(row) for row in rows]

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
            return [_round_record(row) for row in rows]

    def close_round(self, *, key: TeamKey, round_id: int, now: datetime) -> ChecklistRound:
        """Close an open round; of two concurrent closes exactly one wins.

        Raises:
            ChecklistRoundNotOpenError: Already closed, or not this team's round.
        """
        with self._sessions.begin() as session:
            team = team_row(session, key)
            result = session.execute(
                update(ChecklistRoundRow)
                .where(
                    ChecklistRoundRow.id == round_id,
                    ChecklistRoundRow.status == _OPEN,
                    ChecklistRoundRow.team_id == (team.id if team is not None else -1),
                )
                .values(
                    status=_CLOSED,
                    closed_at=now,
                    # Frozen with the round: a later, lower minimum opens nothing of it.
                    min_respondents=team.min_respondents if team is not None else None,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                msg = f"checklist round {round_id} is not open"
                raise ChecklistRoundNotOpenError(msg)
            row = session.get(ChecklistRoundRow, round_id)
            if row is None:  # pragma: no cover - the UPDATE just matched it
                raise ChecklistRoundNotOpenError(str(round_id))
            session.refresh(row)
            closed = _round_record(row)
        _LOG.info("checklist: round %d closed", round_id)
        return closed

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
            return _rowcount(result)

    # -- scores ----------------------------------------------------------------------------

    def save_entry(
        self,
        *,
        teacher_id: int,
        round_id: int,
        pupil_id: int,
        scores: Mapping[str, str],
        step: str | None,
        state: TeacherState,
        on_screen: int | None,
        now: datetime,
    ) -> Teacher:
        """Store scores and/or a step of one pupil together with the teacher's new state.

        One transaction, committed before the next prompt is built, so a press the
        teacher saw acknowledged is never lost and a state never runs ahead of its
        scores.

        Args:
            teacher_id: The class owner (already checked to be the sender's).
            round_id: The open round the scores belong to.
            pupil_id: Whose scores; must be the teacher's pupil.
            scores: Statement id to scale code, upserted.
            step: The verbeterstap to store; None leaves it as it is, "" removes it.
            state: The teacher's next DM state.
            on_screen: The pupil shown next (SCORING, STEP), else None.
            now: Current time (aware UTC).

        Raises:
            ChecklistRoundNotOpenError: The round is closed, or the pupil is not the
                teacher's; nothing is changed.
        """
        with self._sessions.begin() as session:
            status = session.scalar(
                select(ChecklistRoundRow.status)
                .join(
                    ChecklistTeacherRow, ChecklistTeacherRow.team_id == ChecklistRoundRow.team_id
                )
                .where(ChecklistRoundRow.id == round_id, ChecklistTeacherRow.id == teacher_id)
                # PostgreSQL: a concurrent close waits for this commit.
                .with_for_update(read=True, of=ChecklistRoundRow)
            )
            owned = session.scalar(
                select(ChecklistPupilRow.id).where(
                    ChecklistPupilRow.id == pupil_id, ChecklistPupilRow.teacher_id == teacher_id
                )
            )
            if status != _OPEN or owned is None:
                msg = f"round {round_id} closed or pupil {pupil_id} not of teacher {teacher_id}"
                raise ChecklistRoundNotOpenError(msg)
            if scores:
                upsert = dialect_insert(self.engine, ChecklistScoreRow).values(
                    [
                        {
                            "round_id": round_id,
                            "pupil_id": pupil_id,
                            "statement_id": statement_id,
                            "value": value,
                            "updated_at": now,
                        }
                        for statement_id, value in scores.items()
                    ]
                )
                session.execute(
                    upsert.on_conflict_do_update(
                        index_elements=["round_id", "pupil_id", "statement_id"],
                        set_={
                            "value": upsert.excluded.value,
                            "updated_at": upsert.excluded.updated_at,
                        },
                    )
                )
            if step == "":
                session.execute(
                    delete(ChecklistStepRow)
                    .where(
                        ChecklistStepRow.round_id == round_id,
                        ChecklistStepRow.pupil_id == pupil_id,
                    )
                    .execution_options(synchronize_session=False)
                )
            elif step is not None:
                upsert = dialect_insert(self.engine, ChecklistStepRow).values(
                    round_id=round_id,
                    pupil_id=pupil_id,
                    text=self._cipher.seal(step),
                    updated_at=now,
                )
                session.execute(
                    upsert.on_conflict_do_update(
                        index_elements=["round_id", "pupil_id"],
                        set_={"text": upsert.excluded.text, "updated_at": now},
                    )
                )
            teacher = self._update_state(session, teacher_id, state, on_screen, now)
        _LOG.debug(
            "checklist: teacher %d saved %d scores (step=%s) for pupil %d in round %d",
            teacher_id,
            len(scores),
            step is not None,
            pupil_id,
            round_id,
        )
        return teacher

    def class_round(self, *, teacher_id: int, round_: ChecklistRound) -> ClassRound:
        """One teacher's scores and steps in a round (two queries, whole class)."""
        scores: dict[int, dict[str, str]] = defaultdict(dict)
        with self._sessions.begin() as session:
            owned = select(ChecklistPupilRow.id).where(ChecklistPupilRow.teacher_id == teacher_id)
            for pupil_id, statement_id, value in session.execute(
                select(
                    ChecklistScoreRow.pupil_id,
                    ChecklistScoreRow.statement_id,
                    ChecklistScoreRow.value,
                ).where(
                    ChecklistScoreRow.round_id == round_.id,
                    ChecklistScoreRow.pupil_id.in_(owned),
                )
            ):
                scores[pupil_id][statement_id] = value
            steps = {
                pupil_id: self._cipher.open(text)
                for pupil_id, text in session.execute(
                    select(ChecklistStepRow.pupil_id, ChecklistStepRow.text).where(
                        ChecklistStepRow.round_id == round_.id,
                        ChecklistStepRow.pupil_id.in_(owned),
                    )
                ).all()
            }
        return ClassRound(round=round_, scores=dict(scores), steps=steps)

    def team_scores(self, *, key: TeamKey, round_id: int) -> list[list[dict[str, str]]]:
        """Every bound teacher's pupils' scores in a round, without labels or names.

        Returns:
            Per teacher (in binding order, unnamed) a list of per-pupil dicts of
            statement id to code, for pupils with at least one score.
        """
        per_teacher: dict[int, dict[int, dict[str, str]]] = defaultdict(dict)
        with self._sessions.begin() as session:
            rows = session.execute(
                select(
                    ChecklistPupilRow.teacher_id,
                    ChecklistScoreRow.pupil_id,
                    ChecklistScoreRow.statement_id,
                    ChecklistScoreRow.value,
                )
                .join(ChecklistPupilRow, ChecklistPupilRow.id == ChecklistScoreRow.pupil_id)
                .join(ChecklistRoundRow, ChecklistRoundRow.id == ChecklistScoreRow.round_id)
                .join(TeamRow, TeamRow.id == ChecklistRoundRow.team_id)
                .where(ChecklistScoreRow.round_id == round_id, *team_filter(key))
                .order_by(ChecklistPupilRow.teacher_id, ChecklistScoreRow.pupil_id)
            )
            for teacher_id, pupil_id, statement_id, value in rows:
                per_teacher[teacher_id].setdefault(pupil_id, {})[statement_id] = value
        return [list(pupils.values()) for _, pupils in sorted(per_teacher.items())]

    def progress(self, *, key: TeamKey, round_id: int, statements: int) -> list[TeacherProgress]:
        """Per bound teacher: pupils in the class and pupils with all ``statements`` scored."""
        with self._sessions.begin() as session:
            teachers = self._teachers(
                session, *team_filter(key), order_by=(ChecklistTeacherRow.id,)
            )
            sizes = dict(
                session.execute(
                    select(ChecklistPupilRow.teacher_id, func.count(ChecklistPupilRow.id))
                    .where(ChecklistPupilRow.teacher_id.in_([t.id for t in teachers]))
                    .group_by(ChecklistPupilRow.teacher_id)
                ).all()
            )
            per_pupil = (
                select(ChecklistScoreRow.pupil_id)
                .where(ChecklistScoreRow.round_id == round_id)
                .group_by(ChecklistScoreRow.pupil_id)
                .having(func.count(ChecklistScoreRow.statement_id) >= statements)
                .subquery()
            )
            complete = dict(
                session.execute(
                    select(ChecklistPupilRow.teacher_id, func.count(ChecklistPupilRow.id))
                    .join(per_pupil, per_pupil.c.pupil_id == ChecklistPupilRow.id)
                    .where(ChecklistPupilRow.teacher_id.in_([t.id for t in teachers]))
                    .group_by(ChecklistPupilRow.teacher_id)
                ).all()
            )
        return [
            TeacherProgress(
                user=teacher.key.user,
                display_name=teacher.display_name,
                pupils=sizes.get(teacher.id, 0),
                complete=complete.get(teacher.id, 0),
            )
            for teacher in teachers
        ]

    # -- routing ---------------------------------------------------------------------------

    def quickscan_activity(
        self, *, platform: str, workspace: str, user: str
    ) -> tuple[bool, datetime | None]:
        """Whether the user has an unsubmitted quickscan, and when they last worked on one.

        Quickscan and checklist share one DM. Plain text goes to whichever of the two
        the member touched last, so this reads (never writes) the quickscan's tables.

        Returns:
            (any unsubmitted participation in an open round, the latest ``updated_at``
            of one being answered or paused, or None).
        """
        with self._sessions.begin() as session:
            rows = session.execute(
                select(ParticipationRow.state, ParticipationRow.updated_at)
                .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(
                    ParticipationRow.user_ref == user,
                    TeamRow.platform == platform,
                    TeamRow.workspace == workspace,
                    RoundRow.status == RoundStatus.OPEN.value,
                    ParticipationRow.state != ParticipationState.SUBMITTED.value,
                )
            ).all()
        busy = [updated for state, updated in rows if state in _QUICKSCAN_BUSY]
        return bool(rows), max(busy, default=None)
