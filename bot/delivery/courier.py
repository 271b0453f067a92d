"""One attempt at one claimed outbox row: decode, render, pace, send, record.

The :class:`Courier` is the dispatcher's single-row logic, kept apart from its
threads so it can be run synchronously (``Dispatcher.run_until_idle``) and
tested without any. Every path ends with the row recorded: sent, failed, or
given back to the outbox with a ``not_before`` (paced, transient failure, or
left for the next process at shutdown). A row is never held while waiting:
waiting is the outbox's job, so the worker is free for another chat at once.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from bot.core.metrics import Metrics
from bot.delivery.api import Delivery, Migrated, Permanent, PlatformSender, Retry, SendResult, Sent
from bot.delivery.attachments import AttachmentRenderers, AttachmentUnavailableError
from bot.delivery.buckets import Monotonic, TokenBuckets
from bot.delivery.codec import UndecodableBodyError, decode_body, decode_origin
from conversations.core.clock import Clock
from conversations.core.messages import DestinationKind, Outbound
from storage.delivery.outbox import OutboxItem, OutboxStore

log = logging.getLogger(__name__)

MAX_MIGRATIONS = 3
"""Resends after "chat migrated" within one attempt; a chat moves once, so more is a loop."""
RESERVATION_SLACK = 0.01
"""A row claimed this close before its booked slot goes out instead of waiting again."""
MAX_BOOKINGS = 1024
"""Bookings kept before the stale ones (rows another process sent) are swept."""


class UndeliverableHandler(Protocol):
    """Told about a message that will never be delivered (``Engine.report_undeliverable``)."""

    def __call__(
        self,
        *,
        platform: str,
        workspace: str,
        team: str,
        kind: DestinationKind,
        user: str | None,
        reason: str,
    ) -> object:
        """Note it (and tell the coordinator once); raising makes the row try again later.

        What it returns (the engine: the notices it queued) is not used.
        """
        ...


class MigrationHandler(Protocol):
    """Told that a chat moved (``Engine.migrate_chat``): the team follows it."""

    def __call__(self, *, platform: str, workspace: str, old_team: str, new_team: str) -> None:
        """Move the team; raising makes the row try again later."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential delays between attempts after a transient failure, up to a cap.

    No jitter: the rows retrying together are still paced by the token buckets
    when they come back, so they do not hit the platform as one burst.
    """

    first: float = 2.0
    factor: float = 2.0
    cap: float = 300.0

    def delay(self, *, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = max(attempt, 1) - 1
        # Step by step, stopping at the cap, so a huge attempt count cannot overflow.
        delay = self.first
        for _ in range(exponent):
            delay *= self.factor
            if delay >= self.cap:
                return self.cap
        return min(delay, self.cap)


class Outcome(enum.Enum):
    """How an attempt ended, for the dispatcher's loop and for tests."""

    SENT = "sent"
    FAILED = "failed"  # recorded as undeliverable
    RETRY = "retry"  # given back after a transient failure
    DEFERRED = "deferred"  # given back until its rate-limit slot
    LEFT = "left"  # given back untouched because the dispatcher is stopping


@dataclass(frozen=True, slots=True)
class Attempted:
    """An attempt's outcome and, for a row given back, the seconds until it is due."""

    outcome: Outcome
    due_in: float | None = None


class Courier:
    """Takes claimed rows of one platform through one attempt each; thread-safe."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        sender: PlatformSender,
        owner: str,
        clock: Clock,
        monotonic: Monotonic,
        renderers: AttachmentRenderers,
        backoff: Backoff,
        on_permanent: UndeliverableHandler | None,
        on_migrated: MigrationHandler | None,
        metrics: Metrics | None = None,
        buckets: TokenBuckets | None = None,
    ) -> None:
        """Wire the courier; see ``Dispatcher`` for what each part is.

        ``buckets`` default to this process's memory on ``monotonic``.
        """
        self._metrics = metrics
        self._store = store
        self._sender = sender
        self._owner = owner
        self._clock = clock
        self._monotonic = monotonic
        self._renderers = renderers
        self._backoff = backoff
        self._on_permanent = on_permanent
        self._on_migrated = on_migrated
        self.buckets = buckets if buckets is not None else TokenBuckets(monotonic=monotonic)
        self._lock = threading.Lock()
        # outbox id -> its booked slot (monotonic) and the buckets booked for it
        self._booked: dict[int, tuple[float, frozenset[str]]] = {}

    def deliver(self, item: OutboxItem, *, stopping: Callable[[], bool]) -> Attempted:
        """Make one attempt at ``item`` and record its outcome in the outbox."""
        attempt = max(item.attempts, 1)
        try:
            message = decode_body(item.body, team=item.team, kind=item.kind, user=item.user)
            origin = decode_origin(item.origin)
        except UndecodableBodyError as error:
            log.error("outbox %d cannot be read (%s); dropped", item.id, error)
            return self._fail(item, reason="undecodable")
        try:
            message = self._renderers.render(message)
        except AttachmentUnavailableError:
            log.warning("outbox %d: its attachment's data is gone", item.id)
            return self._fail(item, reason="attachment_unavailable")
        except Exception as error:  # any renderer failure is retried later
            return self._retry(item, reason=f"render:{type(error).__name__}", attempt=attempt)
        try:
            return self._send_paced(item, message=message, origin=origin, stopping=stopping)
        except Exception as error:  # a sender's bug must not lose the row
            return self._retry(item, reason=f"error:{type(error).__name__}", attempt=attempt)

    def _send_paced(
        self,
        item: OutboxItem,
        *,
        message: Outbound,
        origin: dict[str, str],
        stopping: Callable[[], bool],
    ) -> Attempted:
        attempt = max(item.attempts, 1)
        for _ in range(MAX_MIGRATIONS + 1):
            delivery = Delivery(
                outbox_id=item.id,
                workspace=item.workspace,
                message=message,
                origin=origin,
                attempt=attempt,
            )
            wait = self._slot(item, delivery)
            if wait > 0:
                self._count(item, result="rate_limited")
                return self._give_back(item, delay=wait, outcome=Outcome.DEFERRED, error=None)
            if stopping():
                return self._give_back(item, delay=0.0, outcome=Outcome.LEFT, error=None)
            result: SendResult = self._sender.send(delivery)
            if not isinstance(result, Migrated):
                return self._record(item, delivery=delivery, result=result)
            destination = message.destination
            self._migrate(item, old_team=destination.team, new_team=result.new_team)
            message = replace(message, destination=replace(destination, team=result.new_team))
        return self._retry(item, reason="migration_loop", attempt=attempt)

    # ------------------------------------------------------------------ pacing

    def _slot(self, item: OutboxItem, delivery: Delivery) -> float:
        """Seconds until this send may go; books the buckets that hold it up.

        A row given back for its slot keeps its booking here, so when it is
        claimed again (by this process) it goes without taking those tokens
        again; the buckets that were ready before are reserved then.
        """
        now = self._monotonic()
        with self._lock:
            slot, paid = self._booked.pop(item.id, (now, frozenset[str]()))
        if slot - now > RESERVATION_SLACK:
            self._book(item.id, slot, paid)
            return slot - now
        booking = self.buckets.reserve(self._sender.limits(delivery), paid=paid)
        if booking.wait > 0:
            self._book(item.id, now + booking.wait, paid | booking.keys)
        return booking.wait

    def _book(self, item_id: int, slot: float, keys: frozenset[str]) -> None:
        with self._lock:
            self._booked[item_id] = (slot, keys)
            if len(self._booked) > MAX_BOOKINGS:  # rows another process took; slots long past
                horizon = self._monotonic() - 3600.0
                for stale in [key for key, (due, _) in self._booked.items() if due < horizon]:
                    del self._booked[stale]

    def _forget_bookings(self) -> None:
        """A bucket was paused: slots booked before are void; rows book anew when claimed."""
        with self._lock:
            self._booked.clear()

    # --------------------------------------------------------------- outcomes

    def _record(self, item: OutboxItem, *, delivery: Delivery, result: SendResult) -> Attempted:
        if isinstance(result, Sent):
            if self._store.mark_sent(item_id=item.id, owner=self._owner, now=self._clock.now()):
                log.info(
                    "outbox %d delivered (%s %s, attempt %d)",
                    item.id,
                    item.platform,
                    item.kind,
                    delivery.attempt,
                )
            else:
                log.warning("outbox %d delivered after its claim was lost", item.id)
            self._count(item, result="sent")
            return Attempted(Outcome.SENT)
        if isinstance(result, Retry):
            after = max(result.after, 0.0)
            if result.limit_key is not None:
                # The platform named the exhausted bucket: only it waits, exactly as told.
                self.buckets.pause(key=result.limit_key, seconds=after)
                self._forget_bookings()
                self._count(item, result="rate_limited")
                return self._give_back(
                    item, delay=after, outcome=Outcome.RETRY, error=result.reason
                )
            return self._retry(
                item, reason=result.reason, attempt=delivery.attempt, at_least=after
            )
        if isinstance(result, Permanent):
            return self._permanent(item, delivery=delivery, reason=result.reason)
        raise TypeError(f"not a send result: {type(result).__name__}")

    def _permanent(self, item: OutboxItem, *, delivery: Delivery, reason: str) -> Attempted:
        # Report first, record second: a crash in between sends the row again, it
        # fails again and the engine's de-duplication keeps the report single.
        if self._on_permanent is not None:
            try:
                self._on_permanent(
                    platform=item.platform,
                    workspace=item.workspace,
                    team=delivery.message.destination.team,
                    kind=delivery.message.destination.kind,
                    user=delivery.message.destination.user,
                    reason=reason,
                )
            except Exception as error:  # the report must not be lost
                log.warning(
                    "outbox %d: reporting it undeliverable failed (%s)",
                    item.id,
                    type(error).__name__,
                )
                return self._retry(item, reason="report_failed", attempt=delivery.attempt)
        log.warning("outbox %d undeliverable (%s)", item.id, reason)
        return self._fail(item, reason=reason, result="undeliverable")

    def _migrate(self, item: OutboxItem, *, old_team: str, new_team: str) -> None:
        """The chat moved: the team follows (engine), then every unsent row of the chat."""
        log.info("outbox %d: the chat moved; following it", item.id)
        if self._on_migrated is not None:
            self._on_migrated(
                platform=item.platform,
                workspace=item.workspace,
                old_team=old_team,
                new_team=new_team,
            )
        # The engine moves the rows too, in its unit of work; doing it again is a
        # no-op then, and makes the move happen when no engine is listening.
        self._store.retarget_team(
            platform=item.platform, workspace=item.workspace, old_team=old_team, new_team=new_team
        )

    def _retry(
        self, item: OutboxItem, *, reason: str, attempt: int, at_least: float = 0.0
    ) -> Attempted:
        delay = max(self._backoff.delay(attempt=attempt), at_least)
        self._count(item, result="retry")
        log.warning(
            "outbox %d: transient failure (%s); next attempt in %.0f s", item.id, reason, delay
        )
        return self._give_back(item, delay=delay, outcome=Outcome.RETRY, error=reason)

    def _give_back(
        self, item: OutboxItem, *, delay: float, outcome: Outcome, error: str | None
    ) -> Attempted:
        not_before = self._clock.now() + timedelta(seconds=delay)
        if not self._store.release(
            item_id=item.id, owner=self._owner, not_before=not_before, error=error
        ):
            log.warning("outbox %d: claim lost before it was given back", item.id)
        return Attempted(outcome, due_in=delay)

    def _fail(self, item: OutboxItem, *, reason: str, result: str = "failed") -> Attempted:
        """Record the row as never to be sent: ``result`` "failed" (ours) or "undeliverable"."""
        if not self._store.fail(
            item_id=item.id, owner=self._owner, now=self._clock.now(), error=reason
        ):
            log.warning("outbox %d: claim lost before it was recorded as failed", item.id)
        self._count(item, result=result)
        return Attempted(Outcome.FAILED)

    def _count(self, item: OutboxItem, *, result: str) -> None:
        """One attempt's result for /metrics (a row given back at shutdown is no attempt)."""
        if self._metrics is not None:
            self._metrics.delivery(platform=item.platform, result=result)
