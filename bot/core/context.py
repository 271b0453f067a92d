"""The per-event context: what every handler needs, resolved once per event.

Bolt hands its listeners one context object instead of five arguments; so does
the router here. The team key, the team's settings, the texts in the team's
language, the parsed command and the sender's role are looked up once (by the
middleware, in the event's transaction) and read by the handler.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.commands.parse import Command
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound, Where
from storage.keys import TeamKey
from storage.quickscan.records import Team


@dataclass(frozen=True, slots=True, kw_only=True)
class EventContext:
    """One inbound event and what is known about it.

    Attributes:
        event: The (already screened) inbound event.
        key: The team the event belongs to (``team`` may be "" for a DM).
        now: The event's time, from the injected clock.
        texts: The catalogue in the team's language (Dutch until one is known).
        team: The team's settings; None until the team is known or created.
        command: The parsed ``/quickscan`` command, for a command.
        is_coordinator: The sender manages this team (coordinator or platform admin).
    """

    event: Inbound
    key: TeamKey
    now: datetime
    texts: Catalogue
    team: Team | None = None
    command: Command | None = None
    is_coordinator: bool = False

    @property
    def user(self) -> str:
        """The sender's user id."""
        return self.event.sender.user

    def evolve(self, **changes: object) -> EventContext:
        """A copy with some fields resolved (middleware fills the context in steps)."""
        return replace(self, **changes)  # type: ignore[arg-type]  # dataclasses.replace is untyped in kwargs

    def private(self, text: str) -> Outbound:
        """A reply only the sender sees: ephemeral in a channel, else their DM.

        Refusals and errors always take this path, never the channel.
        """
        if self.event.where is Where.TEAM:
            destination = Destination.ephemeral(team=self.event.team, user=self.user)
        else:
            destination = Destination.dm(team=self.event.team, user=self.user)
        return Outbound(destination=destination, text=text)

    def to_channel(self, text: str) -> Outbound:
        """A message for the whole team channel (aggregates only, never one person's answer)."""
        return Outbound(destination=Destination.team_channel(team=self.key.team), text=text)
