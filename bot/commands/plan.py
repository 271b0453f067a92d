"""``/quickscan plan ...``: the team's plan after a result, as routes.

* ``/quickscan plan`` (anyone): the current plan, privately, or how to make one.
* ``/quickscan plan prioriteit|stap|eigenaar|datum|draagvlak|vaststellen|volgende
  ...`` (coordinator): change a part; the change is announced in the channel,
  a refusal goes only to the coordinator (bot/plans/edit.py).
* In a DM, the plan's buttons: a member's support vote and the owner's answer
  about the first step (:class:`PlanDmRoute`, before the walkthrough's route).

docs/plan.md describes the whole design for the team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bot.commands.common import TeamCommandRoute, format_day
from bot.commands.parse import Command, Sub, arg_words
from bot.core.context import EventContext
from bot.core.ports import Roster
from bot.core.router import Route
from bot.plans.edit import PlanEditor
from bot.plans.followup import PlanPings
from bot.plans.payloads import Kind, decode, is_plan_payload
from bot.plans.service import PlanService
from bot.plans.support import Support
from bot.plans.texts import factor_names
from bot.results.service import Results
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound, Where
from conversations.core.text_input import quote
from conversations.instrument import Quickscan
from conversations.quickscan.walkthrough import Walkthrough
from storage.plans.store import PlanStore
from storage.quickscan.records import Team
from storage.quickscan.store import Store
from storage.results.store import ResultStore

PRIORITY_WORDS = arg_words("plan_priority")
STEP_WORDS = arg_words("plan_step")
OWNER_WORDS = arg_words("plan_owner")
DATE_WORDS = arg_words("plan_date")
SUPPORT_WORDS = arg_words("plan_support")
CLOSE_WORDS = arg_words("plan_close")
AGREE_WORDS = arg_words("plan_agree")
NEXT_WORDS = arg_words("plan_next")


def needs_roster(command: Command) -> bool:
    """Whether the command needs the channel's members (asked before the transaction)."""
    if command.sub is not Sub.PLAN or not command.args:
        return False
    word = command.args[0].lower()
    asks = word in SUPPORT_WORDS and len(command.args) == 1
    return asks or word in OWNER_WORDS


class PlanShowRoute(TeamCommandRoute):
    """``/quickscan plan``: the plan so far, privately, for anyone."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.PLAN})

    def __init__(self, *, service: PlanService) -> None:
        self._service = service

    def takes(self, command: Command) -> bool:
        """Without arguments only: with them it is a change."""
        return not command.args

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The plan, its state and the next thing to do."""
        texts = ctx.texts
        current = self._service.current(key=ctx.key)
        if current is None:
            return [ctx.private(texts.t("plan.view.no_round"))]
        round_, plan = current.round_, current.plan
        if plan is None:
            suggested = self._service.suggested(team=team, round_=round_)
            instrument = self._service.instrument(round_=round_)
            example = " ".join(str(number) for number in suggested) or "3 7"
            hint = (
                texts.t(
                    "plan.priority.suggested", factors=factor_names(instrument, factors=suggested)
                )
                if suggested
                else ""
            )
            return [ctx.private(texts.t("plan.view.none", example=example, suggested=hint))]
        if plan.agreed_at is None:
            title = texts.t("plan.view.draft")
        else:
            state = "plan.view.changed" if plan.changed else "plan.view.agreed"
            title = texts.t(
                state,
                coordinator=plan.agreed_by_name or texts.t("plan.next.opener"),
                date=format_day(plan.agreed_at),
            )
        lines = [
            title,
            *self._service.lines(
                team=team, plan=plan, round_=round_, texts=texts, with_support=True
            ),
        ]
        if plan.followup_answer is not None:
            answer = texts.t(f"plan.answer.{plan.followup_answer.value}")
            lines.append(texts.t("plan.view.followup", answer=answer))
        missing = plan.missing()
        if missing:
            parts = ", ".join(texts.t(f"plan.part.{part}") for part in missing)
            lines.append(texts.t("plan.view.missing", parts=parts))
        lines.append(texts.t("plan.view.how"))
        return [ctx.private("\n".join(lines))]


class PlanChangeRoute(TeamCommandRoute):
    """``/quickscan plan <part> ...``: a coordinator changes the plan."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.PLAN})
    coordinator_only = True
    replans = True  # the follow-up and the next round are planned pings

    def __init__(self, *, service: PlanService, editor: PlanEditor) -> None:
        self._service = service
        self._editor = editor

    def takes(self, command: Command) -> bool:
        """With arguments only."""
        return bool(command.args)

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Dispatch on the part's word; an unknown word gets the usage privately."""
        texts = ctx.texts
        word, rest = command.args[0].lower(), command.args[1:]
        known = (
            PRIORITY_WORDS | STEP_WORDS | OWNER_WORDS | DATE_WORDS | SUPPORT_WORDS,
            AGREE_WORDS | NEXT_WORDS,
        )
        if not any(word in words for words in known):
            return [ctx.private(texts.t("plan.usage", word=quote(command.args[0])))]
        current = self._service.current(key=ctx.key)
        if current is None:
            return [ctx.private(texts.t("plan.view.no_round"))]
        edit = self._editor
        if word in PRIORITY_WORDS:
            return edit.priorities(ctx, team=team, current=current, args=rest)
        if word in STEP_WORDS:
            return edit.step(ctx, current=current, args=rest)
        if word in OWNER_WORDS:
            return edit.owner(ctx, current=current, args=rest)
        if word in DATE_WORDS:
            return edit.due_date(ctx, team=team, current=current, args=rest)
        if word in NEXT_WORDS:
            return edit.next_round(ctx, team=team, current=current, args=rest)
        if word in AGREE_WORDS:
            if rest:
                return [ctx.private(texts.t("plan.agree.usage"))]
            return edit.agree(ctx, team=team, current=current)
        closing = len(rest) == 1 and rest[0].lower() in CLOSE_WORDS
        args = () if closing else rest
        return edit.support(ctx, team=team, current=current, args=args, close=closing)


class PlanDmRoute:
    """A plan button pressed in a DM: a support vote or the owner's answer.

    Before the walkthrough's route, which would read it as a stray button. The
    payload names the plan, which names the team: a DM may carry no team at all.
    """

    needs_team = False
    coordinator_only = False
    replans = False

    def __init__(self, *, service: PlanService, support: Support, pings: PlanPings) -> None:
        self._service = service
        self._support = support
        self._pings = pings

    def check(self, ctx: EventContext) -> bool:
        """A plan button in a DM."""
        return ctx.event.where is Where.DM and is_plan_payload(ctx.event.payload)

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Checked against the plan of the presser's workspace, then recorded."""
        event = ctx.event
        action = decode(event.payload or "")
        plan = None
        if action is not None:
            plan = self._service.plans.get(
                plan_id=action.plan_id, platform=event.platform, workspace=event.workspace
            )
        team = None if plan is None else self._service.store.get_team(key=plan.team)
        if action is None or plan is None or team is None:
            stale = Catalogue().t("plan.button_unknown")
            return [
                Outbound(destination=Destination.dm(team=event.team, user=ctx.user), text=stale)
            ]
        if action.kind is Kind.VOTE:
            return self._support.vote(
                team=team, plan=plan, action=action, user=ctx.user, now=ctx.now
            )
        return self._pings.answer(team=team, plan=plan, action=action, user=ctx.user, now=ctx.now)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanParts:
    """The plan's faces, sharing one service.

    Attributes:
        team_routes: ``/quickscan plan`` (anyone) and its changes (coordinator).
        dm_route: The plan's buttons in a DM; it goes before the walkthrough's route.
        pings: The follow-up and next-round pings, a source of the reminders.
    """

    team_routes: tuple[Route, ...]
    dm_route: Route
    pings: PlanPings


def build_plan(
    *,
    store: Store,
    instruments: Mapping[str, Quickscan],
    roster: Roster,
    walkthrough: Walkthrough,
    results: Results,
) -> PlanParts:
    """The plan's routes and pings on the engine's store and roster (one of each store)."""
    service = PlanService(
        store=store,
        plans=PlanStore(engine=store.engine),
        snapshots=ResultStore(engine=store.engine),
        results=results,
        instruments=instruments,
        roster=roster,
    )
    support = Support(service=service)
    pings = PlanPings(service=service, walkthrough=walkthrough)
    editor = PlanEditor(service=service, support=support)
    return PlanParts(
        team_routes=(
            PlanShowRoute(service=service),
            PlanChangeRoute(service=service, editor=editor),
        ),
        dm_route=PlanDmRoute(service=service, support=support, pings=pings),
        pings=pings,
    )
