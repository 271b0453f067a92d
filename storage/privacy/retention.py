"""The deletions the retention job makes (bot/retention.py decides when).

Kept apart from ``Store`` because it works across all teams at once and only
ever deletes. Every statement is a plain conditional DELETE, so running the job
twice, or in two processes at the same moment, deletes each row once and
otherwise does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from storage.keys import TeamKey
from storage.models.quickscan import ParticipationRow, ProcessedEventRow, RoundRow, TeamRow
from storage.quickscan.queries import delete_participations, rowcount
from storage.quickscan.records import RoundStatus
from storage.transactions import Sessions


@dataclass(frozen=True, slots=True)
class ExpiredRound:
    """A closed round whose individual answers are past their retention period."""

    team: TeamKey
    round_id: int


@dataclass(frozen=True, slots=True)
class PurgedRound:
    """What one round's purge deleted (counts only: the log and the report show them)."""

    participations: int
    answers: int


class RetentionStore:
    """Finds and deletes personal data whose retention period has passed."""

    def __init__(self, *, engine: Engine) -> None:
        """Share the engine of an already migrated ``Store`` (``engine=store.engine``)."""
        self.engine = engine
        self._sessions = Sessions(engine)

    def expired_rounds(self, *, closed_before: datetime) -> list[ExpiredRound]:
        """Closed rounds before ``closed_before`` that still hold participations.

        A round already purged holds none and is not listed again, so the job's
        work shrinks to nothing once it has caught up.
        """
        with self._sessions.begin() as session:
            rows = session.execute(
                select(TeamRow.platform, TeamRow.workspace, TeamRow.team_ref, RoundRow.id)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(
                    RoundRow.status == RoundStatus.CLOSED.value,
                    RoundRow.closed_at < closed_before,
                    select(ParticipationRow.id)
                    .where(ParticipationRow.round_id == RoundRow.id)
                    .exists(),
                )
                .order_by(RoundRow.id)
            ).all()
        return [
            ExpiredRound(
                team=TeamKey(platform=platform, workspace=workspace, team=team_ref),
                round_id=round_id,
            )
            for platform, workspace, team_ref, round_id in rows
        ]

    def purge_round(self, *, round_id: int, closed_before: datetime) -> PurgedRound:
        """Delete a closed round's participations and their answers; keep the round.

        The round row (and its snapshot in ``round_results``) stays, so the team's
        history still shows what was published. The closed-before condition is
        checked again inside the DELETE: a round that is not (or no longer) past
        its period is never touched, whatever the caller listed.
        """
        expired = select(RoundRow.id).where(
            RoundRow.id == round_id,
            RoundRow.status == RoundStatus.CLOSED.value,
            RoundRow.closed_at < closed_before,
        )
        with self._sessions.begin() as session:
            removed, answers = delete_participations(
                session, ParticipationRow.round_id.in_(expired)
            )
            return PurgedRound(participations=removed, answers=answers)

    def purge_events(self, *, seen_before: datetime) -> int:
        """Forget platform delivery ids seen before ``seen_before``.

        They only serve to ignore a platform's retries, which come within minutes;
        kept longer they would be a record of who was active when.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                delete(ProcessedEventRow)
                .where(ProcessedEventRow.seen_at < seen_before)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)
