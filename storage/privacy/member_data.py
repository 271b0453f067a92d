"""What the quickscan side of the database holds about one member, and its erasure.

The AVG gives every member the right to see their data (``/quickscan
mijn-gegevens``) and to have it erased (``/quickscan vergeet-mij``). Both are
scoped to one platform workspace: a Slack workspace or a Telegram bot is one
school's installation, and the user id is only meaningful within it. The
checklist's tables and the result snapshots have their own stores
(``ChecklistStore``, ``ResultStore``); bot/privacy.py combines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from storage.checklist.lifecycle import ERASED_USER
from storage.keys import TeamKey
from storage.models.checklist import ChecklistRoundRow
from storage.models.quickscan import (
    CoordinatorRow,
    ParticipationRow,
    RoundResultRow,
    RoundRow,
    TeamRow,
)
from storage.plans.privacy import forget_plan_member, plan_data
from storage.quickscan.queries import delete_participations, rowcount
from storage.quickscan.records import RoundStatus
from storage.quickscan.store import Store
from storage.roster import forget_person, person_data
from storage.transactions import Sessions


@dataclass(frozen=True, slots=True)
class Forgotten:
    """Counts of what ``forget`` erased, for the member's confirmation message."""

    participations: int
    answers: int
    coordinator_roles: int
    last_coordinator_of: tuple[str, ...]
    """Team channels left without a coordinator because this member was the last one."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _in_workspace(platform: str, workspace: str) -> Any:
    """Team ids of one platform workspace: the scope of a member's rights."""
    return select(TeamRow.id).where(TeamRow.platform == platform, TeamRow.workspace == workspace)


class MemberData:
    """Reads and erases one member's quickscan rows within a workspace."""

    def __init__(self, *, store: Store) -> None:
        """Use the store's engine, and its cipher (through ``Store.answers``) for open texts."""
        self._store = store
        self._sessions = Sessions(store.engine)

    def export(self, *, platform: str, workspace: str, user: str) -> dict[str, object]:
        """Everything the quickscan and roster tables hold about ``user``, JSON-serialisable.

        Open answers are returned decrypted: the member gets their own words back,
        which is the point of the right of access.
        """
        teams = _in_workspace(platform, workspace)
        with self._sessions.begin() as session:
            roles = session.execute(
                select(TeamRow.team_ref, CoordinatorRow.added_by, CoordinatorRow.added_at)
                .join(TeamRow, TeamRow.id == CoordinatorRow.team_id)
                .where(CoordinatorRow.user_ref == user, CoordinatorRow.team_id.in_(teams))
                .order_by(CoordinatorRow.added_at)
            ).all()
            added = session.execute(
                select(TeamRow.team_ref, CoordinatorRow.user_ref, CoordinatorRow.added_at)
                .join(TeamRow, TeamRow.id == CoordinatorRow.team_id)
                .where(
                    CoordinatorRow.added_by == user,
                    CoordinatorRow.user_ref != user,
                    CoordinatorRow.team_id.in_(teams),
                )
                .order_by(CoordinatorRow.added_at)
            ).all()
            opened = session.execute(
                select(TeamRow.team_ref, RoundRow.id, RoundRow.instrument_id, RoundRow.opened_at)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(RoundRow.opened_by == user, RoundRow.team_id.in_(teams))
                .order_by(RoundRow.id)
            ).all()
            checklist_opened = session.execute(
                select(
                    TeamRow.team_ref,
                    ChecklistRoundRow.school_year,
                    ChecklistRoundRow.number,
                    ChecklistRoundRow.opened_at,
                )
                .join(TeamRow, TeamRow.id == ChecklistRoundRow.team_id)
                .where(ChecklistRoundRow.opened_by == user, ChecklistRoundRow.team_id.in_(teams))
                .order_by(ChecklistRoundRow.id)
            ).all()
            participations = session.execute(
                select(ParticipationRow, RoundRow, TeamRow.team_ref)
                .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(ParticipationRow.user_ref == user, RoundRow.team_id.in_(teams))
                .order_by(ParticipationRow.id)
            ).all()
            roster = person_data(session, platform=platform, workspace=workspace, user=user)
            plans = plan_data(session, platform=platform, workspace=workspace, user=user)
        return {
            "roster": roster,
            **plans,
            "coordinator_of": [
                {"team": team, "added_by": by, "added_at": _iso(at)} for team, by, at in roles
            ],
            "coordinators_added_by_you": [
                {"team": team, "user": other, "added_at": _iso(at)} for team, other, at in added
            ],
            "quickscan_rounds_opened": [
                {"team": team, "round": round_id, "instrument": instrument, "opened_at": _iso(at)}
                for team, round_id, instrument, at in opened
            ],
            "checklist_rounds_opened": [
                {"team": team, "school_year": year, "round": number, "opened_at": _iso(at)}
                for team, year, number, at in checklist_opened
            ],
            "participations": [
                {
                    "team": team,
                    "round": round_.id,
                    "instrument": round_.instrument_id,
                    "round_status": round_.status,
                    "display_name": row.display_name,
                    "state": row.state,
                    "invited_at": _iso(row.invited_at),
                    "started_at": _iso(row.started_at),
                    "submitted_at": _iso(row.submitted_at),
                    "unreachable_at": _iso(row.unreachable_at),
                    "answers": self._store.answers(participation_id=row.id),
                }
                for row, round_, team in participations
            ],
        }

    def last_coordinator_of(self, *, platform: str, workspace: str, user: str) -> list[str]:
        """Team channels where ``user`` is the only coordinator (erasure leaves none)."""
        with self._sessions.begin() as session:
            own = (
                select(CoordinatorRow.team_id)
                .where(
                    CoordinatorRow.user_ref == user,
                    CoordinatorRow.team_id.in_(_in_workspace(platform, workspace)),
                )
                .scalar_subquery()
            )
            alone = (
                select(CoordinatorRow.team_id)
                .where(CoordinatorRow.team_id.in_(own))
                .group_by(CoordinatorRow.team_id)
                .having(func.count() == 1)
            )
            return list(
                session.scalars(
                    select(TeamRow.team_ref).where(TeamRow.id.in_(alone)).order_by(TeamRow.id)
                )
            )

    def unfrozen_rounds(
        self, *, platform: str, workspace: str, user: str
    ) -> list[tuple[TeamKey, int]]:
        """Closed rounds ``user`` took part in whose result has no snapshot yet.

        Rounds closed before snapshots existed are frozen on first view. Erasing the
        member's answers before that would freeze a result without them, and that
        result next to the close post (computed with them) would show their answers
        by difference; ``bot/privacy.py`` freezes these rounds before ``forget``.
        """
        with self._sessions.begin() as session:
            rows = session.execute(
                select(TeamRow.team_ref, RoundRow.id)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .join(ParticipationRow, ParticipationRow.round_id == RoundRow.id)
                .where(
                    ParticipationRow.user_ref == user,
                    TeamRow.platform == platform,
                    TeamRow.workspace == workspace,
                    RoundRow.status == RoundStatus.CLOSED.value,
                    ~select(RoundResultRow.round_id)
                    .where(RoundResultRow.round_id == RoundRow.id)
                    .exists(),
                )
                .order_by(RoundRow.id)
            ).all()
        return [
            (TeamKey(platform=platform, workspace=workspace, team=team_ref), round_id)
            for team_ref, round_id in rows
        ]

    def forget(self, *, platform: str, workspace: str, user: str) -> Forgotten:
        """Erase ``user``'s quickscan rows in the workspace, in one transaction.

        Participations go with their answers, open rounds included (the member's
        answers simply no longer count); coordinator roles go; where a row must
        stay for the team (a round's opener, who added a coordinator) the id is
        blanked. Closed rounds' snapshots are not touched here: they hold
        aggregates, and their respondent fingerprints are ``ResultStore``'s; the
        checklist's rows (openers of checklist rounds included) are
        ``ChecklistStore.forget_teacher``'s. What the platform's roster learned
        about the member (their name, the groups they were seen in) goes too.
        """
        last = self.last_coordinator_of(platform=platform, workspace=workspace, user=user)
        teams = _in_workspace(platform, workspace)
        rounds = select(RoundRow.id).where(RoundRow.team_id.in_(teams))
        with self._sessions.begin() as session:
            participations, answers = delete_participations(
                session, ParticipationRow.user_ref == user, ParticipationRow.round_id.in_(rounds)
            )
            roles = session.execute(
                delete(CoordinatorRow)
                .where(CoordinatorRow.user_ref == user, CoordinatorRow.team_id.in_(teams))
                .execution_options(synchronize_session=False)
            )
            for statement in (
                update(CoordinatorRow)
                .where(CoordinatorRow.added_by == user, CoordinatorRow.team_id.in_(teams))
                .values(added_by=ERASED_USER),
                update(RoundRow)
                .where(RoundRow.opened_by == user, RoundRow.team_id.in_(teams))
                .values(opened_by=ERASED_USER),
            ):
                session.execute(statement.execution_options(synchronize_session=False))
            forget_person(session, platform=platform, workspace=workspace, user=user)
            forget_plan_member(session, platform=platform, workspace=workspace, user=user)
            return Forgotten(
                participations=participations,
                answers=answers,
                coordinator_roles=rowcount(roles),
                last_coordinator_of=tuple(last),
            )
