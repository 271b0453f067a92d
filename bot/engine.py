"""The adapter-neutral engine: one entry point for every inbound event.

Adapters call :meth:`Engine.handle` with a neutral :class:`Inbound` and deliver
the returned :class:`Outbound` messages. The engine imports no adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.clock import Clock
from bot.commands import is_command
from bot.i18n import Catalogue
from bot.messages import Destination, Inbound, Outbound, Where
from bot.ports import Roster
from bot.results import Results
from bot.team_commands import TeamCommands
from conversations.instrument import Checklist, Quickscan
from conversations.walkthrough import Walkthrough
from storage.store import Store

DEFAULT_INSTRUMENT = "quickscan-po"


class Engine:
    """Routes team-channel commands and DM conversation to their handlers."""

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan | Checklist],
        roster: Roster,
        clock: Clock,
        output_dir: Path,
        default_instrument: str = DEFAULT_INSTRUMENT,
    ) -> None:
        quickscans = {
            key: value for key, value in instruments.items() if isinstance(value, Quickscan)
        }
        if default_instrument not in quickscans:
            raise ValueError(f"default instrument {default_instrument!r} is not a quickscan")
        self.store = store
        self.walkthrough = Walkthrough(store=store, instruments=quickscans, clock=clock)
        self.results = Results(
            store=store, instruments=quickscans, clock=clock, output_dir=output_dir
        )
        self.team_commands = TeamCommands(
            store=store,
            instruments=quickscans,
            roster=roster,
            clock=clock,
            walkthrough=self.walkthrough,
            results=self.results,
            default_instrument=default_instrument,
        )

    def handle(self, event: Inbound) -> list[Outbound]:
        """Process one event; every change is committed before this returns."""
        if event.where is Where.DM:
            return self.walkthrough.handle(event)
        if is_command(event.text):
            return self.team_commands.handle(event)
        if event.payload is not None:
            # Buttons only live in DMs; one pressed elsewhere is foreign or forged.
            return [
                Outbound(
                    destination=Destination.ephemeral(team=event.team, user=event.sender.user),
                    text=Catalogue().t("dm.invalid_button"),
                )
            ]
        return []
