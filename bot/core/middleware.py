"""The steps every routed event goes through, so no handler repeats a preamble.

Each step is a :class:`bot.core.router.Middleware`; the engine runs them in this
order, inside the event's unit of work:

1. :class:`Redelivery`: a delivery id seen before (a platform retry) is ignored.
   First, so a retried refused message gets no second refusal.
2. :class:`TeamLookup`: the team's settings and texts, if the team exists.
3. :class:`Screening`: text the bot cannot store or show is refused privately
   (``bot.core.input_guard``), before a team or a coordinator is created for it.
4. :class:`TeamSetup`: the team is created on first contact (its first
   coordinator too, see ``bot.core.roles``) for routes that need it.
5. :class:`CoordinatorCheck`: the sender's role is resolved once; routes only a
   coordinator may run are refused privately for anyone else.
6. :class:`Replan`: after a route that can move planned reminders, the team's
   pings are planned again, in the same transaction.

Around them, :class:`EventMetrics` (first) and :class:`RouteReached` (last) count
and time every routed event for ``/metrics``.

Because they all run in the event's one transaction, a claim, a new team and
the change itself commit together or not at all: a crash half-way leaves the
event unhandled (the platform retries it) instead of half-handled.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from bot.core import input_guard
from bot.core.context import EventContext
from bot.core.metrics import Metrics
from bot.core.roles import ensure_team_for, founder_of
from bot.core.router import Next, Route
from conversations.core.i18n import DEFAULT_LOCALE, Catalogue
from conversations.core.messages import Outbound, Where
from storage.conflicts import ConcurrentChangeError
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.transactions import after_commit


class Redelivery:
    """Claims the event's delivery id; a second delivery of it does nothing.

    The claim is part of the event's transaction: when handling fails, the claim
    is rolled back with everything else, so the platform's retry is handled.
    """

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Go on only for a delivery id never claimed before (or none at all)."""
        event = ctx.event
        if event.event_id is not None and not self._store.claim_event(
            platform=event.platform,
            workspace=event.workspace,
            event_id=event.event_id,
            now=ctx.now,
        ):
            return []
        return call_next(ctx)


class TeamLookup:
    """Looks the event's team up once, so refusals and replies speak its language.

    Only for an event a route takes: team-channel chatter costs no query. A route
    that does not need the team (a member's DM: the walkthrough reads the team
    with the participation) gets texts that look the language up only if a text
    is actually asked for, in the same transaction, so an answer costs no team
    query of its own. Nothing is created here (see :class:`TeamSetup`).
    """

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Fill ``ctx.team`` and ``ctx.texts`` when the team exists (texts only, lazily,
        for a route that needs no team)."""
        if not ctx.event.team:
            return call_next(ctx)
        if not (route.needs_team or route.coordinator_only):
            return call_next(ctx.evolve(texts=Catalogue.deferred(lambda: self._locale(ctx.key))))
        team = self._store.get_team(key=ctx.key)
        if team is None:
            return call_next(ctx)
        return call_next(ctx.evolve(team=team, texts=Catalogue(team.locale)))

    def _locale(self, key: TeamKey) -> str:
        team = self._store.get_team(key=key)
        return team.locale if team is not None else DEFAULT_LOCALE


class Screening:
    """Refuses, privately and once, an addressed event whose text cannot be used.

    Team-channel chatter is not addressed to the bot and is never screened.
    """

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Answer the refusal in the team's language, or go on."""
        if input_guard.addressed(ctx.event):
            reason = input_guard.refusal_key(ctx.event)
            if reason is not None:
                return [input_guard.refusal(ctx.event, key=reason, texts=ctx.texts)]
        return call_next(ctx)


class TeamSetup:
    """Creates the team on first contact for routes that need one.

    Who becomes the first coordinator is ``bot.core.roles``' rule (whoever first
    starts a round where no admins are named); the texts switch to the team's
    language once it is known.
    """

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Fill ``ctx.team`` (and its texts) before the route runs."""
        if not route.needs_team or not ctx.event.team:
            return call_next(ctx)
        if ctx.team is not None and founder_of(ctx.event) is None:
            return call_next(ctx)  # found by TeamLookup, and nobody to make coordinator
        team = ensure_team_for(store=self._store, event=ctx.event, now=ctx.now)
        return call_next(ctx.evolve(team=team, texts=Catalogue(team.locale)))


class CoordinatorCheck:
    """Resolves the sender's role once and refuses coordinator-only routes to others.

    A platform admin (Telegram group admins) counts as a coordinator. The refusal
    goes only to the sender; in a team without any coordinator (where admins are
    not named) it says how to become one instead of just "no".
    """

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Fill ``ctx.is_coordinator``; refuse a coordinator-only route to anyone else."""
        event = ctx.event
        if not event.team or not (route.needs_team or route.coordinator_only):
            return call_next(ctx)  # a member's own DM: no role to look up
        manages = event.sender_is_admin or self._store.is_coordinator(key=ctx.key, user=ctx.user)
        if route.coordinator_only and not manages:
            return [ctx.private(ctx.texts.t(self.refusal_key(ctx)))]
        return call_next(ctx.evolve(is_coordinator=manages))

    def refusal_key(self, ctx: EventContext) -> str:
        """Why the sender may not: nobody is coordinator yet, or they are not one."""
        if not ctx.event.admins_known and not self._store.coordinators(key=ctx.key):
            return "input.no_coordinator_yet"
        return "cmd.not_coordinator"


class Replan:
    """Plans the team's reminders again after a route that can move them.

    A new deadline, region, holiday date or planning setting changes the plan at
    once, in the same transaction as the change, so the plan never lags behind.
    """

    def __init__(self, *, replan: Callable[[TeamKey], None]) -> None:
        self._replan = replan

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Run the route, then re-plan its team if the route says it may have to."""
        replies = call_next(ctx)
        if route.replans and ctx.event.team:
            self._replan(ctx.key)
        return replies


_ROUTE_REACHED: ContextVar[list[bool] | None] = ContextVar("quickscan_route_reached", default=None)


class EventMetrics:
    """Counts every routed event by kind and outcome; times the handled ones to their commit.

    First in the chain, so it sees the refusals of the steps after it. Whether the
    route itself ran is told by :class:`RouteReached`, the last step: a chain that
    answered without reaching it was refused (or, with no answer, a redelivery).
    Counted once the event's unit of work commits; an event that raises counts
    as "error" at once (its transaction is rolled back; nothing else would tell),
    or as "conflict" when it lost a race and the engine does it again (the redo
    is counted by itself).
    """

    def __init__(self, *, metrics: Metrics, store: Store) -> None:
        self._metrics = metrics
        self._store = store

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Run the chain, then count the event with what it came to."""
        started = self._metrics.monotonic()
        platform, kind = ctx.event.platform, event_kind(ctx)
        reached: list[bool] = []
        token = _ROUTE_REACHED.set(reached)
        try:
            replies = call_next(ctx)
        except ConcurrentChangeError:  # another replica won a race: the engine redoes it
            self._metrics.event(platform=platform, kind=kind, outcome="conflict")
            raise
        except Exception:
            self._metrics.event(platform=platform, kind=kind, outcome="error")
            raise
        finally:
            _ROUTE_REACHED.reset(token)
        outcome = "handled" if reached else ("refused" if replies else "duplicate")

        def committed() -> None:
            self._metrics.event(platform=platform, kind=kind, outcome=outcome)
            if outcome == "handled":
                seconds = self._metrics.since_entry(fallback=started)
                self._metrics.answer_latency(platform=platform, kind=kind, seconds=seconds)

        after_commit(self._store.engine, committed)
        return replies


class RouteReached:
    """The last step: tells :class:`EventMetrics` that no step before refused the event."""

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Note that the route runs, then run it."""
        reached = _ROUTE_REACHED.get()
        if reached is not None:
            reached.append(True)
        return call_next(ctx)


def event_kind(ctx: EventContext) -> str:
    """The event's kind for metrics: a bounded word, never its text."""
    if ctx.event.payload is not None:
        return "button"
    if ctx.command is not None:
        return "command"
    return "answer" if ctx.event.where is Where.DM else "message"
