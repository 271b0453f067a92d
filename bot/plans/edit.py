"""The coordinator's changes to the plan, one method per ``/quickscan plan <part>``.

Each change is announced in the channel ("{coordinator} zette ... in het plan"),
so the whole team sees the plan take shape; a refusal (a factor number out of
range, a date in the past, a name nobody has) goes only to the coordinator and
changes nothing. Every argument is hostile text: numbers are read as ASCII digits
within bounds, the step's text is cleaned and capped, names are matched against
the team's members, dates are read like a round's deadline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from bot.calendar.deadline import DeadlineError, parse_deadline
from bot.calendar.team_calendar import days_for
from bot.core.context import EventContext
from bot.plans import days as school
from bot.plans.service import Current, PlanService, valid_factors
from bot.plans.support import Support
from bot.plans.texts import day_text, factor_names, support_share
from conversations.core.messages import Outbound
from conversations.core.text_input import clean, is_safe_text, parse_bounded_int, quote, user_ref
from storage.plans.records import PARTS, Plan
from storage.quickscan.records import Team

MAX_PRIORITIES = 3
STEP_MAX_CHARS = 300
"""A first step is one concrete sentence or two; longer text belongs in the team meeting."""
_SEPARATORS = re.compile(r"[,\s]+")


class PlanEditor:
    """Applies ``/quickscan plan <part> ...`` to the plan of the latest closed round."""

    def __init__(self, *, service: PlanService, support: Support) -> None:
        self._service = service
        self._support = support

    def _plan(self, ctx: EventContext, current: Current) -> Plan:
        return self._service.ensure(key=ctx.key, round_=current.round_, now=ctx.now)

    def _name(self, ctx: EventContext) -> str:
        return ctx.event.sender.display_name

    # ---------------------------------------------------------------- parts

    def priorities(
        self, ctx: EventContext, *, team: Team, current: Current, args: Sequence[str]
    ) -> list[Outbound]:
        """``plan prioriteit 3 7``: one to three success factors of the closed round."""
        texts = ctx.texts
        instrument = self._service.instrument(round_=current.round_)
        valid = valid_factors(instrument=instrument)
        if not valid:
            return [ctx.private(texts.t("plan.priority.no_factors"))]
        tokens = [token for token in _SEPARATORS.split(" ".join(args)) if token]
        chosen: list[int] = []
        for token in tokens:
            value = parse_bounded_int(token, low=valid[0], high=valid[-1])
            if value is None or value not in valid or value in chosen:
                chosen = []
                break
            chosen.append(value)
        if not 1 <= len(chosen) <= MAX_PRIORITIES or len(chosen) != len(tokens):
            suggested = self._service.suggested(team=team, round_=current.round_)
            hint = (
                texts.t(
                    "plan.priority.suggested", factors=factor_names(instrument, factors=suggested)
                )
                if suggested
                else ""
            )
            reply = texts.t(
                "plan.priority.usage",
                low=valid[0],
                high=valid[-1],
                max=MAX_PRIORITIES,
                suggested=hint,
            )
            return [ctx.private(reply)]
        plan = self._service.plans.change(
            plan_id=self._plan(ctx, current).id, now=ctx.now, factors=chosen
        )
        text = texts.t(
            "plan.changed.factors",
            coordinator=self._name(ctx),
            factors=factor_names(instrument, factors=plan.factors),
        )
        return [ctx.to_channel(text)]

    def step(self, ctx: EventContext, *, current: Current, args: Sequence[str]) -> list[Outbound]:
        """``plan stap <tekst>``: the first step, one line of plain text."""
        texts = ctx.texts
        typed = " ".join(args)
        if not typed.strip():
            return [ctx.private(texts.t("plan.step.usage", max=STEP_MAX_CHARS))]
        if not is_safe_text(typed):
            return [ctx.private(texts.t("plan.step.unsafe"))]
        step = " ".join(clean(typed).split())
        if len(step) > STEP_MAX_CHARS:
            return [ctx.private(texts.t("plan.step.too_long", max=STEP_MAX_CHARS))]
        self._service.plans.change(plan_id=self._plan(ctx, current).id, now=ctx.now, step=step)
        return [
            ctx.to_channel(texts.t("plan.changed.step", coordinator=self._name(ctx), step=step))
        ]

    def owner(self, ctx: EventContext, *, current: Current, args: Sequence[str]) -> list[Outbound]:
        """``plan eigenaar @naam``: who carries the first step (a member of the team)."""
        texts = ctx.texts
        if len(args) != 1:
            return [ctx.private(texts.t("plan.owner.usage"))]
        ref = user_ref(args[0])
        member = None
        if ref is not None:
            member = self._service.find_member(key=ctx.key, round_=current.round_, typed=ref)
        if member is None:
            return [ctx.private(texts.t("plan.owner.unknown", text=quote(args[0])))]
        self._service.plans.change(
            plan_id=self._plan(ctx, current).id,
            now=ctx.now,
            owner=(member.user, member.display_name),
        )
        text = texts.t(
            "plan.changed.owner", coordinator=self._name(ctx), owner=member.display_name
        )
        return [ctx.to_channel(text)]

    def due_date(
        self, ctx: EventContext, *, team: Team, current: Current, args: Sequence[str]
    ) -> list[Outbound]:
        """``plan datum 15-03``: by when; moved to the next school day if it is none."""
        found = self._day(ctx, team=team, args=args, usage="plan.date.usage")
        if isinstance(found, Outbound):
            return [found]
        typed, day = found
        self._service.plans.change(plan_id=self._plan(ctx, current).id, now=ctx.now, due_date=day)
        texts = ctx.texts
        text = texts.t("plan.changed.date", coordinator=self._name(ctx), date=day_text(texts, day))
        return [ctx.to_channel(text + self._moved(ctx, typed=typed, day=day))]

    def next_round(
        self, ctx: EventContext, *, team: Team, current: Current, args: Sequence[str]
    ) -> list[Outbound]:
        """``plan volgende 12-11-2027``: the next round's day, instead of the rule's."""
        found = self._day(ctx, team=team, args=args, usage="plan.next.usage")
        if isinstance(found, Outbound):
            return [found]
        typed, day = found
        self._service.plans.change(
            plan_id=self._plan(ctx, current).id, now=ctx.now, next_round_date=day
        )
        texts = ctx.texts
        text = texts.t("plan.changed.next", coordinator=self._name(ctx), date=day_text(texts, day))
        return [ctx.to_channel(text + self._moved(ctx, typed=typed, day=day))]

    def support(
        self, ctx: EventContext, *, team: Team, current: Current, args: Sequence[str], close: bool
    ) -> list[Outbound]:
        """``plan draagvlak``: ask every member privately; ``plan draagvlak sluit``: the share.

        Every refusal comes before the plan is started, so a refusal changes nothing.
        """
        texts = ctx.texts
        found = current.plan
        if close:
            closing = None
            if found is not None:
                closing = self._service.plans.close_support(
                    plan_id=found.id, minimum=team.min_respondents, now=ctx.now
                )
            if closing is None:
                return [ctx.private(texts.t("plan.support.not_open"))]
            if not closing.closed:
                reply = texts.t(
                    "plan.support.too_few",
                    count=closing.tally.votes,
                    minimum=team.min_respondents,
                )
                return [ctx.private(reply)]
            share = support_share(texts, counts=closing.tally.counts, minimum=team.min_respondents)
            text = texts.t("plan.support.closed_share", coordinator=self._name(ctx), share=share)
            return [ctx.to_channel(text)]
        if args:
            return [ctx.private(texts.t("plan.support.usage"))]
        if found is not None and found.support_open:
            tally = self._service.plans.tally(plan_id=found.id)
            reply = texts.t("plan.support.already_open", count=tally.votes, asked=tally.asked)
            return [ctx.private(reply)]
        if found is None or not found.factors:
            return [ctx.private(texts.t("plan.support.needs_factors"))]
        plan, asked, messages = self._support.ask(
            team=team,
            plan=found,
            round_=current.round_,
            asked_by=self._name(ctx),
            texts=texts,
            now=ctx.now,
        )
        text = texts.t(
            "plan.support.asked",
            coordinator=self._name(ctx),
            count=asked,
            minimum=team.min_respondents,
        )
        return [ctx.to_channel(text), *messages]

    def agree(self, ctx: EventContext, *, team: Team, current: Current) -> list[Outbound]:
        """``plan vaststellen``: the whole plan in the channel, pinned; the next round planned.

        An open support question closes from the team's minimum; below it, it
        stays open: the channel's post then says so without the count, and only
        the coordinator hears how many answered.
        """
        texts = ctx.texts
        plan = current.plan
        missing = PARTS if plan is None else plan.missing()
        if plan is None or missing:
            parts = ", ".join(texts.t(f"plan.part.{part}") for part in missing)
            return [ctx.private(texts.t("plan.agree.missing", parts=parts))]
        closing = None
        if plan.support_open:
            closing = self._service.plans.close_support(
                plan_id=plan.id, minimum=team.min_respondents, now=ctx.now
            )
        day = self._service.next_round(team=team, plan=plan, round_=current.round_)[0]
        plan = self._service.plans.agree(
            plan_id=plan.id,
            by=ctx.user,
            by_name=self._name(ctx),
            next_round_date=day,
            now=ctx.now,
        )
        lines = [
            texts.t(
                "plan.agreed.title",
                coordinator=self._name(ctx),
                date=day_text(texts, school.local_day(ctx.now)),
            ),
            *self._service.lines(
                team=team,
                plan=plan,
                round_=current.round_,
                texts=texts,
                with_support=True,
                public=True,
            ),
            "",
            texts.t(
                "plan.agreed.what_next",
                owner=plan.owner_name or plan.owner_ref or "",
                date=day_text(texts, plan.due_date) if plan.due_date else "",
            ),
        ]
        post = ctx.to_channel("\n".join(lines))
        messages = [Outbound(destination=post.destination, text=post.text, pin=True)]
        if closing is not None and not closing.closed:
            still_open = texts.t(
                "plan.agree.support_still_open",
                count=closing.tally.votes,
                minimum=team.min_respondents,
            )
            messages.append(ctx.private(still_open))
        return messages

    # ---------------------------------------------------------------- dates

    def _day(
        self, ctx: EventContext, *, team: Team, args: Sequence[str], usage: str
    ) -> tuple[date, date] | Outbound:
        """The typed day and the school day it becomes, or the private refusal."""
        texts = ctx.texts
        if len(args) != 1:
            return ctx.private(texts.t(usage))
        try:
            deadline = parse_deadline(args[0], now=ctx.now)
        except DeadlineError as error:
            return ctx.private(texts.t(f"plan.date.{error}", text=quote(args[0])))
        typed = deadline.date()
        if typed <= school.local_day(ctx.now):
            return ctx.private(texts.t("plan.date.past", text=quote(args[0])))
        return typed, school.on_or_after(days_for(team), day=typed)

    @staticmethod
    def _moved(ctx: EventContext, *, typed: date, day: date) -> str:
        if typed == day:
            return ""
        texts = ctx.texts
        return " " + texts.t("plan.date.moved", typed=day_text(texts, typed))
