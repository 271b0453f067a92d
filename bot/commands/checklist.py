"""``/quickscan checklist ...`` in the team channel and the checklist DM, as routes.

* ``/quickscan checklist`` (anyone): bind yourself as a teacher of this team; the
  bot explains the rest in your DM, where pupils and scores stay.
* ``/quickscan checklist start 1|2 [deadline]`` (coordinator): open a round of the
  current school year.
* ``/quickscan checklist sluit`` (coordinator): close it and post the aggregate.
* ``/quickscan checklist status`` (anyone): counts only.
* ``/quickscan checklist uit|aan`` (coordinator): switch the team's checklist rounds
  off or on. Off, nothing of the checklist is planned or posted (a team that only
  wants the quickscan); an open round closes quietly, its scores kept. The
  change is announced in the channel, and the reminders are planned again at once.

Mistakes and help go only to the person who typed (ephemeral); announcements and
results to the channel, which never sees a pupil label or a per-teacher figure.
Arguments are hostile input: the round number is read as ASCII digits (``²`` is
not 2), and an unknown word is quoted back bounded, never whole.

The router's middleware (``bot.core.middleware``) creates the team and checks the
coordinator from each route's flags, so the handlers here start from a filled-in
:class:`~bot.core.context.EventContext`. The words after ``checklist`` come from
the catalogue (``conversations.checklist.words``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.calendar.deadline import DeadlineError, looks_like_date, parse_deadline
from bot.checklist.aggregate import COARSE_FLOOR
from bot.checklist.export import ChecklistExportRenderer
from bot.checklist.results import ChecklistResults
from bot.checklist.service import ChecklistService, default_checklist
from bot.commands.parse import CHECKLIST_START_WORDS, Sub
from bot.core.context import EventContext
from bot.core.router import Route
from conversations.checklist.flow import ChecklistFlow
from conversations.checklist.naming import deadline_text, round_name
from conversations.checklist.prompts import dm, go_buttons
from conversations.checklist.words import TeamWord, team_words
from conversations.core.clock import Clock
from conversations.core.messages import Outbound, Where
from conversations.core.text_input import parse_bounded_int, quote
from conversations.instrument import Checklist, Quickscan
from storage.checklist.lifecycle import school_year_of
from storage.checklist.records import ROUND_NUMBERS
from storage.checklist.store import ChecklistStore
from storage.quickscan.records import Team
from storage.quickscan.store import Store

_LOG = logging.getLogger(__name__)


def _first_word(ctx: EventContext) -> str | None:
    """The word after ``checklist`` of a checklist command in the team channel, else None.

    "" for ``/quickscan checklist`` alone (bind); None when the event is no such command.
    """
    command = ctx.command
    if ctx.event.where is not Where.TEAM or command is None or command.sub is not Sub.CHECKLIST:
        return None
    return command.args[0].lower() if command.args else ""


SWITCH_ON_WORDS = team_words(TeamWord.ON)  # /quickscan checklist aan
SWITCH_OFF_WORDS = team_words(TeamWord.OFF)  # /quickscan checklist uit


def _manages(word: str) -> bool:
    """Whether the word is one of the coordinator's: opening or closing a round."""
    return word in CHECKLIST_START_WORDS or word in team_words(TeamWord.CLOSE)


def _switches(word: str) -> bool:
    """Whether the word switches the team's checklist on or off (a coordinator's too)."""
    return word in SWITCH_ON_WORDS or word in SWITCH_OFF_WORDS


def _team(ctx: EventContext) -> Team:
    """The team, filled in by the middleware for routes that need one.

    Raises:
        LookupError: The route ran without the team middleware (a wiring mistake).
    """
    if ctx.team is None:
        raise LookupError("the checklist's team routes need the team middleware")
    return ctx.team


class ChecklistCommands:
    """Executes ``/quickscan checklist`` commands against the checklist service."""

    def __init__(
        self,
        *,
        store: Store,
        checklists: ChecklistStore,
        service: ChecklistService,
        flow: ChecklistFlow,
    ) -> None:
        self._store = store
        self._checklists = checklists
        self._service = service
        self._flow = flow

    def everyone(self, ctx: EventContext) -> list[Outbound]:
        """Bind, status, help, or an unknown word: what any member may type."""
        texts = ctx.texts
        args = ctx.command.args if ctx.command is not None else ()
        if not args:
            return self._bind(ctx)
        word = args[0].lower()
        if word in team_words(TeamWord.STATUS):
            return self._status(ctx)
        if word in team_words(TeamWord.HELP):
            return [ctx.private(texts.t("checklist.team_help"))]
        return [ctx.private(texts.t("checklist.team_unknown", word=quote(args[0])))]

    def manage(self, ctx: EventContext) -> list[Outbound]:
        """Open or close a round (the coordinator check ran before)."""
        args = ctx.command.args if ctx.command is not None else ()
        if args and args[0].lower() in CHECKLIST_START_WORDS:
            return self._start(ctx, args[1:])
        replies = self._service.close_round(team=ctx.key, now=ctx.now)
        return replies or [ctx.private(ctx.texts.t("checklist.close_none"))]

    def switch(self, ctx: EventContext) -> list[Outbound]:
        """``uit`` / ``aan``: switch the checklist rounds off or on, announced in the channel.

        Off closes an open round at once and quietly: its deadline and closing ping
        are cancelled by the re-plan that follows, so left open it would never close,
        and a team that switched off asked for no more checklist posts. On plans from
        the next applicable moment (a round whose opening passed is not opened late).
        Exactly one of two coordinators switching at once changes it (a conditional
        update); the other is told it already was so.
        """
        texts = ctx.texts
        args = ctx.command.args if ctx.command is not None else ()
        if len(args) != 1:
            return [ctx.private(texts.t("checklist.switch_usage"))]
        enabled = args[0].lower() in SWITCH_ON_WORDS
        if not self._store.switch_checklist(key=ctx.key, enabled=enabled):
            already = "checklist.already_on" if enabled else "checklist.already_off"
            return [ctx.private(texts.t(already))]
        who = ctx.event.sender.display_name
        if enabled:
            lines = [texts.t("checklist.switched_on", coordinator=who)]
            if _team(ctx).region is None:
                lines.append(texts.t("checklist.switched_on_no_region"))
            _LOG.info("checklist: switched on by a coordinator")
            return [ctx.to_channel("\n".join(lines))]
        lines = [texts.t("checklist.switched_off", coordinator=who)]
        current = self._service.current_round(team=ctx.key)
        closing: list[Outbound] = []
        if current is not None:
            closing = self._service.close_round(team=ctx.key, now=ctx.now, team_post=False)
            name = round_name(current, texts)  # "ronde 1 (2026/27)" opens the sentence
            lines.append(
                texts.t("checklist.switched_off_closed", round=name[:1].upper() + name[1:])
            )
            if current.number == 2:
                lines.append(texts.t("checklist.switched_off_comparison"))
        lines.append(texts.t("checklist.switched_off_how_on"))
        _LOG.info(
            "checklist: switched off by a coordinator (an open round closed: %s)", bool(current)
        )
        return [ctx.to_channel("\n".join(lines)), *closing]

    def _bind(self, ctx: EventContext) -> list[Outbound]:
        texts = ctx.texts
        teacher, created = self._checklists.bind_teacher(
            key=ctx.key,
            user=ctx.user,
            display_name=ctx.event.sender.display_name,
            now=ctx.now,
        )
        view = self._flow.view(teacher)
        lines = [
            texts.t(
                "checklist.bound" if created else "checklist.bound_again",
                name=teacher.display_name,
                count=len(view.pupils),
            ),
            "",
            texts.t("checklist.help"),
        ]
        if not _team(ctx).checklist_enabled:
            lines += ["", texts.t("checklist.bound_switched_off")]
        if view.round is not None:
            lines += [
                "",
                texts.t(
                    "checklist.bound_round_open",
                    round=round_name(view.round, texts),
                    deadline=deadline_text(view.round, texts),
                ),
            ]
        return [
            ctx.private(texts.t("checklist.bound_ack")),
            dm(teacher, "\n".join(lines), buttons=go_buttons(view)),
        ]

    def _start(self, ctx: EventContext, args: tuple[str, ...]) -> list[Outbound]:
        texts, now = ctx.texts, ctx.now
        number = (
            parse_bounded_int(args[0], low=min(ROUND_NUMBERS), high=max(ROUND_NUMBERS))
            if args
            else None
        )
        if number is None:
            return [ctx.private(texts.t("checklist.start_usage"))]
        if not _team(ctx).checklist_enabled:
            return [ctx.private(texts.t("checklist.start_switched_off"))]
        deadline = None
        for arg in args[1:]:
            if not looks_like_date(arg):
                return [ctx.private(texts.t("checklist.start_usage"))]
            try:
                deadline = parse_deadline(arg, now=now)
            except DeadlineError as error:
                return [ctx.private(texts.t(f"start.deadline_{error}", text=quote(arg)))]
        current = self._checklists.current_round(key=ctx.key)
        if current is not None:
            return [
                ctx.private(
                    texts.t("checklist.start_other_open", round=round_name(current, texts))
                )
            ]
        replies = self._service.open_round(
            team=ctx.key,
            number=number,
            school_year=school_year_of(now),
            deadline=deadline,
            now=now,
            opened_by=ctx.user,
        )
        if not replies:
            return [ctx.private(texts.t("checklist.start_exists", number=number))]
        _LOG.info("checklist: round %d opened by a coordinator", number)
        return replies

    def _status(self, ctx: EventContext) -> list[Outbound]:
        texts = ctx.texts
        if not _team(ctx).checklist_enabled:
            return [ctx.private(texts.t("checklist.switched_off_note"))]
        round_ = self._service.current_round(team=ctx.key)
        bound = len(self._checklists.teachers(key=ctx.key))
        if round_ is None:
            return [ctx.private(texts.t("checklist.status_none", count=bound))]
        progress = self._service.progress(team=ctx.key)
        text = texts.t(
            "checklist.status",
            round=round_name(round_, texts),
            deadline=deadline_text(round_, texts),
            count=bound,
            started=sum(1 for p in progress if p.complete > 0),
            finished=sum(1 for p in progress if p.finished),
            minimum=max(_team(ctx).min_respondents, COARSE_FLOOR),
        )
        return [ctx.to_channel(text)]


class ChecklistTeamRoute:
    """``/quickscan checklist [status|help|...]``: what any member may type in the channel."""

    needs_team = True
    coordinator_only = False
    replans = False

    def __init__(self, *, commands: ChecklistCommands) -> None:
        self._commands = commands

    def check(self, ctx: EventContext) -> bool:
        """A checklist command whose word is not the coordinator's."""
        word = _first_word(ctx)
        return word is not None and not _manages(word) and not _switches(word)

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Bind, status, help, or say the word is unknown."""
        return self._commands.everyone(ctx)


class ChecklistManageRoute:
    """``/quickscan checklist start 1|2 [deadline]`` and ``... sluit``: coordinators only."""

    needs_team = True
    coordinator_only = True
    replans = False

    def __init__(self, *, commands: ChecklistCommands) -> None:
        self._commands = commands

    def check(self, ctx: EventContext) -> bool:
        """A checklist command that opens or closes a round."""
        word = _first_word(ctx)
        return word is not None and _manages(word)

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Open or close the round."""
        return self._commands.manage(ctx)


class ChecklistSwitchRoute:
    """``/quickscan checklist uit|aan``: coordinators only; the reminders are planned again."""

    needs_team = True
    coordinator_only = True
    replans = True  # off cancels every pending checklist ping; on plans them again

    def __init__(self, *, commands: ChecklistCommands) -> None:
        self._commands = commands

    def check(self, ctx: EventContext) -> bool:
        """A checklist command that switches the checklist off or on."""
        word = _first_word(ctx)
        return word is not None and _switches(word)

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Switch, close an open round quietly when off, announce."""
        return self._commands.switch(ctx)


class ChecklistDmRoute:
    """The teacher's checklist DM, while it is the checklist's (see ``ChecklistFlow.claims``)."""

    needs_team = False
    coordinator_only = False
    replans = False

    def __init__(self, *, flow: ChecklistFlow) -> None:
        self._flow = flow

    def check(self, ctx: EventContext) -> bool:
        """A DM event that the checklist flow claims."""
        return ctx.event.where is Where.DM and self._flow.claims(ctx.event)

    def handle(self, ctx: EventContext) -> list[Outbound]:
        """Hand the event to the flow."""
        return self._flow.handle(ctx.event)


@dataclass(frozen=True, slots=True)
class ChecklistParts:
    """The checklist's faces, sharing one store, instrument and results builder.

    Attributes:
        service: Rounds: what the scheduler and coordinators call.
        flow: The teacher's DM conversation.
        commands: ``/quickscan checklist ...`` in the team channel.
        team_routes: The team-channel routes (anyone's, and the coordinator's).
        dm_route: The DM route; it goes before the quickscan walkthrough's.
        export_renderer: Makes ``CHECKLIST_EXPORT`` attachments at delivery
            (register it in ``bot.delivery.attachments``).
    """

    service: ChecklistService
    flow: ChecklistFlow
    commands: ChecklistCommands
    team_routes: tuple[Route, ...]
    dm_route: Route
    export_renderer: ChecklistExportRenderer


def build_checklist(
    *,
    store: Store,
    instruments: Mapping[str, Quickscan | Checklist],
    clock: Clock,
    output_dir: Path,
) -> ChecklistParts:
    """Wire the checklist on the engine's store, so the engine's builder stays short."""
    checklists = ChecklistStore(engine=store.engine, cipher=store.cipher)
    checklist = default_checklist(instruments)
    results = ChecklistResults(checklists=checklists, checklist=checklist, output_dir=output_dir)
    flow = ChecklistFlow(
        store=store, checklists=checklists, checklist=checklist, exports=results, clock=clock
    )
    service = ChecklistService(
        store=store, checklists=checklists, checklist=checklist, flow=flow, results=results
    )
    commands = ChecklistCommands(store=store, checklists=checklists, service=service, flow=flow)
    return ChecklistParts(
        service=service,
        flow=flow,
        commands=commands,
        team_routes=(
            ChecklistSwitchRoute(commands=commands),
            ChecklistManageRoute(commands=commands),
            ChecklistTeamRoute(commands=commands),
        ),
        dm_route=ChecklistDmRoute(flow=flow),
        export_renderer=ChecklistExportRenderer(
            checklists=checklists, checklist=checklist, output_dir=output_dir
        ),
    )
