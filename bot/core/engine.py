"""The adapter-neutral engine: one entry point for every inbound event.

Adapters call :meth:`Engine.handle` with a neutral :class:`Inbound` and deliver
the returned :class:`Outbound` messages. The engine imports no adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from bot.calendar.reminders import Reminders
from bot.calendar.team_calendar import days_for
from bot.commands.checklist import build_checklist
from bot.commands.parse import Sub, is_command, parse_command
from bot.commands.privacy import build_privacy, is_privacy_command
from bot.commands.team import TeamCommands
from bot.core import input_guard
from bot.core.ports import Roster, RosterUnavailableError
from bot.privacy.policy import RetentionPolicy
from bot.privacy.retention import RetentionReport
from bot.results.service import Results
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound, Sender, Where
from conversations.instrument import Checklist, Quickscan
from conversations.quickscan.walkthrough import Walkthrough
from storage.keys import TeamKey
from storage.quickscan.records import RoundNotOpenError
from storage.quickscan.store import Store
from storage.schedule.store import ScheduleStore

DEFAULT_INSTRUMENT = "quickscan-po"


class Engine:
    """Routes team-channel commands and DM conversation to their handlers.

    Events are handled one at a time (a lock), so adapters running side by side in
    threads (Slack socket mode beside Telegram polling) never interleave two steps
    of one conversation.
    """

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan | Checklist],
        roster: Roster,
        clock: Clock,
        output_dir: Path,
        default_instrument: str = DEFAULT_INSTRUMENT,
        retention: RetentionPolicy | None = None,
    ) -> None:
        quickscans = {
            key: value for key, value in instruments.items() if isinstance(value, Quickscan)
        }
        if default_instrument not in quickscans:
            raise ValueError(f"default instrument {default_instrument!r} is not a quickscan")
        self.store = store
        self._clock = clock
        self._lock = threading.RLock()
        policy = retention or RetentionPolicy()
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
            retention=policy,
        )
        # The checklist oudercontact; ``checklist`` is the round service the scheduler calls.
        checklist = build_checklist(
            store=store, instruments=instruments, clock=clock, output_dir=output_dir
        )
        self.checklist = checklist.service
        self.checklist_flow = checklist.flow
        self.checklist_commands = checklist.commands
        # AVG: the retention job and the members' rights (bot/privacy.py).
        privacy = build_privacy(
            store=store,
            snapshots=self.results,
            output_dir=output_dir,
            clock=clock,
            policy=policy,
        )
        self.retention = privacy.retention
        self.member_rights = privacy.rights
        self.reminders = Reminders(
            store=store,
            schedule=ScheduleStore(engine=store.engine),
            calendar_for=days_for,
            checklist=self.checklist,
            walkthrough=self.walkthrough,
            results=self.results,
            clock=clock,
        )

    def handle(self, event: Inbound) -> list[Outbound]:
        """Process one event; every change is committed before this returns.

        A delivery id seen before (a platform retry) is ignored, so a retried slash
        command does not open two rounds and a retried click does not answer twice.

        Every event is hostile input: text the bot cannot store or show is refused
        here with a private answer (``bot.core.input_guard``), and any failure further on
        is logged without content and answered privately, so one bad message (or a
        database outage) never ends the process nor reaches the channel.
        """
        with self._lock:
            if not input_guard.identifiers_usable(event):
                input_guard.log_dropped(event)
                return []
            try:
                return self._screened(input_guard.with_clean_sender(event))
            except RosterUnavailableError:
                raise  # no failure of the event: the adapter tells the sender what to do
            except Exception as error:  # the catch-all: one event must never end the process
                input_guard.log_failure(error, event)
                return [input_guard.failure_reply(event, error)]

    def _screened(self, event: Inbound) -> list[Outbound]:
        """Ignore redeliveries, refuse unusable text, then route.

        Redeliveries first: a platform retrying a refused message must not get the
        sender a second refusal.
        """
        if event.event_id is not None and not self.store.claim_event(
            platform=event.platform,
            workspace=event.workspace,
            event_id=event.event_id,
            now=self._clock.now(),
        ):
            return []
        if input_guard.addressed(event):
            reason = input_guard.refusal_key(event)
            if reason is not None:
                key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
                team = self.store.get_team(key=key) if event.team else None
                texts = Catalogue(team.locale if team else "nl")
                return [input_guard.refusal(event, key=reason, texts=texts)]
        return self._route(event)

    def tick(self) -> list[Outbound]:
        """Plan every team and send the pings that are due (scheduler and console ``@clock``).

        On the console this is also the daily retention job's clock: it runs once a
        (simulated) day has passed since its last run.
        """
        with self._lock:
            self.retention.run_if_due(now=self._clock.now())
            self.reminders.replan_all()
            return self.reminders.fire_due()

    def run_retention(self) -> RetentionReport:
        """Delete what is past its retention period (the scheduler's daily job)."""
        with self._lock:
            return self.retention.run(now=self._clock.now())

    def fire_ping(self, *, ping_id: str) -> list[Outbound]:
        """Send one planned ping if still due and useful (APScheduler's job)."""
        with self._lock:
            return self.reminders.fire(ping_id=ping_id)

    def _route(self, event: Inbound) -> list[Outbound]:
        if is_privacy_command(event.text):
            # Before anything that creates a team or a coordinator: asking what is
            # stored must not store anything. Works in the channel and in the DM.
            return self.member_rights.handle(event)
        if event.where is Where.DM:
            if self.checklist_flow.claims(event):
                return self.checklist_flow.handle(event)
            if event.payload is None and is_command(event.text):
                # A team command typed in private is no answer to the question on screen.
                return [
                    Outbound(
                        destination=Destination.dm(team=event.team, user=event.sender.user),
                        text=Catalogue().t("input.team_only"),
                    )
                ]
            return self.walkthrough.handle(event)
        if is_command(event.text):
            if parse_command(event.text).sub is Sub.CHECKLIST:
                return self.checklist_commands.handle(event)
            replies = self.team_commands.handle(event)
            # A new deadline, region or holiday date changes the plan at once.
            self.reminders.replan(
                key=TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
            )
            return replies
        if event.payload is not None:
            # Buttons only live in DMs; one pressed elsewhere is foreign or forged.
            return [
                Outbound(
                    destination=Destination.ephemeral(team=event.team, user=event.sender.user),
                    text=Catalogue().t("dm.invalid_button"),
                )
            ]
        return []

    def join(
        self,
        *,
        platform: str,
        workspace: str,
        token: str,
        sender: Sender,
        event_id: str | None = None,
    ) -> list[Outbound]:
        """A member opened a round's join link: invite them and send the intro DM.

        Opening the link proves the member can be reached again, so an earlier
        "unreachable" mark is lifted; a redelivered link (same ``event_id``) is ignored.
        """
        with self._lock:
            if not input_guard.usable_token(token):  # typed by hand after /start: hostile
                found = None
            else:
                if event_id is not None and not self.store.claim_event(
                    platform=platform,
                    workspace=workspace,
                    event_id=event_id,
                    now=self._clock.now(),
                ):
                    return []
                found = self.store.round_by_token(
                    platform=platform, workspace=workspace, token=token
                )
            sender = input_guard.clean_sender(sender)
            if found is None:
                return [
                    Outbound(
                        destination=Destination.dm(team="", user=sender.user),
                        text=Catalogue().t("join.unknown"),
                    )
                ]
            key, round_ = found
            try:
                participation, _new = self.store.invite(
                    key=key,
                    round_id=round_.id,
                    user=sender.user,
                    display_name=sender.display_name,
                    now=self._clock.now(),
                )
            except RoundNotOpenError:
                return [
                    Outbound(
                        destination=Destination.dm(team=key.team, user=sender.user),
                        text=Catalogue().t("dm.round_closed"),
                    )
                ]
            if participation.unreachable_at is not None:
                self.store.mark_reachable(key=participation.key, round_id=round_.id)
            return [self.walkthrough.prompt_for(participation=participation)]

    def report_unreachable(self, *, team: TeamKey, user: str) -> list[Outbound]:
        """A DM to ``user`` failed for good: note it once and tell the round's opener.

        Adapters call this instead of retrying forever (a member left the channel
        or blocked the bot). Nothing about answers is revealed, only that the
        member could not be reached.
        """
        with self._lock:
            round_ = self.store.current_round(key=team)
            if round_ is None:
                return []
            newly = self.store.mark_unreachable(
                key=team.member(user), round_id=round_.id, now=self._clock.now()
            )
            participation = self.store.participation(key=team.member(user), round_id=round_.id)
            if not newly or participation is None or user == round_.opened_by:
                return []
            settings = self.store.get_team(key=team)
            texts = Catalogue(settings.locale if settings else "nl")
            return [
                Outbound(
                    destination=Destination.dm(team=team.team, user=round_.opened_by),
                    text=texts.t("dm.unreachable", name=participation.display_name),
                )
            ]
