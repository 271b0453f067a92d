"""The support question ("draagvlak"): every member privately backs the plan or not.

``/quickscan plan draagvlak`` asks each member of the team in their DM, with
three buttons (steun / twijfel / geen steun). A member may change their vote
while the question is open; a vote is stored per member and plan (one row, a
unique key), never shown per person and never logged.

The share reaches the channel once per question, when it closes (``plan
draagvlak sluit`` or ``plan vaststellen``), and only from the team's minimum of
votes, in the result's tiers (bot/plans/texts.py). Publishing it at every vote
would let anyone who watches the channel read each new vote as the difference
of two posts; so while the question is open the channel sees only that enough
colleagues answered. When the question closes the share is frozen on the plan
and the votes are deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.plans.payloads import VOTES, Kind, PlanAction
from bot.plans.service import PlanService
from bot.plans.texts import factor_names
from conversations.core.i18n import Catalogue
from conversations.core.messages import Button, Destination, Outbound
from storage.plans.records import Plan
from storage.quickscan.records import Round, Team

log = logging.getLogger(__name__)


def vote_buttons(texts: Catalogue, *, plan: Plan) -> tuple[Button, ...]:
    """Steun / twijfel / geen steun for the plan's open question."""
    return tuple(
        Button(
            label=texts.t(f"plan.vote.{vote.value}"),
            payload=PlanAction(
                plan_id=plan.id, kind=Kind.VOTE, ref=plan.support_round, choice=index
            ).encode(),
        )
        for index, vote in enumerate(VOTES, start=1)
    )


class Support:
    """Asks the question and takes the votes (closing is the coordinator's, bot/plans/edit.py)."""

    def __init__(self, *, service: PlanService) -> None:
        self._service = service

    def ask(
        self,
        *,
        team: Team,
        plan: Plan,
        round_: Round,
        asked_by: str,
        texts: Catalogue,
        now: datetime,
    ) -> tuple[Plan, int, list[Outbound]]:
        """Open a new question and DM every member; returns the plan, how many, the DMs."""
        members = self._service.members(key=team.key, round_=round_)
        self._service.plans.open_support(
            plan_id=plan.id, members=[member.user for member in members], now=now
        )
        plan = self._service.plans.for_round(key=team.key, round_id=round_.id) or plan
        instrument = self._service.instrument(round_=round_)
        text = texts.t(
            "plan.support.ask",
            coordinator=asked_by,
            factors=factor_names(instrument, factors=plan.factors),
            step=plan.step or texts.t("plan.unset"),
            minimum=team.min_respondents,
        )
        buttons = vote_buttons(texts, plan=plan)
        messages = [
            Outbound(
                destination=Destination.dm(team=team.key.team, user=member.user),
                text=text,
                buttons=buttons,
                key=f"plan:{plan.id}:support:{plan.support_round}:{member.user}",
            )
            for member in members
        ]
        log.info("plan %d: support question %d asked", plan.id, plan.support_round)
        return plan, len(members), messages

    def vote(
        self, *, team: Team, plan: Plan, action: PlanAction, user: str, now: datetime
    ) -> list[Outbound]:
        """Record the member's vote (privately confirmed); at the minimum, tell the channel.

        A question of a superseded plan (a newer round closed) takes no vote: its
        votes were deleted when that round closed.
        """
        texts = Catalogue(team.locale)
        dm = Destination.dm(team=team.key.team, user=user)
        if not self._service.is_current(plan=plan):
            return [Outbound(destination=dm, text=texts.t("plan.support.closed"))]
        tally = self._service.plans.vote(
            plan_id=plan.id, member=user, support_round=action.ref, vote=action.vote, now=now
        )
        if tally is None:
            return [Outbound(destination=dm, text=texts.t("plan.support.closed"))]
        confirm = Outbound(
            destination=dm,
            text=texts.t("plan.support.thanks", vote=texts.t(f"plan.vote.{action.vote.value}")),
            buttons=vote_buttons(texts, plan=plan),
        )
        messages = [confirm]
        if tally.votes >= team.min_respondents:
            messages.append(
                Outbound(
                    destination=Destination.team_channel(team=team.key.team),
                    text=texts.t("plan.support.enough", count=tally.votes),
                    key=f"plan:{plan.id}:support:{plan.support_round}:enough",
                )
            )
        return messages
