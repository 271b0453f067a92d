"""The adapter-neutral engine: one entry point for every inbound event.

Every event is handled in ONE unit of work (``storage.transactions``): the
redelivery claim, the state it changes and an outbox row for every message it
causes commit together, or not at all. What :meth:`Engine.handle` returns is
already queued; the platform's dispatcher (:meth:`Engine.dispatcher`) sends it,
in this process or another, after the commit. So an adapter calls ``handle``
before it acknowledges the platform ("handled before acknowledged"), and a
crash at any moment loses neither a state change nor a message it caused.

Concurrency is the database's business, not a lock's: SQLite serialises writers
with ``BEGIN IMMEDIATE``, PostgreSQL takes an advisory lock per team (team
events) or per member (DM events), so events of different chats run side by side
and one chat's events one after the other, across processes. The engine imports
no adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bot.commands.parse import is_command, parse_command
from bot.core import input_guard
from bot.core.builder import DEFAULT_INSTRUMENT, build_services
from bot.core.context import EventContext
from bot.core.joining import Joining
from bot.core.metrics import Metrics
from bot.core.notices import Notices
from bot.core.ports import Roster, RosterUnavailableError
from bot.core.prefetch import PrefetchingRoster
from bot.core.roster_first import members_first, members_first_for_ping
from bot.delivery.api import Delivery, PlatformSender
from bot.delivery.dispatcher import DEFAULT_LEASE, Dispatcher
from bot.delivery.outbox import Outbox
from bot.privacy.policy import RetentionPolicy
from bot.privacy.retention import RetentionReport
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Inbound, Outbound, Sender, Where
from conversations.instrument import Checklist, Quickscan
from storage.conflicts import redo_on_conflict
from storage.delivery.rate_buckets import RateBucketStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.transactions import after_commit, unit_of_work

__all__ = ["DEFAULT_INSTRUMENT", "Engine"]

_LOG = logging.getLogger(__name__)
NO_ORIGIN: Mapping[str, str] = {}


def team_lock(key: TeamKey) -> str:
    """The lock name serialising one team's events across processes."""
    return f"team:{key.platform}:{key.workspace}:{key.team}"


def member_lock(*, platform: str, workspace: str, user: str) -> str:
    """The lock name serialising one member's DM events across processes."""
    return f"member:{platform}:{workspace}:{user}"


class Engine:
    """Runs every event, tick and ping through the router, one unit of work each."""

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
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()  # one registry per engine: /metrics and tests
        self._roster = PrefetchingRoster(roster=roster)
        services = build_services(
            store=store,
            instruments=instruments,
            roster=self._roster,
            clock=clock,
            output_dir=output_dir,
            default_instrument=default_instrument,
            retention=retention,
            metrics=self.metrics,
        )
        self.store = store
        self.instruments = instruments  # the adapters show the same ones
        self._clock = clock
        self._services = services
        self.walkthrough = services.walkthrough
        self.results = services.results
        self.checklist = services.checklist
        self.reminders = services.reminders
        self.retention = services.retention
        self.renderers = services.renderers
        self._outbox = Outbox(store=services.outbox, clock=clock)
        self._notices = Notices(store=store)
        self._joining = Joining(store=store, walkthrough=services.walkthrough)
        self._dispatchers: dict[str, Dispatcher] = {}
        self._senders: dict[str, PlatformSender] = {}

    # ------------------------------------------------------------------ events

    def handle(self, event: Inbound) -> list[Outbound]:
        """Handle one event; what it returns is already committed to the outbox.

        A delivery id seen before (a platform retry) is ignored, so a retried
        slash command does not open two rounds. Every event is hostile input: ids
        no platform would send are dropped unanswered, text the bot cannot store
        is refused privately (``bot.core.middleware``), a roster that cannot list
        the team is answered privately in its own words, and any other failure is
        logged without content and answered privately, so one bad message (or a
        database outage) never ends the process nor reaches the channel.
        """
        if not input_guard.identifiers_usable(event):
            input_guard.log_dropped(event)
            return []
        event = input_guard.with_clean_sender(event)
        key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
        if event.where is Where.TEAM:
            locks = [team_lock(key)]
        else:
            user = event.sender.user
            locks = [member_lock(platform=key.platform, workspace=key.workspace, user=user)]
        try:
            with self.metrics.entered(), members_first(self._roster, event, key):
                return self._commit(
                    key=key,
                    locks=locks,
                    origin=event.origin,
                    work=lambda: self._services.router.dispatch(self._context(event, key)),
                )
        except RosterUnavailableError as error:  # the team's platform would not list it
            return self._answer(event, self.texts_for(key).t(error.key))
        except Exception as error:  # the catch-all: one event must never end the process
            input_guard.log_failure(error, event)
            return self._answer(event, input_guard.failure_reply(event, error).text)

    def join(
        self,
        *,
        platform: str,
        workspace: str,
        token: str,
        sender: Sender,
        event_id: str | None = None,
    ) -> list[Outbound]:
        """A member opened a round's join link: invite them and queue the intro DM.

        Opening the link proves the member can be reached again, so an earlier
        "unreachable" mark is lifted; a redelivered link (same ``event_id``) is ignored.
        """
        sender = input_guard.clean_sender(sender)
        key = TeamKey(platform=platform, workspace=workspace, team="")
        return self._commit(
            key=key,
            locks=[member_lock(platform=platform, workspace=workspace, user=sender.user)],
            origin=NO_ORIGIN,
            work=lambda: self._joining.join(
                platform=platform,
                workspace=workspace,
                token=token,
                sender=sender,
                event_id=event_id,
                now=self._now(),
            ),
        )

    # ------------------------------------------------------ the bot's own time

    def tick(self) -> list[Outbound]:
        """Plan every team and fire the pings that are due (scheduler and console ``@clock``).

        On the console this is also the daily retention job's clock: it runs once a
        (simulated) day has passed since its last run. Each team's planning and
        each ping is a unit of work of its own, so one team never waits for all.
        """
        now = self._now()
        if self.retention.run_if_due(now=now) is not None:
            self._purge_outbox()
        self.replan_all()
        messages: list[Outbound] = []
        for ping in self.reminders.due():
            messages += self.fire_ping(ping_id=ping.id)
        return messages

    def replan_all(self) -> None:
        """Plan every team's pings again (at start, hourly, and on every tick)."""
        for team in self.store.teams():
            with unit_of_work(self.store.engine, locks=[team_lock(team.key)]):
                self.reminders.replan(key=team.key)

    def fire_ping(self, *, ping_id: str) -> list[Outbound]:
        """Fire one planned ping if it is still due and useful (APScheduler's job).

        The ping's claim and its messages commit together: a crash in between
        leaves the ping pending, so it fires once after a restart; a second
        process finds it claimed. The plan's next-round ping asks the platform for
        the team's members first, outside the transaction, like ``/quickscan start``.
        """
        ping = self._services.schedule.get(ping_id=ping_id)
        if ping is None:
            return []
        with members_first_for_ping(self._roster, ping):
            return self._commit(
                key=ping.team,
                locks=[team_lock(ping.team)],
                origin=NO_ORIGIN,
                work=lambda: self.reminders.fire(ping_id=ping_id),
            )

    def run_retention(self) -> RetentionReport:
        """Delete what is past its retention period (the scheduler's daily job).

        Not one unit of work: every step is an idempotent delete of its own, and
        the WAL checkpoint at the end must run outside any transaction.
        """
        report = self.retention.run(now=self._now())
        self._purge_outbox()
        return report

    def _purge_outbox(self) -> None:
        """Delivered and failed outbox rows go after the event retention period."""
        before = self.retention.policy.events_seen_before(self._now())
        purged = self._services.outbox.purge(before=before)
        _LOG.info("retention: %d finished outbox rows deleted", purged)

    # ---------------------------------------------------------------- delivery

    def dispatcher(
        self, *, sender: PlatformSender, workers: int = 8, lease: timedelta = DEFAULT_LEASE
    ) -> Dispatcher:
        """The dispatcher of ``sender``'s platform, registered so commits wake it.

        Permanent failures are reported once (:meth:`report_undeliverable`) and a
        moved chat takes its team along (:meth:`migrate_chat`). ``lease`` is how
        long a claimed row waits after a crash before a restarted process sends
        it: a single-process adapter that sends at once (the console) may keep it
        short, so the rows of a killed run are not held up after its restart.
        """
        dispatcher = Dispatcher(
            store=self._services.outbox,
            sender=sender,
            clock=self._clock,
            renderers=self.renderers,
            on_permanent=self.report_undeliverable,
            on_migrated=self.migrate_chat,
            workers=workers,
            lease=lease,
            metrics=self.metrics,
            rate_buckets=RateBucketStore(engine=self.store.engine),  # shared by every replica
        )
        self._dispatchers[sender.platform] = dispatcher
        self._senders[sender.platform] = sender
        return dispatcher

    def report_undeliverable(
        self, *, platform: str, workspace: str, team: str, kind: str, user: str | None, reason: str
    ) -> list[Outbound]:
        """A message will never arrive: note it and tell the coordinator, once.

        Called by the dispatcher for a permanent failure (blocked, not in the
        channel, user gone). A member's DM marks them unreachable for the round
        and tells the round's opener; a team post that cannot be made tells the
        coordinators how to fix it. The notice's dedupe key makes it once, however
        many messages fail the same way. ``reason`` is a platform error code.
        """
        key = TeamKey(platform=platform, workspace=workspace, team=team)
        _LOG.warning("a %s message could not be delivered (%s)", kind, reason)
        if not team:
            return []
        return self._commit(
            key=key,
            locks=[team_lock(key)],
            origin=NO_ORIGIN,
            work=lambda: self._notices.undeliverable(
                key=key, kind=kind, user=user, reason=reason, now=self._now()
            ),
        )

    def migrate_chat(self, *, platform: str, workspace: str, old_team: str, new_team: str) -> None:
        """A chat moved (a Telegram group became a supergroup): everything follows it.

        The team (its rounds, settings, coordinators, plans) and every unsent
        message move to the new chat id in one unit of work.
        """
        old = TeamKey(platform=platform, workspace=workspace, team=old_team)
        new = TeamKey(platform=platform, workspace=workspace, team=new_team)
        with unit_of_work(self.store.engine, locks=[team_lock(old), team_lock(new)]):
            self.store.rename_team(key=old, new_team=new_team)
            moved = self._services.outbox.retarget_team(
                platform=platform, workspace=workspace, old_team=old_team, new_team=new_team
            )
            after_commit(self.store.engine, lambda: self._wake(platform))
        _LOG.info("chat migrated: the team and %d unsent messages moved", moved)

    def texts_for(self, key: TeamKey) -> Catalogue:
        """The catalogue in the team's language (Dutch until the team chose one)."""
        team = self.store.get_team(key=key) if key.team else None
        return Catalogue(team.locale if team is not None else "nl")

    # ---------------------------------------------------------------- plumbing

    def _commit(
        self,
        *,
        key: TeamKey,
        locks: Sequence[str],
        origin: Mapping[str, str],
        work: Callable[[], list[Outbound]],
    ) -> list[Outbound]:
        """Run ``work`` in one unit of work and queue its messages in the same one.

        Returns the messages actually queued: one whose key was queued before (an
        invitation, a result post, a notice already given) is left out. The
        platform's dispatcher is woken only after the commit; before it, the rows
        are not visible to it. A ``ConcurrentChangeError`` redoes the whole unit of
        work, reading afresh, so a lost race is never reported to the sender.
        """

        def once() -> list[Outbound]:
            with unit_of_work(self.store.engine, locks=locks):
                queued = self._queue(work(), key=key, origin=origin)
                if queued:
                    after_commit(self.store.engine, lambda: self._wake(key.platform))
            return queued

        return redo_on_conflict(once)

    def _queue(
        self, messages: list[Outbound], *, key: TeamKey, origin: Mapping[str, str]
    ) -> list[Outbound]:
        """Queue ``messages`` in order; a keyed one only if its key is new."""

        def enqueue(batch: list[Outbound]) -> int:
            return self._outbox.enqueue(
                batch, platform=key.platform, workspace=key.workspace, origin=origin
            )

        if all(message.key is None for message in messages):
            enqueue(messages)
            return messages
        # One at a time (still one transaction), to know which keyed ones were new.
        return [message for message in messages if enqueue([message])]

    def _answer(self, event: Inbound, text: str) -> list[Outbound]:
        """Queue a private answer of the engine's own (a refusal, a failure notice).

        When even that cannot be queued (the database is down), the notice goes
        straight to the platform's sender, unqueued: the person must hear that
        their message was not handled, and there is nothing else to lose.
        """
        reply = input_guard.private_reply(event, text)
        key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
        try:
            return self._commit(key=key, locks=(), origin=event.origin, work=lambda: [reply])
        except Exception as error:  # the outbox is in the database that just failed
            input_guard.log_failure(error, event)
            self._send_unqueued(event, reply)
            return [reply]

    def _send_unqueued(self, event: Inbound, reply: Outbound) -> None:
        sender = self._senders.get(event.platform)
        if sender is None:
            return
        delivery = Delivery(
            outbox_id=0, workspace=event.workspace, message=reply, origin=event.origin, attempt=1
        )
        try:
            sender.send(delivery)
        except Exception as error:  # a notice that fails too is only logged
            input_guard.log_failure(error, event)

    def _wake(self, platform: str) -> None:
        dispatcher = self._dispatchers.get(platform)
        if dispatcher is not None:
            dispatcher.wake()

    def _context(self, event: Inbound, key: TeamKey) -> EventContext:
        command = parse_command(event.text) if is_command(event.text) else None
        return EventContext(
            event=event, key=key, now=self._now(), texts=Catalogue(), command=command
        )

    def _now(self) -> datetime:
        return self._clock.now()
