"""The engine's own routes, and the adapter that makes a ``handle(event)`` a route.

Most routes come from their subsystems (team commands, privacy, walkthrough,
checklist). The engine keeps the two that belong to no subsystem: a team command
typed in private, and a button pressed in the team channel. Both are answered
privately and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.context import EventContext
from conversations.core.messages import Destination, Inbound, Outbound, Where


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRoute:
    """A handler that takes the whole event (``handle(event)``) as a route.

    Attributes:
        takes: Whether the route takes the event (no side effects).
        run: The handler; called as ``run(ctx.event)``.
        needs_team, coordinator_only, replans: The route's flags (``Route``).
    """

    takes: Callable[[EventContext], bool]
    run: Callable[[Inbound], list[Outbound]]
    needs_team: bool = False
    coordinator_only: bool = False
    replans: bool = False

    def check(self, ctx: EventContext) -> bool:
        """Whether this route takes the event."""
        return self.takes(ctx)

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Hand the event to the wrapped handler."""
        return self.run(ctx.event)


class TeamCommandInPrivate:
    """``/quickscan ...`` typed in a DM: no answer to the question on screen.

    A member halfway through the walkthrough who types a team command would
    otherwise have it read as an answer; they are told it works in the channel.
    """

    needs_team = False
    coordinator_only = False
    replans = False

    def check(self, ctx: EventContext) -> bool:
        """A typed command (no button) in a DM."""
        event = ctx.event
        return event.where is Where.DM and event.payload is None and ctx.command is not None

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Say where team commands work."""
        destination = Destination.dm(team=ctx.event.team, user=ctx.user)
        return [Outbound(destination=destination, text=ctx.texts.t("input.team_only"))]


class ButtonInChannel:
    """A button pressed in the team channel: buttons only live in DMs, so it is forged.

    Answered only to the presser; nothing changes.
    """

    needs_team = False
    coordinator_only = False
    replans = False

    def check(self, ctx: EventContext) -> bool:
        """A payload said in the team channel."""
        return ctx.event.where is Where.TEAM and ctx.event.payload is not None

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """The "not a button of yours" answer, ephemeral."""
        destination = Destination.ephemeral(team=ctx.event.team, user=ctx.user)
        return [Outbound(destination=destination, text=ctx.texts.t("dm.invalid_button"))]
