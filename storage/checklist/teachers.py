"""Teachers bound to a team's checklist, and the life cycle of their data (AVG)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update

from storage.checklist import lifecycle
from storage.checklist.records import Teacher, TeacherState
from storage.checklist.shared import LOG, ChecklistRepositoryBase, teacher_record
from storage.keys import TeamKey
from storage.models.checklist import ChecklistTeacherRow
from storage.models.quickscan import TeamRow
from storage.quickscan.queries import dialect_insert, rowcount, team_filter, team_row

# Every DM asks it (does the checklist claim this message?): built once, with bound
# parameters, since building a statement costs more than running it.
_OF_USER = (
    select(ChecklistTeacherRow, TeamRow)
    .join(TeamRow, TeamRow.id == ChecklistTeacherRow.team_id)
    .where(
        ChecklistTeacherRow.user_ref == bindparam("user"),
        TeamRow.platform == bindparam("platform"),
        TeamRow.workspace == bindparam("workspace"),
    )
    .order_by(ChecklistTeacherRow.updated_at.desc(), ChecklistTeacherRow.id.desc())
)


class TeacherRepository(ChecklistRepositoryBase):
    """Bindings, DM states, erasure, retention and key rotation."""

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
        LOG.info("checklist: teacher %d bound to team %d (new=%s)", teacher.id, team.id, created)
        return teacher, created

    def teachers_of_user(self, *, platform: str, workspace: str, user: str) -> list[Teacher]:
        """A user's bindings in one workspace, most recently active first.

        A DM does not always say which team it is about; the most recent binding is
        the one the teacher is working with.
        """
        with self._sessions.begin() as session:
            found = session.execute(
                _OF_USER, {"user": user, "platform": platform, "workspace": workspace}
            )
            return [teacher_record(row, team) for row, team in found]

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

    def wipe_teacher(self, *, teacher_id: int) -> int:
        """Erase a binding with its class, scores and steps (the AVG right to erasure).

        Returns:
            How many pupils were erased.
        """
        with self._sessions.begin() as session:
            pupils = lifecycle.delete_teachers(session, [teacher_id])
        self._erased()
        LOG.info("checklist: teacher %d wiped with %d pupils", teacher_id, pupils)
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
            if rowcount(result) != 1:
                msg = f"checklist teacher {teacher_id} does not exist"
                raise LookupError(msg)
            (teacher,) = self._teachers(session, ChecklistTeacherRow.id == teacher_id)
        LOG.info("checklist: teacher %d keeps data (%s)", teacher_id, keep_until is not None)
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
        LOG.info("checklist: retention deleted %d pupils", deleted)
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
        LOG.info("checklist: a member was forgotten with %d pupils", erased)
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
        LOG.info("checklist: re-sealed %d rows", changed)
        return changed
