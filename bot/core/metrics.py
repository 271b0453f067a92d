"""The bot's Prometheus metrics: events, answer latency, deliveries, outbox depth.

Issue 11: every replica of ``quickscan serve`` is scraped on its own, so the
counters and the latency histogram are this process's share (Prometheus sums
them over replicas). The outbox gauges are not: they are read from the shared
database at scrape time, so every replica reports the same depth, and a query
should take ``max`` over replicas, not ``sum``.

A :class:`Metrics` owns its own ``CollectorRegistry`` instead of the global one,
so two engines in one process (tests, the console next to a server) never
collide over a metric name, and ``/metrics`` shows only the bot's own series.

Labels are bounded by construction: a platform outside :data:`PLATFORMS`, a kind,
outcome or result outside its tuple is folded into "other". No label ever
carries a team, a user, a command's text or anything a member typed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from conversations.core.clock import Clock
from storage.delivery.outbox import OutboxStore

_LOG = logging.getLogger(__name__)
Monotonic = Callable[[], float]

PLATFORMS = ("console", "slack", "telegram")
"""The platforms a label may name; anything else is "other"."""
EVENT_KINDS = ("command", "answer", "button", "message")
"""A slash command, a DM answer, a pressed button, other team-channel text."""
EVENT_OUTCOMES = ("handled", "refused", "duplicate", "conflict", "error")
"""The route ran and committed; middleware refused it; a redelivery; it lost a race
with another replica and is done again (counted again); it raised."""
DELIVERY_RESULTS = ("sent", "retry", "rate_limited", "failed", "undeliverable")
"""Delivered; transient failure; waiting for a rate limit; unreadable; never deliverable."""
OTHER = "other"

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds; dense below one second, where a chat answer is expected to be."""

_ENTERED: ContextVar[float | None] = ContextVar("quickscan_event_entered", default=None)


def _bounded(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else OTHER


class Metrics:
    """One process's metrics, in a registry of their own.

    Mount ``metrics.registry`` with ``prometheus_client.make_asgi_app(registry=...)``.
    """

    def __init__(self, *, monotonic: Monotonic = time.perf_counter) -> None:
        """Create the metrics.

        Args:
            monotonic: Seconds for the answer latency; injected so tests drive it.
        """
        self.registry = CollectorRegistry(auto_describe=True)
        self.monotonic = monotonic
        self._events = Counter(
            "quickscan_events",
            "Routed events by platform, kind and outcome.",
            labelnames=("platform", "kind", "outcome"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "quickscan_answer_latency_seconds",
            "Seconds from a handled event's entry into the engine to its commit.",
            labelnames=("platform", "kind"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._deliveries = Counter(
            "quickscan_deliveries",
            "Outbox delivery attempts by platform and result.",
            labelnames=("platform", "result"),
            registry=self.registry,
        )
        self._outbox: OutboxCollector | None = None

    # ------------------------------------------------------------------ events

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Mark the moment an event enters the engine, for :meth:`since_entry`.

        A context variable, not a field: the engine's lock wait and roster
        prefetch happen before the router builds the event's context, and both
        belong to the latency a member sees.
        """
        token = _ENTERED.set(self.monotonic())
        try:
            yield
        finally:
            _ENTERED.reset(token)

    def since_entry(self, *, fallback: float) -> float:
        """Seconds since the current event entered (since ``fallback`` outside one)."""
        entered = _ENTERED.get()
        return self.monotonic() - (fallback if entered is None else entered)

    def event(self, *, platform: str, kind: str, outcome: str) -> None:
        """Count one routed event."""
        self._events.labels(
            platform=_bounded(platform, PLATFORMS),
            kind=_bounded(kind, EVENT_KINDS),
            outcome=_bounded(outcome, EVENT_OUTCOMES),
        ).inc()

    def answer_latency(self, *, platform: str, kind: str, seconds: float) -> None:
        """Record how long a handled event took from entry to commit."""
        self._latency.labels(
            platform=_bounded(platform, PLATFORMS), kind=_bounded(kind, EVENT_KINDS)
        ).observe(max(seconds, 0.0))

    # -------------------------------------------------------------- deliveries

    def track_platform(self, *, platform: str) -> None:
        """Show every delivery result of ``platform`` at 0 before the first attempt.

        A series that appears only with its first increment makes ``rate()``
        miss that increment; a dispatcher calls this when it is built.
        """
        for result in DELIVERY_RESULTS:
            self._deliveries.labels(platform=_bounded(platform, PLATFORMS), result=result)
        if self._outbox is not None:
            self._outbox.add(platform=platform)

    def delivery(self, *, platform: str, result: str) -> None:
        """Count one delivery attempt's result."""
        self._deliveries.labels(
            platform=_bounded(platform, PLATFORMS), result=_bounded(result, DELIVERY_RESULTS)
        ).inc()

    # ------------------------------------------------------------------ outbox

    def watch_outbox(
        self, *, outbox: OutboxStore, clock: Clock, platforms: Iterable[str] = ()
    ) -> None:
        """Report the outbox's depth and oldest pending age, read at each scrape.

        Args:
            outbox: The shared outbox.
            clock: The wall clock the rows' ``created_at`` was written with.
            platforms: Reported even when nothing is pending (more come from
                :meth:`track_platform`).

        Raises:
            RuntimeError: The outbox is already watched.
        """
        if self._outbox is not None:
            raise RuntimeError("the outbox is already watched")
        self._outbox = OutboxCollector(outbox=outbox, clock=clock, platforms=platforms)
        self.registry.register(self._outbox)


class OutboxCollector(Collector):
    """Outbox depth and oldest pending age per platform, one query per platform per scrape.

    Read at scrape time rather than kept up to date: rows are added and sent by
    every replica, and only the database knows the total.
    """

    def __init__(self, *, outbox: OutboxStore, clock: Clock, platforms: Iterable[str]) -> None:
        self._outbox = outbox
        self._clock = clock
        self._platforms = {_bounded(platform, PLATFORMS) for platform in platforms}

    def add(self, *, platform: str) -> None:
        """Report ``platform`` from the next scrape on."""
        self._platforms = self._platforms | {_bounded(platform, PLATFORMS)}

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """The families without values, so registering never queries the database."""
        return list(self._families())

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Read every tracked platform's pending rows now.

        With the database away the gauges are left out (absent, not a false 0) and
        the rest of ``/metrics`` is still served: that is when it is wanted most.
        """
        depth, oldest = self._families()
        now = self._clock.now()
        for platform in sorted(self._platforms - {OTHER}):
            try:
                stats = self._outbox.stats(platform=platform)
            except Exception as error:  # a scrape must not fail with the database
                _LOG.warning("metrics: outbox depth unreadable (%s)", type(error).__name__)
                return [depth, oldest]
            depth.add_metric([platform], stats.pending)
            created = stats.oldest_created_at
            oldest.add_metric([platform], 0.0 if created is None else _age(now, created))
        return [depth, oldest]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "quickscan_outbox_pending", "Outbox rows not yet sent.", labels=["platform"]
        )
        oldest = GaugeMetricFamily(
            "quickscan_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row not yet sent (0 when none is).",
            labels=["platform"],
        )
        return depth, oldest


def _age(now: datetime, created: datetime) -> float:
    """Seconds since ``created``; never negative when another replica's clock runs ahead."""
    return max((now - created).total_seconds(), 0.0)
