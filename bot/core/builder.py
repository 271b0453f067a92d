"""Wiring: the engine's services and its router, built once, apart from running them.

The engine (``bot.core.engine``) only runs events through units of work; what it
runs them through is decided here: which services share which store, which
routes exist in which order, which middleware wraps them, and which renderer
makes each kind of attachment at delivery. Keeping the wiring apart keeps the
engine short, and lets a test or a benchmark see the parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.calendar.reminders import Reminders
from bot.calendar.team_calendar import days_for
from bot.checklist.service import ChecklistService
from bot.commands.checklist import ChecklistParts, build_checklist
from bot.commands.plan import PlanParts, build_plan
from bot.commands.privacy import build_retention
from bot.commands.routes import (
    command_renderers,
    privacy_routes,
    team_command_routes,
    walkthrough_routes,
)
from bot.core.metrics import Metrics
from bot.core.middleware import (
    CoordinatorCheck,
    EventMetrics,
    Redelivery,
    Replan,
    RouteReached,
    Screening,
    TeamLookup,
    TeamSetup,
)
from bot.core.ports import Roster
from bot.core.router import Route, Router
from bot.core.routes import ButtonInChannel, TeamCommandInPrivate
from bot.delivery.attachments import AttachmentRenderers
from bot.privacy.policy import RetentionPolicy
from bot.privacy.retention import Retention
from bot.results.service import Results
from conversations.core.clock import Clock
from conversations.core.messages import AttachmentKind
from conversations.instrument import Checklist, Quickscan
from conversations.quickscan.walkthrough import Walkthrough
from storage.delivery.outbox import OutboxStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.schedule.store import ScheduleStore

DEFAULT_INSTRUMENT = "quickscan-po"


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """Everything the engine runs events through, sharing one store and clock.

    Attributes:
        walkthrough: The member's DM walkthrough.
        results: Closed rounds' posts, charts and exports.
        checklist: The checklist's round service (the reminders open and close rounds).
        retention: The daily retention job.
        reminders: Planned pings: planning and firing.
        schedule: The planned pings' table.
        outbox: The outbox rows every message becomes.
        renderers: The files of attachments, made at delivery.
        router: The routes in order, wrapped in the middleware.
    """

    walkthrough: Walkthrough
    results: Results
    checklist: ChecklistService
    retention: Retention
    reminders: Reminders
    schedule: ScheduleStore
    outbox: OutboxStore
    renderers: AttachmentRenderers
    router: Router


def build_services(
    *,
    store: Store,
    instruments: Mapping[str, Quickscan | Checklist],
    roster: Roster,
    clock: Clock,
    output_dir: Path,
    default_instrument: str = DEFAULT_INSTRUMENT,
    retention: RetentionPolicy | None = None,
    metrics: Metrics | None = None,
) -> Services:
    """Build every service on ``store`` and the router over their routes.

    ``metrics`` (a new one by default) counts the routed events and watches the outbox.

    Raises:
        ValueError: ``default_instrument`` is not an installed quickscan.
    """
    quickscans = {key: value for key, value in instruments.items() if isinstance(value, Quickscan)}
    if default_instrument not in quickscans:
        raise ValueError(f"default instrument {default_instrument!r} is not a quickscan")
    policy = retention or RetentionPolicy()
    metrics = metrics or Metrics()
    walkthrough = Walkthrough(store=store, instruments=quickscans, clock=clock)
    results = Results(store=store, instruments=quickscans, clock=clock)
    checklist = build_checklist(
        store=store, instruments=instruments, clock=clock, output_dir=output_dir
    )
    schedule = ScheduleStore(engine=store.engine)
    plan = build_plan(
        store=store,
        instruments=quickscans,
        roster=roster,
        walkthrough=walkthrough,
        results=results,
    )
    reminders = Reminders(
        store=store,
        schedule=schedule,
        calendar_for=days_for,
        checklist=checklist.service,
        walkthrough=walkthrough,
        results=results,
        clock=clock,
        sources=[plan.pings],
    )
    routes = _routes(
        store=store,
        quickscans=quickscans,
        roster=roster,
        walkthrough=walkthrough,
        results=results,
        checklist=checklist,
        plan=plan,
        output_dir=output_dir,
        default_instrument=default_instrument,
        policy=policy,
    )

    def replan(key: TeamKey) -> None:
        reminders.replan(key=key)

    plan.pings.set_replan(replan)

    router = Router(
        routes=routes,
        middleware=[
            EventMetrics(metrics=metrics, store=store),
            Redelivery(store=store),
            TeamLookup(store=store),
            Screening(),
            TeamSetup(store=store),
            CoordinatorCheck(store=store),
            Replan(replan=replan),
            RouteReached(),
        ],
    )
    outbox = OutboxStore(engine=store.engine, cipher=store.cipher)
    metrics.watch_outbox(outbox=outbox, clock=clock)
    return Services(
        walkthrough=walkthrough,
        results=results,
        checklist=checklist.service,
        retention=build_retention(
            store=store, snapshots=results, output_dir=output_dir, policy=policy
        ),
        reminders=reminders,
        schedule=schedule,
        outbox=outbox,
        renderers=_renderers(
            store=store, quickscans=quickscans, checklist=checklist, output_dir=output_dir
        ),
        router=router,
    )


def _routes(
    *,
    store: Store,
    quickscans: Mapping[str, Quickscan],
    roster: Roster,
    walkthrough: Walkthrough,
    results: Results,
    checklist: ChecklistParts,
    plan: PlanParts,
    output_dir: Path,
    default_instrument: str,
    policy: RetentionPolicy,
) -> list[Route]:
    """The routes, first match wins.

    Privacy first: asking what is stored must not store anything (no team, no
    coordinator), in the channel and in the DM alike. In a DM the checklist flow
    goes before the walkthrough while a checklist step is under way, and a typed
    team command is no answer to the question on screen. In the channel the
    checklist's commands go before the team commands, whose last route answers
    an unknown word; a button pressed in the channel is forged.
    """
    return [
        *privacy_routes(store=store, snapshots=results, output_dir=output_dir),
        checklist.dm_route,
        plan.dm_route,
        TeamCommandInPrivate(),
        *walkthrough_routes(walkthrough=walkthrough),
        *checklist.team_routes,
        *plan.team_routes,
        *team_command_routes(
            store=store,
            instruments=quickscans,
            roster=roster,
            walkthrough=walkthrough,
            results=results,
            default_instrument=default_instrument,
            retention=policy,
        ),
        ButtonInChannel(),
    ]


def _renderers(
    *,
    store: Store,
    quickscans: Mapping[str, Quickscan],
    checklist: ChecklistParts,
    output_dir: Path,
) -> AttachmentRenderers:
    """One renderer per attachment kind, from the subsystems that own the data."""
    renderers = AttachmentRenderers()
    commands = command_renderers(store=store, instruments=quickscans, output_dir=output_dir)
    for kind, render in commands.items():
        renderers.register(kind=kind, render=render)
    renderers.register(kind=AttachmentKind.CHECKLIST_EXPORT, render=checklist.export_renderer)
    return renderers
