"""Routing: an ordered list of routes, the first that takes an event handles it.

As in python-telegram-bot's ``BaseHandler`` (``check_update`` / ``handle_update``),
each route says whether it takes an event; the router asks them in order and the
first match wins. Cross-cutting steps (ignoring redeliveries, creating the team,
the coordinator check, re-planning the reminders) are middleware in Bolt's
manner, ``process(ctx, next)``, so no handler repeats a preamble.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from bot.core.context import EventContext
from conversations.core.messages import Outbound

Next = Callable[[EventContext], list[Outbound]]


class Route(Protocol):
    """One kind of event the bot handles.

    The flags tell the middleware what the route needs, so handlers stay free of
    preambles.
    """

    #: The team must exist (it is created on first contact) before ``handle``.
    needs_team: bool
    #: Only a coordinator (or a platform admin) may run it; others are refused privately.
    coordinator_only: bool
    #: A change here can move planned reminders: re-plan the team afterwards.
    replans: bool

    def check(self, ctx: EventContext) -> bool:
        """Whether this route takes the event (no side effects)."""
        ...

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Handle the event; runs inside the event's transaction."""
        ...


class Middleware(Protocol):
    """A step around every routed event (Bolt's ``process(req, resp, next)``)."""

    def process(self, ctx: EventContext, route: Route, call_next: Next) -> list[Outbound]:
        """Do the step, then ``call_next(ctx)`` (or answer without calling it)."""
        ...


class Router:
    """First matching route wins; middleware wraps it in the order given."""

    def __init__(self, *, routes: Sequence[Route], middleware: Sequence[Middleware]) -> None:
        self._routes = tuple(routes)
        self._middleware = tuple(middleware)

    def route_for(self, ctx: EventContext) -> Route | None:
        """The first route that takes the event, or None."""
        return next((route for route in self._routes if route.check(ctx)), None)

    def dispatch(self, ctx: EventContext) -> list[Outbound]:
        """Run the event through the middleware into its route (nothing if none takes it)."""
        route = self.route_for(ctx)
        if route is None:
            return []
        chain: Next = route.handle
        for step in reversed(self._middleware):
            chain = _bind(step, route, chain)
        return chain(ctx)


def _bind(step: Middleware, route: Route, call_next: Next) -> Next:
    def run(ctx: EventContext) -> list[Outbound]:
        return step.process(ctx, route, call_next)

    return run
