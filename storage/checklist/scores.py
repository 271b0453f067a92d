"""Scores and verbeterstappen per pupil, and what the team sees of them.

Also the one read of the quickscan's tables the checklist needs: which of the two
walkthroughs a member worked on last, so plain DM text goes to the right one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, select

from storage.checklist.records import (
    ChecklistRound,
    ChecklistRoundNotOpenError,
    ClassRound,
    Teacher,
    TeacherProgress,
    TeacherState,
)
from storage.checklist.shared import LOG, OPEN, QUICKSCAN_BUSY, ChecklistRepositoryBase
from storage.keys import TeamKey
from storage.models.checklist import (
    ChecklistPupilRow,
    ChecklistRoundRow,
    ChecklistScoreRow,
    ChecklistStepRow,
    ChecklistTeacherRow,
)
from storage.models.quickscan import ParticipationRow, RoundRow, TeamRow
from storage.quickscan.queries import dialect_insert, team_filter
from storage.quickscan.records import ParticipationState, RoundStatus


class ScoreRepository(ChecklistRepositoryBase):
    """Entering scores, a class's scores, the team's anonymous totals."""

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
            if status != OPEN or owned is None:
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
        LOG.debug(
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
        busy = [updated for state, updated in rows if state in QUICKSCAN_BUSY]
        return bool(rows), max(busy, default=None)
