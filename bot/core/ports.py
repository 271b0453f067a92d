"""What the engine needs from an adapter besides events: who is in the team."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from conversations.core.messages import Sender
from storage.keys import TeamKey


class RosterUnavailableError(RuntimeError):
    """A platform would not list a team's members (the bot is not in the channel).

    Raised by a roster inside ``Engine.handle``. It is no failure of the event:
    the engine rolls the event back (nothing started) and answers the sender
    privately with the catalogue text ``key``, which says what to do in the
    platform's own words (Slack: invite the bot to the channel first), so no
    adapter needs a special case.
    """

    def __init__(self, *, key: str) -> None:
        super().__init__(f"roster unavailable ({key})")
        self.key = key


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
    """A platform adapter's main loop (Slack socket mode / HTTP, Telegram polling).

    Messages nobody asked for (scheduled pings) need no entry here any more: they
    are outbox rows like every other message, sent by the platform's dispatcher
    (``Engine.dispatcher``), which the runner starts and stops with its loop.
    """

    def run_forever(self) -> None:
        """Take events and deliver until stopped; blocking."""
        ...

    def stop(self) -> None:
        """Stop taking events, let the sends in flight finish (from another thread)."""
        ...
