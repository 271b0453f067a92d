"""Token buckets that say how long to wait instead of waiting.

Each :class:`~bot.delivery.api.Limit` names a bucket (a chat, a group, a
workspace, a Slack method tier); a send takes one token from every bucket its
sender lists. A bucket never blocks: :meth:`TokenBuckets.reserve` books the
earliest moment the buckets have a token for this send and returns the seconds
until then. The dispatcher then puts the row back in the outbox with
that ``not_before``, so a worker thread is never held by a busy chat and the
other chats' messages go on.

The buckets are kept as GCRA schedules (a "theoretical arrival time" per
bucket, ``bot.delivery.gcra``): a reservation moves the bucket's schedule on by
one interval, so rows waiting for the same bucket get consecutive slots instead
of all waking at the same moment and competing for one token again. A send
that must wait books only the buckets that hold it up, so a paused chat never
uses up the shared (workspace, method) tokens the other chats need meanwhile.

Where the schedules live: the platforms limit the bot, not a process, so a bot
process keeps them in the database (:meth:`TokenBuckets.shared`,
``storage.delivery.rate_buckets``), where every replica books its sends, on
SQLite as on PostgreSQL. Their clock is then wall-clock epoch seconds (the
injected ``Clock``): ``time.monotonic`` counts from an arbitrary point per host,
so one replica's booked slot would mean nothing to another, while epoch seconds
name the same moment on every host kept in step by NTP (a skew of milliseconds
shifts a slot by as much, far below the platforms' windows). Unit tests keep
the schedules in memory with a clock they step by hand.

Why not a library: ``limits`` and ``pyrate-limiter`` read the wall clock (or
``time.monotonic``) themselves, and their "acquire" either blocks or only
answers yes/no; we need an injected clock (tests step time by hand,
never sleep) and the number of seconds until a token, with a reservation, for a
``not_before`` in the outbox. GCRA is twenty lines; owning them is cheaper than
adapting either library, and neither keeps its state where every replica books.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.delivery import gcra
from bot.delivery.api import Limit
from conversations.core.clock import Clock
from storage.delivery.rate_buckets import FRESH, BucketState, Plan, RateBucketStore

Monotonic = Callable[[], float]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Booking:
    """What :meth:`TokenBuckets.reserve` booked.

    Attributes:
        wait: Seconds until the send may go (0: now).
        keys: The buckets a token was taken from. When the send must wait, only
            the buckets that made it wait are booked (at their own earliest
            slot); the others are not touched, so a chat paused by a 429 does
            not use up the workspace's tokens that other chats need meanwhile.
            They are reserved when the send comes back (pass these keys as
            ``paid`` then).
    """

    wait: float
    keys: frozenset[str]


class BucketStates(Protocol):
    """Where the buckets' states live: one process's memory, or the shared database."""

    def read(self, *, keys: Collection[str]) -> dict[str, BucketState]:
        """The states of ``keys`` (fresh for a bucket never used), changing nothing."""
        ...

    def change(self, *, keys: Collection[str], plan: Plan[T]) -> T:
        """Run ``plan`` on ``keys``' states with no other change in between; keep its states."""
        ...


class MemoryStates:
    """States in this process only (unit tests); a lock makes each change atomic."""

    def __init__(self) -> None:
        """Start with every bucket fresh."""
        self._lock = threading.Lock()
        self._states: dict[str, BucketState] = {}

    def read(self, *, keys: Collection[str]) -> dict[str, BucketState]:
        """The states of ``keys`` (fresh for a bucket never used)."""
        with self._lock:
            return {key: self._states.get(key, FRESH) for key in keys}

    def change(self, *, keys: Collection[str], plan: Plan[T]) -> T:
        """Run ``plan`` under the lock and keep the states it returns."""
        with self._lock:
            changed, result = plan({key: self._states.get(key, FRESH) for key in keys})
            self._states.update(changed)
            return result


class TokenBuckets:
    """Every bucket of one dispatcher, keyed by :attr:`Limit.key`; thread-safe.

    A bucket is created the first time a limit names it, full (a quiet chat may
    send its burst at once). A later limit with the same key but another rate
    re-tunes the bucket without forgetting what it booked.
    """

    def __init__(self, *, monotonic: Monotonic, states: BucketStates | None = None) -> None:
        """Keep the buckets in ``states`` (this process's memory by default).

        ``monotonic`` is the buckets' clock in seconds, never going back: any
        clock for states in memory; for shared states use :meth:`shared`.
        """
        self._now = monotonic
        self._states: BucketStates = states if states is not None else MemoryStates()

    @classmethod
    def shared(cls, *, store: RateBucketStore, clock: Clock) -> TokenBuckets:
        """Buckets every process on ``store``'s database books together.

        Their clock is ``clock``'s epoch seconds, the moment every replica agrees
        on (see the module docstring for why not ``time.monotonic``).
        """
        return cls(monotonic=lambda: clock.now().timestamp(), states=store)

    def reserve(self, limits: Iterable[Limit], *, paid: frozenset[str] = frozenset()) -> Booking:
        """Book a token for one send from ``limits``' buckets; say how long until it may go.

        With every bucket ready, a token is taken from each and the wait is 0.
        Otherwise only the buckets that are not ready are booked, each at its
        earliest slot, and the wait is until the latest of those: the send
        should come back then (not ask earlier) with ``paid`` naming the booked
        buckets, and a later reservation for the same buckets gets a later
        slot, so rows waiting for one bucket come back one by one. Buckets in
        ``paid`` are skipped unless a pause holds them now (a pause voids what
        was booked before it). An empty list of limits is never held back.
        """
        rates = gcra.rates_of(limits)

        def plan(states: Mapping[str, BucketState]) -> tuple[dict[str, BucketState], Booking]:
            # The clock is read here, with the buckets locked: a moment read before
            # waiting for the lock would book a slot another process has taken.
            made = gcra.reserve(states, rates, now=self._now(), paid=paid)
            return made.states, Booking(wait=made.wait, keys=made.keys)

        return self._states.change(keys=rates.keys(), plan=plan)

    def wait(self, limits: Iterable[Limit]) -> float:
        """The seconds until every bucket of ``limits`` has a token, booking nothing."""
        rates = gcra.rates_of(limits)
        if not rates:
            return 0.0
        states = self._states.read(keys=rates.keys())
        return gcra.wait(states, rates, now=self._now())

    def pause(self, *, key: str, seconds: float) -> None:
        """The platform said ``key`` is exhausted (a 429): nothing from it for ``seconds``.

        Only this bucket stops, in every process sharing the states. A bucket no
        limit has named yet is created paused; the first limit that names it sets
        its rate.
        """

        def plan(states: Mapping[str, BucketState]) -> tuple[dict[str, BucketState], None]:
            until = self._now() + max(seconds, 0.0)
            return {key: gcra.paused(states[key], until=until)}, None

        self._states.change(keys=(key,), plan=plan)
