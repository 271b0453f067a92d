"""What the engine needs from an adapter besides events: who is in the team."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.messages import Sender
from storage.keys import TeamKey


class Roster(Protocol):
    """Lists the human members of a team channel.

    Slack asks conversations.members, Telegram knows who spoke in the group, the
    console has its ``--members`` list; the engine only sees this protocol.
    """

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """The people to invite when a round starts, bots excluded."""
        ...
