"""The delivery worker of one platform: claims outbox rows and sends them on a thread pool.

One loop thread claims due rows (at most one per lane, the first unsent one, so
each chat's messages arrive in order even with several processes) and hands
each to a small thread pool, where the :class:`~bot.delivery.courier.Courier`
makes one attempt and records the outcome. The loop never claims more rows
than it has free workers, so a claimed row is always being worked on and a
process that stops leaves nothing claimed behind it.

Nothing waits in a worker: a send that must wait for its rate limit, or try
again after a transient failure, goes back to the outbox with a ``not_before``,
and the worker takes the next chat's row. One busy or rate-limited chat (or
Slack method) therefore never holds up the others.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot.core.metrics import Metrics
from bot.delivery.api import PlatformSender
from bot.delivery.attachments import AttachmentRenderers
from bot.delivery.buckets import Monotonic, TokenBuckets
from bot.delivery.courier import (
    Attempted,
    Backoff,
    Courier,
    MigrationHandler,
    Outcome,
    UndeliverableHandler,
)
from conversations.core.clock import Clock
from storage.delivery.outbox import OutboxItem, OutboxStore
from storage.delivery.rate_buckets import RateBucketStore

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)
"""How long a claim holds: longer than any one send (an upload), short enough that
the rows of a killed process go out soon after a restart."""
DEFAULT_POLL_SECONDS = 1.0
"""How often an idle loop looks for rows it was not woken for (other processes',
rows whose ``not_before`` passed)."""


class Dispatcher:
    """Sends one platform's outbox rows until stopped; or synchronously, until idle.

    ``start``/``stop`` run it in the background (a bot process);
    ``run_until_idle`` sends everything due in the calling thread, in id order
    (the console, tests). Use one or the other, not both at once.
    """

    def __init__(
        self,
        *,
        store: OutboxStore,
        sender: PlatformSender,
        clock: Clock,
        monotonic: Monotonic = time.monotonic,
        renderers: AttachmentRenderers | None = None,
        on_permanent: UndeliverableHandler | None = None,
        on_migrated: MigrationHandler | None = None,
        workers: int = 8,
        lease: timedelta = DEFAULT_LEASE,
        backoff: Backoff | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        owner: str | None = None,
        metrics: Metrics | None = None,
        rate_buckets: RateBucketStore | None = None,
    ) -> None:
        """Wire the dispatcher.

        Args:
            store: The outbox.
            sender: Sends on this dispatcher's platform (``sender.platform``).
            clock: The time written to the outbox (``not_before``, claims, leases).
            monotonic: The clock (seconds) of the slots this process remembers, and of
                buckets kept in memory; injected so tests step it.
            renderers: Make attachments into files before a send; without them a
                message with an attachment is retried until a renderer exists.
            on_permanent: Told once per row that will never be delivered
                (``Engine.report_undeliverable``).
            on_migrated: Told when a chat moved (``Engine.migrate_chat``) before the
                message is sent again to the new chat.
            workers: Sends at once (threads); rows of one lane never overlap.
            lease: How long a claim holds before another process may take the row.
            backoff: Delays after transient failures.
            poll_seconds: The longest an idle loop sleeps without being woken.
            owner: This worker's name in claims; unique per process by default.
            metrics: Counts every attempt's result by platform (``/metrics``).
            rate_buckets: The token buckets every replica shares (on ``clock``'s epoch
                seconds); without it they are this process's own (unit tests).
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.platform = sender.platform
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._workers = workers
        self._lease = lease
        self._poll_seconds = poll_seconds
        self.owner = owner or f"{sender.platform}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._courier = Courier(
            store=store,
            sender=sender,
            owner=self.owner,
            clock=clock,
            monotonic=monotonic,
            renderers=renderers or AttachmentRenderers(),
            backoff=backoff or Backoff(),
            on_permanent=on_permanent,
            on_migrated=on_migrated,
            metrics=metrics,
            buckets=None
            if rate_buckets is None
            else TokenBuckets.shared(store=rate_buckets, clock=clock),
        )
        if metrics is not None:
            metrics.track_platform(platform=sender.platform)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._next_due: float | None = None  # monotonic; the soonest row this process gave back
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------ background

    def start(self) -> None:
        """Start claiming and sending in background threads.

        Raises:
            RuntimeError: It is already running.
        """
        if self._thread is not None:
            raise RuntimeError("the dispatcher is already running")
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(
            max_workers=self._workers, thread_name_prefix=f"outbox-{self.platform}"
        )
        self._thread = threading.Thread(
            target=self._loop, name=f"outbox-{self.platform}-claims", daemon=True
        )
        self._thread.start()
        log.info("delivery started for %s (%d workers)", self.platform, self._workers)

    def wake(self) -> None:
        """Look for due rows now (the engine calls it after committing new ones)."""
        self._wake.set()

    def stop(self, *, timeout: float | None = None) -> bool:
        """Stop claiming, let the sends in flight finish, leave the rest in the outbox.

        A row claimed but not yet sent when the stop comes is given back at once,
        so the next process sends it without waiting for the claim to expire.

        Args:
            timeout: The longest to wait for the sends in flight (seconds); None
                waits as long as they take.

        Returns:
            True when everything in flight finished within ``timeout``.
        """
        thread, pool = self._thread, self._pool
        if thread is None or pool is None:
            return True
        self._stopping.set()
        self._wake.set()
        thread.join(timeout)
        finished = not thread.is_alive()
        if finished:  # else the loop shuts the pool down once the sends in flight are done
            pool.shutdown(wait=True)
            self._thread = None
            self._pool = None
        log.info("delivery stopped for %s (in flight finished: %s)", self.platform, finished)
        return finished

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                self._claim_and_submit()
                self._wake.wait(self._sleep_seconds())
        finally:
            with self._idle:
                self._idle.wait_for(lambda: self._in_flight == 0)
            if self._pool is not None:
                self._pool.shutdown(wait=False)

    def _claim_and_submit(self) -> None:
        with self._idle:
            free = self._workers - self._in_flight
        if free <= 0:
            return  # a finishing send wakes the loop
        try:
            items = self._store.claim(
                platform=self.platform,
                owner=self.owner,
                now=self._clock.now(),
                lease=self._lease,
                limit=free,
            )
        except Exception as error:  # the database is away: try again at the next poll
            log.warning("claiming %s outbox rows failed (%s)", self.platform, type(error).__name__)
            return
        pool = self._pool
        if pool is None:
            return
        for item in items:
            with self._idle:
                self._in_flight += 1
            pool.submit(self._work, item)

    def _work(self, item: OutboxItem) -> None:
        try:
            self._note(self._courier.deliver(item, stopping=self._stopping.is_set))
        except Exception as error:  # the outbox could not record it; the claim expires
            log.warning(
                "outbox %d: recording the attempt failed (%s)", item.id, type(error).__name__
            )
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
            self._wake.set()

    def _note(self, attempted: Attempted) -> None:
        """Remember when the soonest row given back is due, to look again then."""
        if attempted.due_in is None or attempted.outcome is Outcome.LEFT:
            return
        due = self._monotonic() + attempted.due_in
        with self._idle:
            if self._next_due is None or due < self._next_due:
                self._next_due = due

    def _sleep_seconds(self) -> float:
        with self._idle:
            due = self._next_due
            if due is None:
                return self._poll_seconds
            remaining = due - self._monotonic()
            if remaining <= 0:
                self._next_due = None
                return 0.0
            return min(remaining, self._poll_seconds)

    # ------------------------------------------------------------ synchronous

    def release_abandoned(self) -> int:
        """Free claims an earlier, killed run of a single-process adapter left; how many.

        See ``OutboxStore.release_claims``: only the console may call this, before
        its first drain.
        """
        return self._store.release_claims(platform=self.platform)

    def run_until_idle(self) -> int:
        """Send every due row now, one at a time in id order; the number sent.

        Rows that must wait (a rate limit, a retry after a transient failure)
        stay in the outbox with their ``not_before``; call again once the clock
        has moved on. Each row gets at most one attempt per call, so a failing
        send cannot keep the call busy.

        Raises:
            RuntimeError: The dispatcher is running in the background.
        """
        if self._thread is not None:
            raise RuntimeError("run_until_idle while the dispatcher runs in the background")
        sent = 0
        tried: set[int] = set()
        while True:
            items = self._store.claim(
                platform=self.platform,
                owner=self.owner,
                now=self._clock.now(),
                lease=self._lease,
                limit=1,
            )
            if not items:
                return sent
            item = items[0]
            if item.id in tried:
                self._store.release(
                    item_id=item.id, owner=self.owner, not_before=self._clock.now(), error=None
                )
                return sent
            tried.add(item.id)
            attempted = self._courier.deliver(item, stopping=lambda: False)
            if attempted.outcome is Outcome.SENT:
                sent += 1
