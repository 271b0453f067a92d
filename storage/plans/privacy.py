"""A member's plan data for the rights of access and erasure (storage/privacy/member_data.py).

What the plan tables hold about a person: their vote on an open support question
(closed questions keep only the frozen share, no votes), the plans whose first
step they carry, and the plans they agreed as coordinator. Erasure deletes the
votes and blanks the names; the plans stay, as the team's decisions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.checklist.lifecycle import ERASED_USER
from storage.models.plans import PlanVoteRow, TeamPlanRow
from storage.models.quickscan import TeamRow
from storage.quickscan.queries import rowcount


def _iso(moment: date | datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _teams(platform: str, workspace: str) -> Any:
    return select(TeamRow.id).where(TeamRow.platform == platform, TeamRow.workspace == workspace)


def plan_data(session: Session, *, platform: str, workspace: str, user: str) -> dict[str, Any]:
    """The member's votes and plan roles in one workspace, JSON-serialisable."""
    teams = _teams(platform, workspace)
    votes = session.execute(
        select(TeamRow.team_ref, PlanVoteRow)
        .join(TeamPlanRow, TeamPlanRow.id == PlanVoteRow.plan_id)
        .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
        .where(PlanVoteRow.member == user, TeamPlanRow.team_id.in_(teams))
        .order_by(PlanVoteRow.id)
    ).all()
    owned = session.execute(
        select(TeamRow.team_ref, TeamPlanRow)
        .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
        .where(TeamPlanRow.owner_ref == user, TeamPlanRow.team_id.in_(teams))
        .order_by(TeamPlanRow.id)
    ).all()
    agreed = session.execute(
        select(TeamRow.team_ref, TeamPlanRow.id, TeamPlanRow.agreed_at)
        .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
        .where(TeamPlanRow.agreed_by == user, TeamPlanRow.team_id.in_(teams))
        .order_by(TeamPlanRow.id)
    ).all()
    return {
        "plan_votes": [
            {
                "team": team,
                "plan": row.plan_id,
                "question": row.support_round,
                "vote": row.vote,
                "asked_at": _iso(row.asked_at),
                "voted_at": _iso(row.voted_at),
            }
            for team, row in votes
        ],
        "plan_steps_owned": [
            {
                "team": team,
                "plan": row.id,
                "name": row.owner_name,
                "step": row.step,
                "due_date": _iso(row.due_date),
                "answer": row.followup_answer,
                "answered_at": _iso(row.followup_answered_at),
            }
            for team, row in owned
        ],
        "plans_agreed": [
            {"team": team, "plan": plan_id, "agreed_at": _iso(at)} for team, plan_id, at in agreed
        ],
    }


def forget_plan_member(session: Session, *, platform: str, workspace: str, user: str) -> int:
    """Delete the member's votes and blank their name on plans; returns votes deleted.

    A plan whose owner is erased has no owner any more: nobody is asked about its
    step, and a coordinator names a new owner.
    """
    teams = _teams(platform, workspace)
    plans = select(TeamPlanRow.id).where(TeamPlanRow.team_id.in_(teams))
    votes = session.execute(
        delete(PlanVoteRow)
        .where(PlanVoteRow.member == user, PlanVoteRow.plan_id.in_(plans))
        .execution_options(synchronize_session=False)
    )
    for statement in (
        update(TeamPlanRow)
        .where(TeamPlanRow.owner_ref == user, TeamPlanRow.team_id.in_(teams))
        .values(owner_ref=None, owner_name=None),
        update(TeamPlanRow)
        .where(TeamPlanRow.agreed_by == user, TeamPlanRow.team_id.in_(teams))
        .values(agreed_by=ERASED_USER, agreed_by_name=None),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    return rowcount(votes)
