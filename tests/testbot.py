"""The shared ``testbot``: one Engine on a fresh database, driven like a chat.

Tests talk to the bot as a member would: ``say`` a line in the team channel or the
DM, ``press`` a button. Each returns what the engine answered. The engine, its
store and the fake clock stay reachable for the assertions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.engine import Engine
from conversations.core.messages import Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store

if TYPE_CHECKING:  # conftest imports this module: no import cycle at run time
    from tests.conftest import FakeClock

TEAM = TeamKey(platform="console", workspace="w1", team="t1")
MEMBERS = ("anna", "bram", "chris")


class Roster:
    """A fixed team roster, the same for every team."""

    def __init__(self, *, members: Sequence[str]) -> None:
        self.names = tuple(members)

    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=name, display_name=name.title()) for name in self.names]


@dataclass
class TestBot:
    """One engine on one database, with the team ``TEAM`` and its members."""

    __test__ = False  # not a test class, despite the name

    engine: Engine
    clock: FakeClock
    team: TeamKey = TEAM

    @classmethod
    def open(
        cls,
        *,
        database_url: str,
        clock: FakeClock,
        output_dir: Path,
        members: Sequence[str] = MEMBERS,
    ) -> TestBot:
        """An engine on a migrated store at ``database_url``; ``close`` it after use."""
        store = Store.open(url=database_url)
        engine = Engine(
            store=store,
            instruments=load_instruments(),
            roster=Roster(members=members),
            clock=clock,
            output_dir=output_dir,
        )
        return cls(engine=engine, clock=clock)

    @property
    def store(self) -> Store:
        return self.engine.store

    def close(self) -> None:
        self.store.close()

    def say(self, user: str, text: str, *, where: Where = Where.DM) -> list[Outbound]:
        """``user`` says ``text`` in the team channel or their DM; the engine's answer."""
        return self.engine.handle(self._inbound(user, where=where, text=text))

    def press(self, user: str, payload: str, *, where: Where = Where.DM) -> list[Outbound]:
        """``user`` presses the button with ``payload`` (in their DM unless told)."""
        return self.engine.handle(self._inbound(user, where=where, payload=payload))

    def _inbound(
        self, user: str, *, where: Where, text: str = "", payload: str | None = None
    ) -> Inbound:
        return Inbound(
            platform=self.team.platform,
            workspace=self.team.workspace,
            team=self.team.team,
            where=where,
            sender=Sender(user=user, display_name=user),
            text=text,
            payload=payload,
        )
