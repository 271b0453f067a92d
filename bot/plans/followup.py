"""The plan's own pings: the owner's follow-up, the reminder to coordinators, the next round.

A :class:`~bot.calendar.reminders.PingSource`: the reminders own the timer and
the ping outbox, this module says which pings an agreed plan wants and what they
say. Planning is pure (ids derive from the plan and its dates), so planning
again changes nothing; every ping is at 08:00 on a school day.

* ``plan_followup``: on the step's date the owner is asked privately whether the
  first step was taken (gedaan / deels / nog niet). The answer is posted in the
  channel; "deels" and "nog niet" also tell the coordinators privately how to set
  a new date, on which the owner is asked again.
* ``plan_nudge``: five school days later, if the owner has not answered, the
  coordinators are told privately, once.
* ``plan_next_round``: on the next round's day the bot opens the round itself
  (same instrument, everyone invited, deadline three weeks later on a school
  day), announced in the channel; if a round is already open it tells the
  coordinators instead.

Only the plan of the team's latest closed round has pings: once the next round
has closed, the team makes a new plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.calendar.planner import SchoolDays, at_eight, end_of
from bot.calendar.team_calendar import days_for
from bot.commands.rounds import open_round_and_invite
from bot.plans import days as school
from bot.plans.payloads import ANSWERS, Kind, PlanAction
from bot.plans.service import PlanService
from bot.plans.texts import day_text
from conversations.core.i18n import Catalogue
from conversations.core.messages import Button, Destination, Outbound, Sender
from conversations.quickscan.walkthrough import Walkthrough
from storage.checklist.lifecycle import ERASED_USER
from storage.keys import TeamKey
from storage.plans.records import Plan, StepAnswer
from storage.quickscan.records import RoundAlreadyOpenError, Team
from storage.schedule.store import Ping, PlannedPing

log = logging.getLogger(__name__)

FOLLOWUP = "plan_followup"
NUDGE = "plan_nudge"
NEXT_ROUND = "plan_next_round"
KEEP_USEFUL = timedelta(days=14)


def _ref(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def _day_of(ref: int) -> date | None:
    try:
        return datetime.strptime(f"{ref:08d}", "%Y%m%d").date()  # noqa: DTZ007  # a calendar day, no time
    except ValueError:
        return None


class PlanPings:
    """Plans and fires the pings of the team's agreed plan."""

    kinds = frozenset({FOLLOWUP, NUDGE, NEXT_ROUND})

    def __init__(self, *, service: PlanService, walkthrough: Walkthrough) -> None:
        self._service = service
        self._walkthrough = walkthrough
        self._replan: Callable[[TeamKey], None] | None = None

    def set_replan(self, replan: Callable[[TeamKey], None]) -> None:
        """The reminders' re-plan (built after this source), for the owner's answer."""
        self._replan = replan

    # ---------------------------------------------------------------- planning

    def plan(self, *, team: Team, days: SchoolDays | None, now: datetime) -> list[PlannedPing]:
        """The follow-up, the nudge and the next round of the current, agreed plan."""
        current = self._service.current(key=team.key)
        if current is None or current.plan is None or not current.plan.agreed:
            return []
        plan = current.plan
        prefix = f"team{team.id}:plan{plan.id}"
        args = {"plan_id": plan.id}
        pings: list[PlannedPing] = []
        if plan.owner_ref and plan.due_date is not None and plan.followup_answer is None:
            due = plan.due_date
            nudge = school.school_days_after(
                days, day=due, count=school.FOLLOWUP_NUDGE_SCHOOL_DAYS
            )
            dated = {**args, "date": due.isoformat()}
            pings.append(
                PlannedPing(
                    id=f"{prefix}:followup:{due.isoformat()}",
                    kind=FOLLOWUP,
                    due_at=at_eight(due),
                    useful_until=end_of(nudge),
                    args=dated,
                )
            )
            pings.append(
                PlannedPing(
                    id=f"{prefix}:nudge:{due.isoformat()}",
                    kind=NUDGE,
                    due_at=at_eight(nudge),
                    useful_until=at_eight(nudge) + KEEP_USEFUL,
                    args=dated,
                )
            )
        if plan.next_round_date is not None:
            day = plan.next_round_date
            pings.append(
                PlannedPing(
                    id=f"{prefix}:next:{day.isoformat()}",
                    kind=NEXT_ROUND,
                    due_at=at_eight(day),
                    useful_until=at_eight(day) + KEEP_USEFUL,
                    args={**args, "date": day.isoformat()},
                )
            )
        return pings

    # ---------------------------------------------------------------- firing

    def fire(self, *, ping: Ping, now: datetime) -> list[Outbound]:
        """The messages of a due ping whose plan is still current and unchanged."""
        team = self._service.store.get_team(key=ping.team)
        current = self._service.current(key=ping.team)
        if team is None or current is None or current.plan is None:
            return []
        plan = current.plan
        if plan.id != ping.args.get("plan_id") or not plan.agreed:
            return []
        on = date.fromisoformat(str(ping.args.get("date")))
        texts = Catalogue(team.locale)
        if ping.kind == FOLLOWUP:
            return self._ask_owner(team=team, plan=plan, on=on, texts=texts)
        if ping.kind == NUDGE:
            return self._nudge(team=team, plan=plan, on=on, texts=texts)
        if ping.kind == NEXT_ROUND and plan.next_round_date == on:
            return self._open_next(team=team, plan=plan, on=on, texts=texts, now=now)
        return []

    def _ask_owner(self, *, team: Team, plan: Plan, on: date, texts: Catalogue) -> list[Outbound]:
        if plan.due_date != on or plan.owner_ref is None or plan.followup_answer is not None:
            return []
        buttons = tuple(
            Button(
                label=texts.t(f"plan.answer.{answer.value}"),
                payload=PlanAction(
                    plan_id=plan.id, kind=Kind.FOLLOWUP, ref=_ref(on), choice=index
                ).encode(),
            )
            for index, answer in enumerate(ANSWERS, start=1)
        )
        log.info("plan %d: owner asked about the first step", plan.id)
        return [
            Outbound(
                destination=Destination.dm(team=team.key.team, user=plan.owner_ref),
                text=texts.t("plan.followup.ask", step=plan.step, date=day_text(texts, on)),
                buttons=buttons,
                key=f"plan:{plan.id}:followup:{on.isoformat()}",
            )
        ]

    def _nudge(self, *, team: Team, plan: Plan, on: date, texts: Catalogue) -> list[Outbound]:
        if plan.due_date != on or plan.owner_ref is None or plan.followup_answer is not None:
            return []
        text = texts.t(
            "plan.followup.nudge",
            owner=plan.owner_name or plan.owner_ref,
            step=plan.step,
            date=day_text(texts, on),
        )
        return self._to_coordinators(team=team, plan=plan, text=text, key=f"nudge:{on}")

    def _open_next(
        self, *, team: Team, plan: Plan, on: date, texts: Catalogue, now: datetime
    ) -> list[Outbound]:
        key = team.key
        round_ = self._service.store.get_round(key=key, round_id=plan.round_id)
        instrument = None if round_ is None else self._service.instrument(round_=round_)
        if round_ is None or instrument is None:
            return []
        if self._service.store.current_round(key=key) is not None:
            return self._already_open(team=team, plan=plan, texts=texts)
        days = days_for(team)
        deadline = school.next_round_deadline(days, opens=on)
        members = self._service.members(key=key, round_=round_)
        agreed_by = plan.agreed_by if plan.agreed_by != ERASED_USER else None
        opener = Sender(
            user=agreed_by or "",  # an erased coordinator opens nothing in their name
            display_name=plan.agreed_by_name or texts.t("plan.next.opener"),
        )
        announcement = texts.t(
            "plan.next.opened",
            title=instrument.title,
            count=len(members),
            deadline=day_text(texts, deadline),
            date=day_text(texts, school.local_day(plan.agreed_at) if plan.agreed_at else on),
        )
        try:
            return open_round_and_invite(
                store=self._service.store,
                walkthrough=self._walkthrough,
                key=key,
                instrument_id=round_.instrument_id,
                members=members,
                opened_by=opener,
                deadline=end_of(deadline),
                now=now,
                announcement=announcement,
            )
        except RoundAlreadyOpenError:
            return self._already_open(team=team, plan=plan, texts=texts)

    def _already_open(self, *, team: Team, plan: Plan, texts: Catalogue) -> list[Outbound]:
        text = texts.t("plan.next.already_open")
        return self._to_coordinators(team=team, plan=plan, text=text, key="next-open")

    def _to_coordinators(self, *, team: Team, plan: Plan, text: str, key: str) -> list[Outbound]:
        return [
            Outbound(
                destination=Destination.dm(team=team.key.team, user=user),
                text=text,
                key=f"plan:{plan.id}:{key}:{user}",
            )
            for user in self._service.coordinators(key=team.key, plan=plan)
        ]

    # ---------------------------------------------------------------- answering

    def answer(
        self, *, team: Team, plan: Plan, action: PlanAction, user: str, now: datetime
    ) -> list[Outbound]:
        """The owner's answer: posted in the channel; "deels"/"nog niet" tell the coordinators."""
        texts = Catalogue(team.locale)
        dm = Destination.dm(team=team.key.team, user=user)
        if user != plan.owner_ref:
            return [Outbound(destination=dm, text=texts.t("plan.followup.not_owner"))]
        if not self._service.is_current(plan=plan):  # a newer round closed: a new plan
            return [Outbound(destination=dm, text=texts.t("plan.followup.stale"))]
        on = _day_of(action.ref)
        answer = action.answer
        if on is None or not self._service.plans.answer_followup(
            plan_id=plan.id, on=on, answer=answer, now=now
        ):
            return [Outbound(destination=dm, text=texts.t("plan.followup.stale"))]
        if self._replan is not None:
            self._replan(team.key)  # the nudge is no longer wanted
        owner = plan.owner_name or user
        said = texts.t(f"plan.answer.{answer.value}")
        messages = [
            Outbound(destination=dm, text=texts.t("plan.followup.thanks", answer=said)),
            Outbound(
                destination=Destination.team_channel(team=team.key.team),
                text=texts.t("plan.followup.posted", step=plan.step, answer=said, owner=owner),
            ),
        ]
        if answer is not StepAnswer.GEDAAN:
            text = texts.t("plan.followup.new_date", owner=owner, answer=said)
            messages += self._to_coordinators(
                team=team, plan=plan, text=text, key=f"answered:{on}"
            )
        log.info("plan %d: the owner answered the follow-up", plan.id)
        return messages
