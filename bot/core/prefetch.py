"""The team's members, asked of the platform before the event's transaction opens.

Starting a round needs the channel's members, and a platform answers that over
the network (Slack: conversations.members and users.info, which may be paged or
rate limited). Asked inside the event's unit of work, that wait would hold the
transaction's locks, on SQLite the database's only write lock, and every other
chat's events would wait behind it. So the engine asks first, outside any
transaction, and the round's start reads the answer from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from bot.core.ports import Roster
from conversations.core.messages import Sender
from storage.keys import TeamKey


class PrefetchingRoster:
    """A roster whose answer for one team may already be known for this event."""

    def __init__(self, *, roster: Roster) -> None:
        self._roster = roster
        self._known: ContextVar[tuple[TeamKey, tuple[Sender, ...]] | None] = ContextVar(
            "quickscan_prefetched_roster", default=None
        )

    @contextmanager
    def prefetched(self, *, team: TeamKey) -> Iterator[None]:
        """Ask the platform for ``team``'s members now; answer from that until the block ends.

        Raises:
            RosterUnavailableError: The platform would not list the team (raised
                here, before anything was changed).
        """
        members = tuple(self._roster.members(team=team))
        token = self._known.set((team, members))
        try:
            yield
        finally:
            self._known.reset(token)

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """The prefetched members of ``team``, else the platform's answer now."""
        known = self._known.get()
        if known is not None and known[0] == team:
            return known[1]
        return self._roster.members(team=team)
