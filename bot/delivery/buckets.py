"""Token buckets that say how long to wait instead of waiting.

Each :class:`~bot.delivery.api.Limit` names a bucket (a chat, a group, a
workspace, a Slack method tier); a send takes one token from every bucket its
sender lists. A bucket never blocks: :meth:`TokenBuckets.reserve` books the
earliest moment the buckets have a token for this send and returns the seconds
until then. The dispatcher then puts the row back in the outbox with
that ``not_before``, so a worker thread is never held by a busy chat and the
other chats' messages go on.

The buckets are kept as GCRA schedules (a "theoretical arrival time" per
bucket): a reservation moves the bucket's schedule on by one interval, so rows
waiting for the same bucket get consecutive slots instead of all waking at the
same moment and competing for one token again. A send that must wait books
only the buckets that hold it up, so a paused chat never uses up the shared
(workspace, method) tokens the other chats need meanwhile.

Why not a library: ``limits`` and ``pyrate-limiter`` read the wall clock (or
``time.monotonic``) themselves, and their "acquire" either blocks or only
answers yes/no; we need an injected monotonic clock (tests step time by hand,
never sleep) and the number of seconds until a token, with a reservation, for a
``not_before`` in the outbox. GCRA is twenty lines; owning them is cheaper than
adapting either library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.delivery.api import Limit

Monotonic = Callable[[], float]


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


@dataclass(slots=True)
class _Schedule:
    """One bucket's GCRA state; ``tat`` is the theoretical arrival time of the next send."""

    interval: float
    tolerance: float
    tat: float
    paused_until: float = float("-inf")

    def earliest(self, now: float) -> float:
        """The first moment a send would conform, without booking it."""
        return max(now, self.tat - self.tolerance, self.paused_until)

    def book(self, moment: float) -> None:
        """Book a send at ``moment`` (at or after :meth:`earliest`).

        Right after a pause the bucket counts as empty (no burst), so the
        platform that just said "too many" sees the steady rate first.
        """
        self.tat = max(self.tat, moment, self.paused_until + self.tolerance) + self.interval

    def pause_until(self, moment: float) -> None:
        """No send before ``moment``."""
        self.paused_until = max(self.paused_until, moment)


class TokenBuckets:
    """Every bucket of one dispatcher, keyed by :attr:`Limit.key`; thread-safe.

    A bucket is created the first time a limit names it, full (a quiet chat may
    send its burst at once). A later limit with the same key but another rate
    re-tunes the bucket without forgetting what it booked.
    """

    def __init__(self, *, monotonic: Monotonic) -> None:
        """Use ``monotonic`` (seconds, never going back) as the buckets' clock."""
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._schedules: dict[str, _Schedule] = {}

    def reserve(self, limits: Iterable[Limit], *, paid: frozenset[str] = frozenset()) -> Booking:
        """Book a token for one send from ``limits``' buckets; say how long until it may go.

        With every bucket ready, a token is taken from each and the wait is 0.
        Otherwise only the buckets that are not ready are booked, each at its
        earliest slot, and the wait is until the latest of those: the send
        should come back then (not ask earlier) with ``paid`` naming the booked
        buckets, and a later reservation for the same buckets gets a later
        slot, so rows waiting for one bucket come back one by one. Buckets in
        ``paid`` are skipped. An empty list of limits is never held back.
        """
        with self._lock:
            now = self._monotonic()
            due = {
                limit.key: self._schedule(limit, now) for limit in limits if limit.key not in paid
            }
            earliest = {key: schedule.earliest(now) for key, schedule in due.items()}
            waiting = {key for key, moment in earliest.items() if moment > now}
            booked = waiting or set(due)
            for key in booked:
                due[key].book(earliest[key])
            wait = max((earliest[key] for key in waiting), default=now) - now
            return Booking(wait=wait, keys=frozenset(booked))

    def wait(self, limits: Iterable[Limit]) -> float:
        """The seconds until every bucket of ``limits`` has a token, booking nothing."""
        with self._lock:
            now = self._monotonic()
            return max(
                (self._schedule(limit, now).earliest(now) - now for limit in limits), default=0.0
            )

    def pause(self, *, key: str, seconds: float) -> None:
        """The platform said ``key`` is exhausted (a 429): nothing from it for ``seconds``.

        Only this bucket stops. A bucket no limit has named yet is created
        paused; the first limit that names it sets its rate.
        """
        with self._lock:
            now = self._monotonic()
            schedule = self._schedules.get(key)
            if schedule is None:
                schedule = _Schedule(interval=0.0, tolerance=0.0, tat=now)
                self._schedules[key] = schedule
            schedule.pause_until(now + max(seconds, 0.0))

    def _schedule(self, limit: Limit, now: float) -> _Schedule:
        if limit.per_second <= 0 or limit.burst < 1:
            raise ValueError(f"limit {limit.key}: per_second > 0 and burst >= 1 required")
        interval = 1.0 / limit.per_second
        tolerance = (limit.burst - 1) * interval
        schedule = self._schedules.get(limit.key)
        if schedule is None:
            schedule = _Schedule(interval=interval, tolerance=tolerance, tat=now)
            self._schedules[limit.key] = schedule
        else:
            schedule.interval = interval
            schedule.tolerance = tolerance
        return schedule
