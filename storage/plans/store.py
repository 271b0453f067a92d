"""Repository of the team's plans and the support votes (tables ``team_plans``, ``plan_votes``).

Every method is one short transaction, or joins the event's unit of work. What
two processes may do to one plan at once is decided by the database: a plan is
created with ``INSERT … ON CONFLICT DO NOTHING`` on its round, a vote and the
closing of the support question both lock the plan's row first (PostgreSQL
``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already holds the only write lock),
and the owner's answer is a conditional UPDATE that only the first answer passes.
Team commands change a plan under the team's lock (the engine's), a member's vote
under the member's lock: the row lock is what orders the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.keys import TeamKey
from storage.models.plans import PlanVoteRow, TeamPlanRow
from storage.models.quickscan import RoundRow, TeamRow
from storage.plans.records import Plan, StepAnswer, Vote
from storage.quickscan.queries import dialect_insert, rowcount, team_filter
from storage.transactions import Sessions


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """The open support question's state: who was asked, how many answered what.

    Only counts: which member gave which vote never leaves this module.
    """

    asked: int
    counts: Mapping[Vote, int]

    @property
    def votes(self) -> int:
        """How many members answered."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class Closing:
    """What closing the support question found: the count, and whether it closed."""

    tally: Tally
    closed: bool


def _counts(stored: str | None) -> dict[Vote, int] | None:
    if stored is None:
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {vote: int(data.get(vote.value, 0)) for vote in Vote}


def _factors(stored: str) -> tuple[int, ...]:
    try:
        data = json.loads(stored)
    except ValueError:
        return ()
    if not isinstance(data, list):
        return ()
    return tuple(n for n in data if isinstance(n, int) and not isinstance(n, bool))


def _record(row: TeamPlanRow, team: TeamRow) -> Plan:
    return Plan(
        id=row.id,
        team=TeamKey(platform=team.platform, workspace=team.workspace, team=team.team_ref),
        team_id=team.id,
        round_id=row.round_id,
        factors=_factors(row.factors),
        step=row.step,
        owner_ref=row.owner_ref,
        owner_name=row.owner_name,
        due_date=row.due_date,
        next_round_date=row.next_round_date,
        next_round_chosen=bool(row.next_round_chosen),
        agreed_at=row.agreed_at,
        agreed_by=row.agreed_by,
        agreed_by_name=row.agreed_by_name,
        changed=bool(row.changed),
        support_round=row.support_round,
        support_open=bool(row.support_open),
        support_counts=_counts(row.support_counts),
        followup_answer=None if row.followup_answer is None else StepAnswer(row.followup_answer),
    )


class PlanStore:
    """Plans, their support questions and the owner's answers."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions = Sessions(engine)

    # ------------------------------------------------------------------ reading

    def get(self, *, plan_id: int, platform: str, workspace: str) -> Plan | None:
        """A plan by id, only within one platform workspace (payloads are never trusted)."""
        with self._sessions.begin() as session:
            found = session.execute(
                select(TeamPlanRow, TeamRow)
                .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
                .where(
                    TeamPlanRow.id == plan_id,
                    TeamRow.platform == platform,
                    TeamRow.workspace == workspace,
                )
            ).first()
            return None if found is None else _record(found[0], found[1])

    def for_round(self, *, key: TeamKey, round_id: int) -> Plan | None:
        """The team's plan answering ``round_id``, if one was started."""
        with self._sessions.begin() as session:
            found = session.execute(
                select(TeamPlanRow, TeamRow)
                .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
                .where(TeamPlanRow.round_id == round_id, *team_filter(key))
            ).first()
            return None if found is None else _record(found[0], found[1])

    def plans(self, *, key: TeamKey) -> list[Plan]:
        """All of the team's plans, newest round first."""
        with self._sessions.begin() as session:
            rows = session.execute(
                select(TeamPlanRow, TeamRow)
                .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
                .join(RoundRow, RoundRow.id == TeamPlanRow.round_id)
                .where(*team_filter(key))
                .order_by(RoundRow.opened_at.desc(), RoundRow.id.desc())
            ).all()
            return [_record(row, team) for row, team in rows]

    def tally(self, *, plan_id: int) -> Tally:
        """The open (or last) support question's counts."""
        with self._sessions.begin() as session:
            return self._tally(session, plan_id)

    # ------------------------------------------------------------------ changing

    def ensure(self, *, key: TeamKey, round_id: int, now: datetime) -> Plan:
        """The plan answering ``round_id``, created now if there is none.

        ``ON CONFLICT DO NOTHING`` on the round: two processes starting the plan at
        once get the same row.

        Raises:
            LookupError: The team does not exist.
        """
        with self._sessions.begin() as session:
            team_id = session.scalars(select(TeamRow.id).where(*team_filter(key))).one_or_none()
            if team_id is None:
                raise LookupError(f"unknown team {key}")
            session.execute(
                dialect_insert(self._engine, TeamPlanRow)
                .values(team_id=team_id, round_id=round_id, created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["round_id"])
            )
        found = self.for_round(key=key, round_id=round_id)
        if found is None:  # pragma: no cover - inserted or found just now
            raise LookupError(f"plan of round {round_id} vanished")
        return found

    def change(
        self,
        *,
        plan_id: int,
        now: datetime,
        factors: Sequence[int] | None = None,
        step: str | None = None,
        owner: tuple[str, str] | None = None,
        due_date: date | None = None,
        next_round_date: date | None = None,
    ) -> Plan:
        """Change parts of the plan (None leaves a part as it is).

        A new date starts a new follow-up: the owner is asked again on it. A plan
        changed after agreement is marked, so ``/quickscan plan`` says the posted
        plan is out of date until it is agreed again.
        """
        values: dict[str, Any] = {"updated_at": now}
        if factors is not None:
            values["factors"] = json.dumps(list(factors))
        if step is not None:
            values["step"] = step
        if owner is not None:
            values["owner_ref"], values["owner_name"] = owner
        if due_date is not None:
            values.update(due_date=due_date, followup_answer=None, followup_answered_at=None)
        if next_round_date is not None:
            values.update(next_round_date=next_round_date, next_round_chosen=True)
        with self._sessions.begin() as session:
            session.execute(
                update(TeamPlanRow)
                .where(TeamPlanRow.id == plan_id)
                .values(**values, changed=TeamPlanRow.agreed_at.is_not(None))
                .execution_options(synchronize_session=False)
            )
        return self._reload(plan_id)

    def agree(
        self, *, plan_id: int, by: str, by_name: str, next_round_date: date, now: datetime
    ) -> Plan:
        """Mark the plan agreed (again), with the next round's day fixed."""
        with self._sessions.begin() as session:
            session.execute(
                update(TeamPlanRow)
                .where(TeamPlanRow.id == plan_id)
                .values(
                    agreed_at=now,
                    agreed_by=by,
                    agreed_by_name=by_name,
                    next_round_date=next_round_date,
                    changed=False,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        return self._reload(plan_id)

    def open_support(self, *, plan_id: int, members: Sequence[str], now: datetime) -> int:
        """Ask the support question (again): votes of an earlier question are dropped.

        Returns:
            The new question's number (in the buttons, so old buttons are stale).
        """
        with self._sessions.begin() as session:
            row = self._locked(session, plan_id)
            row.support_round += 1
            row.support_open = True
            row.support_counts = None
            row.updated_at = now
            session.execute(delete(PlanVoteRow).where(PlanVoteRow.plan_id == plan_id))
            for member in dict.fromkeys(members):
                session.add(
                    PlanVoteRow(
                        plan_id=plan_id,
                        member=member,
                        support_round=row.support_round,
                        vote=None,
                        asked_at=now,
                    )
                )
            session.flush()
            return row.support_round

    def vote(
        self, *, plan_id: int, member: str, support_round: int, vote: Vote, now: datetime
    ) -> Tally | None:
        """Record (or change) an asked member's vote on the open question.

        Returns:
            The tally after the vote, or None when the question is not open any
            more (or is another one), or the member was not asked.
        """
        with self._sessions.begin() as session:
            row = self._locked(session, plan_id)
            if not row.support_open or row.support_round != support_round:
                return None
            written = session.execute(
                update(PlanVoteRow)
                .where(
                    PlanVoteRow.plan_id == plan_id,
                    PlanVoteRow.member == member,
                    PlanVoteRow.support_round == support_round,
                )
                .values(vote=vote.value, voted_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(written) != 1:
                return None
            return self._tally(session, plan_id)

    def close_support(self, *, plan_id: int, minimum: int, now: datetime) -> Closing | None:
        """Close the open question from ``minimum`` votes: freeze the share, delete the votes.

        The votes are counted once, under the plan's row lock, so a vote arriving
        meanwhile is either in the share or refused as too late. Below the minimum
        the question stays open (nothing changes). The individual votes have no use
        once the share is fixed, so they go.

        Returns:
            The count and whether the question closed; None when no question is open.
        """
        with self._sessions.begin() as session:
            row = self._locked(session, plan_id)
            if not row.support_open:
                return None
            tally = self._tally(session, plan_id)
            if tally.votes < minimum:
                return Closing(tally=tally, closed=False)
            row.support_open = False
            row.support_counts = json.dumps({vote.value: tally.counts[vote] for vote in Vote})
            row.updated_at = now
            session.execute(delete(PlanVoteRow).where(PlanVoteRow.plan_id == plan_id))
            return Closing(tally=tally, closed=True)

    def drop_support(self, *, key: TeamKey, keep_round_id: int, now: datetime) -> None:
        """Drop the open questions of the team's plans but the one of ``keep_round_id``.

        Called when a newer round closed (in the same transaction): the older plans
        are superseded, so their questions close without a share and their votes go.
        """
        with self._sessions.begin() as session:
            older = (
                select(TeamPlanRow.id)
                .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
                .where(*team_filter(key), TeamPlanRow.round_id != keep_round_id)
            )
            session.execute(
                delete(PlanVoteRow)
                .where(PlanVoteRow.plan_id.in_(older))
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(TeamPlanRow)
                .where(TeamPlanRow.id.in_(older), TeamPlanRow.support_open.is_(True))
                .values(support_open=False, updated_at=now)
                .execution_options(synchronize_session=False)
            )

    def answer_followup(
        self, *, plan_id: int, on: date, answer: StepAnswer, now: datetime
    ) -> bool:
        """The owner's answer about the step due ``on``; False if answered already or moved."""
        with self._sessions.begin() as session:
            written = session.execute(
                update(TeamPlanRow)
                .where(
                    TeamPlanRow.id == plan_id,
                    TeamPlanRow.due_date == on,
                    TeamPlanRow.followup_answer.is_(None),
                )
                .values(
                    followup_answer=answer.value,
                    followup_answered_at=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(written) == 1

    # ------------------------------------------------------------------ helpers

    def _reload(self, plan_id: int) -> Plan:
        with self._sessions.begin() as session:
            row, team = session.execute(
                select(TeamPlanRow, TeamRow)
                .join(TeamRow, TeamRow.id == TeamPlanRow.team_id)
                .where(TeamPlanRow.id == plan_id)
            ).one()
            return _record(row, team)

    @staticmethod
    def _locked(session: Session, plan_id: int) -> TeamPlanRow:
        """The plan's row, locked until the transaction ends (votes and closes queue up)."""
        return session.scalars(
            select(TeamPlanRow).where(TeamPlanRow.id == plan_id).with_for_update()
        ).one()

    @staticmethod
    def _tally(session: Session, plan_id: int) -> Tally:
        rows = session.execute(
            select(PlanVoteRow.vote, func.count())
            .where(PlanVoteRow.plan_id == plan_id)
            .group_by(PlanVoteRow.vote)
        ).all()
        counts = dict.fromkeys(Vote, 0)
        asked = 0
        for vote, count in rows:
            asked += count
            if vote is not None:
                counts[Vote(vote)] += count
        return Tally(asked=asked, counts=counts)
