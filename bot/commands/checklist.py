"""``/quickscan checklist ...`` in the team channel: binding teachers, running rounds.

* ``/quickscan checklist`` (anyone): bind yourself as a teacher of this team; the
  bot explains the rest in your DM, where pupils and scores stay.
* ``/quickscan checklist start 1|2 [deadline]`` (coordinator): open a round of the
  current school year.
* ``/quickscan checklist sluit`` (coordinator): close it and post the aggregate.
* ``/quickscan checklist status`` (anyone): counts only.

Mistakes and help go only to the person who typed (ephemeral); announcements and
results to the channel, which never sees a pupil label or a per-teacher figure.
Arguments are hostile input: the round number is read as ASCII digits (``²`` is
not 2), and an unknown word is quoted back bounded, never whole.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.calendar.deadline import DeadlineError, looks_like_date, parse_deadline
from bot.checklist.results import COARSE_FLOOR, ChecklistResults, round_name
from bot.checklist.service import ChecklistService, default_checklist
from bot.commands.parse import CHECKLIST_START_WORDS, parse_command
from bot.core.roles import ensure_team_for
from conversations.checklist.flow import ChecklistFlow, deadline_text
from conversations.checklist.prompts import dm, go_buttons
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound
from conversations.core.text_input import parse_bounded_int, quote
from conversations.instrument import Checklist, Quickscan
from storage.checklist.lifecycle import school_year_of
from storage.checklist.records import ROUND_NUMBERS
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store

_LOG = logging.getLogger(__name__)

_START = CHECKLIST_START_WORDS  # the words that also found a team (bot/commands.py)
_CLOSE = frozenset({"sluit", "close", "afsluiten"})
_STATUS = frozenset({"status", "stand"})
_HELP = frozenset({"help", "hulp"})


class ChecklistCommands:
    """Executes ``/quickscan checklist`` commands against the checklist service."""

    def __init__(
        self,
        *,
        store: Store,
        checklists: ChecklistStore,
        service: ChecklistService,
        flow: ChecklistFlow,
        clock: Clock,
    ) -> None:
        self._store = store
        self._checklists = checklists
        self._service = service
        self._flow = flow
        self._clock = clock

    def handle(self, event: Inbound) -> list[Outbound]:
        """One ``/quickscan checklist ...`` message in, replies out."""
        key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
        team = ensure_team_for(store=self._store, event=event, now=self._clock.now())
        texts = Catalogue(team.locale)
        args = parse_command(event.text).args  # after the word 'checklist'
        if not args:
            return self._bind(event, key, texts)
        word, rest = args[0].lower(), args[1:]
        if word in _STATUS:
            return self._status(event, key, texts, min_respondents=team.min_respondents)
        if word in _HELP:
            return [_private(event, texts.t("checklist.team_help"))]
        if word not in _START | _CLOSE:
            return [_private(event, texts.t("checklist.team_unknown", word=quote(args[0])))]
        if not self._may_manage(event, key):
            return [_private(event, texts.t("cmd.not_coordinator"))]
        if word in _START:
            return self._start(event, key, texts, rest)
        replies = self._service.close_round(team=key, now=self._clock.now())
        return replies or [_private(event, texts.t("checklist.close_none"))]

    def _bind(self, event: Inbound, key: TeamKey, texts: Catalogue) -> list[Outbound]:
        teacher, created = self._checklists.bind_teacher(
            key=key,
            user=event.sender.user,
            display_name=event.sender.display_name,
            now=self._clock.now(),
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
            _private(event, texts.t("checklist.bound_ack")),
            dm(teacher, "\n".join(lines), buttons=go_buttons(view)),
        ]

    def _start(
        self, event: Inbound, key: TeamKey, texts: Catalogue, args: tuple[str, ...]
    ) -> list[Outbound]:
        now = self._clock.now()
        number = (
            parse_bounded_int(args[0], low=min(ROUND_NUMBERS), high=max(ROUND_NUMBERS))
            if args
            else None
        )
        if number is None:
            return [_private(event, texts.t("checklist.start_usage"))]
        deadline = None
        for arg in args[1:]:
            if not looks_like_date(arg):
                return [_private(event, texts.t("checklist.start_usage"))]
            try:
                deadline = parse_deadline(arg, now=now)
            except DeadlineError as error:
                return [_private(event, texts.t(f"start.deadline_{error}", text=quote(arg)))]
        school_year = school_year_of(now)
        current = self._checklists.current_round(key=key)
        if current is not None:
            return [
                _private(
                    event, texts.t("checklist.start_other_open", round=round_name(current, texts))
                )
            ]
        replies = self._service.open_round(
            team=key,
            number=number,
            school_year=school_year,
            deadline=deadline,
            now=now,
            opened_by=event.sender.user,
        )
        if not replies:
            return [_private(event, texts.t("checklist.start_exists", number=number))]
        _LOG.info("checklist: round %d opened by a coordinator", number)
        return replies

    def _status(
        self, event: Inbound, key: TeamKey, texts: Catalogue, *, min_respondents: int
    ) -> list[Outbound]:
        round_ = self._service.current_round(team=key)
        bound = len(self._checklists.teachers(key=key))
        if round_ is None:
            return [_private(event, texts.t("checklist.status_none", teachers=bound))]
        progress = self._service.progress(team=key)
        text = texts.t(
            "checklist.status",
            round=round_name(round_, texts),
            deadline=deadline_text(round_, texts),
            teachers=bound,
            started=sum(1 for p in progress if p.complete > 0),
            finished=sum(1 for p in progress if p.finished),
            minimum=max(min_respondents, COARSE_FLOOR),
        )
        return [Outbound(destination=Destination.team_channel(team=key.team), text=text)]

    def _may_manage(self, event: Inbound, key: TeamKey) -> bool:
        """Coordinators, and the platform's own channel administrators."""
        return event.sender_is_admin or self._store.is_coordinator(key=key, user=event.sender.user)


def _private(event: Inbound, text: str) -> Outbound:
    return Outbound(
        destination=Destination.ephemeral(team=event.team, user=event.sender.user), text=text
    )


@dataclass(frozen=True, slots=True)
class ChecklistParts:
    """The checklist's three faces, sharing one store, instrument and results builder.

    Attributes:
        service: Rounds: what the scheduler and coordinators call.
        flow: The teacher's DM conversation.
        commands: ``/quickscan checklist ...`` in the team channel.
    """

    service: ChecklistService
    flow: ChecklistFlow
    commands: ChecklistCommands


def build_checklist(
    *,
    store: Store,
    instruments: Mapping[str, Quickscan | Checklist],
    clock: Clock,
    output_dir: Path,
) -> ChecklistParts:
    """Wire the checklist on the engine's store, so ``Engine.__init__`` stays short."""
    checklists = ChecklistStore(engine=store.engine, cipher=store.cipher)
    checklist = default_checklist(instruments)
    results = ChecklistResults(checklists=checklists, checklist=checklist, output_dir=output_dir)
    flow = ChecklistFlow(
        store=store, checklists=checklists, checklist=checklist, results=results, clock=clock
    )
    service = ChecklistService(
        store=store, checklists=checklists, checklist=checklist, flow=flow, results=results
    )
    commands = ChecklistCommands(
        store=store, checklists=checklists, service=service, flow=flow, clock=clock
    )
    return ChecklistParts(service=service, flow=flow, commands=commands)
