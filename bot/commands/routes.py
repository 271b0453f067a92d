"""The routes of the quickscan's commands and walkthrough, and the files they attach.

The engine's builder composes the router from these lists (first match wins).
The order between the lists matters:

1. :func:`privacy_routes` first: asking what is stored must not store anything,
   so these run before anything that creates a team, in the channel and the DM;
2. the checklist's routes (``bot/commands/checklist.py``), whose DM flow goes
   before the walkthrough while a checklist step is under way, and whose
   ``/quickscan checklist`` goes before the last, catch-all team route here;
3. :func:`team_command_routes`, ending with the "no such command" route;
4. in a DM, the engine's own "team command typed in private" route, then
   :func:`walkthrough_routes`.

Each route's flags tell the middleware what to do first (create the team,
refuse anyone but a coordinator) and after (re-plan the reminders).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from bot.commands.help import HelpRoute, UnknownCommandRoute
from bot.commands.privacy import ForgetMeRoute, MyDataRoute
from bot.commands.results import ChartRoute, ExportRoute
from bot.commands.rounds import CloseRoute, StartRoute, StatusRoute
from bot.commands.settings import (
    CalendarOverviewRoute,
    CalendarSettingRoute,
    CoordinatorRoute,
    LanguageRoute,
    MinimumRoute,
    PlanningChangeRoute,
    PlanningShowRoute,
    ThresholdsChangeRoute,
    ThresholdsShowRoute,
)
from bot.core.context import EventContext
from bot.core.ports import Roster
from bot.core.router import Route
from bot.privacy.member_files import MemberDataFiles
from bot.privacy.policy import RetentionPolicy
from bot.privacy.retention import Snapshots
from bot.results.files import ResultFiles
from bot.results.service import Results
from conversations.core.messages import AttachmentKind, Outbound, Where
from conversations.instrument import Quickscan
from conversations.quickscan.walkthrough import Walkthrough
from storage.checklist.store import ChecklistStore
from storage.delivery.outbox import OutboxStore
from storage.privacy.member_data import MemberData
from storage.quickscan.store import Store
from storage.results.store import ResultStore
from storage.schedule.store import ScheduleStore

Renderer = Callable[..., Path]
"""Makes an attachment's file from its arguments (``bot.delivery.attachments``)."""


def team_command_routes(
    *,
    store: Store,
    instruments: Mapping[str, Quickscan],
    roster: Roster,
    walkthrough: Walkthrough,
    results: Results,
    default_instrument: str,
    retention: RetentionPolicy,
) -> list[Route]:
    """``/quickscan <sub>`` in the team channel: one route per subcommand family.

    The last route answers a word that names no subcommand, so the checklist's
    routes must come before this list.
    """
    return [
        StartRoute(
            store=store,
            instruments=instruments,
            roster=roster,
            walkthrough=walkthrough,
            default_instrument=default_instrument,
        ),
        StatusRoute(store=store),
        CloseRoute(store=store, results=results),
        HelpRoute(
            store=store,
            retention=retention,
            instruments={key: value.title for key, value in instruments.items()},
            default_instrument=default_instrument,
        ),
        CoordinatorRoute(store=store),
        MinimumRoute(store=store),
        LanguageRoute(store=store),
        ExportRoute(results=results),
        ChartRoute(results=results),
        ThresholdsShowRoute(),
        ThresholdsChangeRoute(store=store),
        CalendarSettingRoute(store=store),
        CalendarOverviewRoute(schedule=ScheduleStore(engine=store.engine)),
        PlanningShowRoute(store=store),
        PlanningChangeRoute(store=store),
        UnknownCommandRoute(),
    ]


def privacy_routes(*, store: Store, snapshots: Snapshots, output_dir: Path) -> list[Route]:
    """``/quickscan mijn-gegevens`` and ``vergeet-mij``, in the channel or the DM.

    The erasure reaches across the quickscan, the checklist and the result
    snapshots, so it gets stores of its own on the engine's database and cipher.
    """
    return [
        MyDataRoute(),
        ForgetMeRoute(
            store=store,
            checklist=ChecklistStore(engine=store.engine, cipher=store.cipher),
            fingerprints=ResultStore(engine=store.engine),
            snapshots=snapshots,
            outbox=OutboxStore(engine=store.engine, cipher=store.cipher),
            output_dir=output_dir,
        ),
    ]


class WalkthroughRoute:
    """Everything else a member says or presses in their DM: the quickscan walkthrough."""

    needs_team = False  # a DM belongs to the member; their participation names the team
    coordinator_only = False
    replans = False

    def __init__(self, *, walkthrough: Walkthrough) -> None:
        self._walkthrough = walkthrough

    def check(self, ctx: EventContext) -> bool:
        """Any DM event (the routes before it took what was not for the walkthrough)."""
        return ctx.event.where is Where.DM

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """One answer, button or navigation word: committed, then the next prompt."""
        return self._walkthrough.handle(ctx.event)


def walkthrough_routes(*, walkthrough: Walkthrough) -> list[Route]:
    """The DM walkthrough, after the privacy and checklist routes and the engine's own."""
    return [WalkthroughRoute(walkthrough=walkthrough)]


def command_renderers(
    *, store: Store, instruments: Mapping[str, Quickscan], output_dir: Path
) -> dict[AttachmentKind, Renderer]:
    """The renderers of the files these commands attach, for the delivery's registry.

    Charts and exports are drawn from the round's snapshot, members' data files
    from what the bot holds when the file is written (bot/privacy/member_files.py).
    """
    result_files = ResultFiles(
        results=ResultStore(engine=store.engine), instruments=instruments, output_dir=output_dir
    )
    member_files = MemberDataFiles(
        members=MemberData(store=store),
        checklist=ChecklistStore(engine=store.engine, cipher=store.cipher),
        output_dir=output_dir,
    )
    return {
        AttachmentKind.QUICKSCAN_CHART: result_files.chart,
        AttachmentKind.QUICKSCAN_EXPORT: result_files.export,
        AttachmentKind.MEMBER_DATA: member_files.render,
    }
