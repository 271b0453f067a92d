"""What the engine needs from an adapter besides events: who is in the team."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from conversations.core.messages import Outbound, Sender
from storage.keys import TeamKey

log = logging.getLogger(__name__)


class RosterUnavailableError(RuntimeError):
    """A platform would not list a team's members (the bot is not in the channel).

    Raised by a roster inside ``Engine.handle``; the engine lets it through (it is
    no failure of the event) so the adapter can tell the person what to do, in
    the platform's own words (Slack: invite the bot to the channel first).
    """


class Roster(Protocol):
    """Lists the human members of a team channel.

    Slack asks conversations.members, Telegram knows who spoke in the group, the
    console has its ``--members`` list; the engine only sees this protocol.
    """

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """The people to invite when a round starts, bots excluded."""
        ...


class RosterRegistry:
    """One roster per platform, so adapters running side by side share one engine.

    The engine is built before the adapters (they need it), so each adapter
    registers its own roster here when it starts.
    """

    def __init__(self) -> None:
        self._rosters: dict[str, Roster] = {}

    def register(self, *, platform: str, roster: Roster) -> None:
        """Make ``roster`` answer for teams on ``platform``."""
        self._rosters[platform] = roster

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """The members as the team's own platform lists them (none if unregistered)."""
        roster = self._rosters.get(team.platform)
        return roster.members(team=team) if roster is not None else ()


class PlatformRunner(Protocol):
    """A platform adapter's main loop (Slack socket mode / HTTP, Telegram polling)."""

    def run_forever(self) -> None:
        """Serve until stopped; blocking."""
        ...

    def stop(self) -> None:
        """Ask the loop to end (from another thread or a signal handler)."""
        ...

    def deliver(self, team: TeamKey, messages: Sequence[Outbound]) -> None:
        """Send messages nobody asked for (scheduled pings) to ``team``'s platform."""
        ...


class Deliverers:
    """One delivery function per platform, for messages nobody asked for (pings).

    Replies to an event go back through the adapter that received it; scheduled
    pings have no event, so each adapter registers how it delivers for a team.
    """

    def __init__(self) -> None:
        self._deliver: dict[str, Callable[[TeamKey, Sequence[Outbound]], None]] = {}

    def register(
        self, *, platform: str, deliver: Callable[[TeamKey, Sequence[Outbound]], None]
    ) -> None:
        """Make ``deliver`` send messages for teams on ``platform``."""
        self._deliver[platform] = deliver

    def deliver(self, team: TeamKey, messages: Sequence[Outbound]) -> None:
        """Send ``messages`` for ``team``; dropped (logged) when its platform is not running."""
        deliver = self._deliver.get(team.platform)
        if deliver is None:
            log.warning(
                "no adapter delivers for platform %s; %d messages dropped",
                team.platform,
                len(messages),
            )
            return
        deliver(team, messages)
