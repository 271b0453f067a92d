"""What every ``/quickscan`` route in the team channel shares.

A route names the subcommands it takes and, through its flags, what the
middleware does first (``bot.core.middleware``): create the team, refuse anyone
but a coordinator, re-plan the reminders afterwards. So a handler is only the
command itself. Errors and help go back only to the person who typed the command
(``ctx.private``: ephemeral), so a mistake never clutters the team channel;
changes, results and announcements go to the channel (``ctx.to_channel``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from bot.commands.parse import Command, Sub, is_command, parse_command
from bot.core.context import EventContext
from conversations.core.clock import SCHOOL_TZ
from conversations.core.messages import Outbound, Where
from storage.quickscan.records import Team


def command_of(ctx: EventContext) -> Command | None:
    """The event's ``/quickscan`` command, or None when it is no command.

    The engine parses it once into ``ctx.command``; parsed here only when a
    context was built without it (a test driving one route).
    """
    if ctx.command is not None:
        return ctx.command
    return parse_command(ctx.event.text) if is_command(ctx.event.text) else None


class TeamCommandRoute(ABC):
    """A family of ``/quickscan <sub>`` commands typed in the team channel.

    Subclasses set :attr:`subs` and the flags, may narrow :meth:`takes` (showing a
    setting is for everyone, changing it for coordinators: two routes), and
    implement :meth:`run`.
    """

    subs: ClassVar[frozenset[Sub]] = frozenset()
    needs_team: bool = True
    coordinator_only: bool = False
    replans: bool = False

    def check(self, ctx: EventContext) -> bool:
        """A command of :attr:`subs` in the team channel that :meth:`takes` accepts."""
        if ctx.event.where is not Where.TEAM:
            return False
        command = command_of(ctx)
        return command is not None and command.sub in self.subs and self.takes(command)

    def takes(self, command: Command) -> bool:
        """Whether this route takes the command's arguments (all, unless narrowed)."""
        return True

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Run the command with its parsed arguments and the team's settings."""
        command = command_of(ctx)
        if command is None:  # check() said it is one: a router mistake
            raise ValueError("not a /quickscan command")
        return self.run(ctx, command, team_of(ctx))

    @abstractmethod
    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The command itself; the middleware has done the rest."""


def team_of(ctx: EventContext) -> Team:
    """The team, which the middleware resolved for a route that needs one.

    Raises:
        LookupError: No team in the context: the team set-up middleware did not run.
    """
    if ctx.team is None:
        raise LookupError("the route needs a team but the context has none")
    return ctx.team


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a settings command, and whether it changed anything.

    A change is announced in the team channel; a refusal or usage hint goes only
    to the person who typed the command.
    """

    text: str
    changed: bool


def announce_or_refuse(ctx: EventContext, reply: Reply) -> Outbound:
    """A change is announced in the channel; a refusal goes only to the sender."""
    return ctx.to_channel(reply.text) if reply.changed else ctx.private(reply.text)


def format_day(moment: datetime) -> str:
    """A deadline as the Dutch date people write (``15-12-2026``), in the school's zone."""
    return moment.astimezone(SCHOOL_TZ).strftime("%d-%m-%Y")
