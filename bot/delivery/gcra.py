"""The GCRA arithmetic of the token buckets, apart from where their states are kept.

Both homes of the states (a process's memory in unit tests, the database shared
by every replica in a bot process; see ``bot.delivery.buckets``) hand the
current states of a send's buckets to these pure functions and keep what they
return, so the two cannot drift apart in what a limit means.

A bucket is a "theoretical arrival time" (``tat``): a send at ``moment``
conforms when ``moment >= tat - tolerance``, and booking it moves ``tat`` to
one interval after the later of the two. ``tolerance`` is ``(burst - 1)``
intervals, so a quiet bucket lets a burst go at once. A pause (a 429) is a
moment before which the bucket lets nothing go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.delivery.api import Limit
from storage.delivery.rate_buckets import FRESH, BucketState

EPSILON = 1e-6
"""Seconds by which a moment may miss its slot and still count as on time.

Epoch seconds are around 1.8e9, where a double keeps ~1e-7 s: without this, a
send whose slot equals now by arithmetic would be held back for a rounding error.
"""


@dataclass(frozen=True, slots=True)
class Rate:
    """A limit's pace in GCRA terms: seconds between sends, and how early one may go."""

    interval: float
    tolerance: float


@dataclass(frozen=True, slots=True)
class Reservation:
    """What :func:`reserve` decided: the wait, the buckets booked, their new states."""

    wait: float
    keys: frozenset[str]
    states: dict[str, BucketState]


def rates_of(limits: Iterable[Limit]) -> dict[str, Rate]:
    """Each named bucket's rate; a later limit with the same key re-tunes it.

    Raises:
        ValueError: A limit that would never allow a send.
    """
    rates: dict[str, Rate] = {}
    for limit in limits:
        if limit.per_second <= 0 or limit.burst < 1:
            raise ValueError(f"limit {limit.key}: per_second > 0 and burst >= 1 required")
        interval = 1.0 / limit.per_second
        rates[limit.key] = Rate(interval=interval, tolerance=(limit.burst - 1) * interval)
    return rates


def earliest(state: BucketState, rate: Rate, *, now: float) -> float:
    """The first moment a send would conform, without booking it."""
    return max(now, state.tat - rate.tolerance, state.paused_until)


def booked(state: BucketState, rate: Rate, *, moment: float) -> BucketState:
    """The state after booking a send at ``moment`` (at or after :func:`earliest`).

    Right after a pause the bucket counts as empty (no burst), so the platform
    that just said "too many" sees the steady rate first.
    """
    tat = max(state.tat, moment, state.paused_until + rate.tolerance) + rate.interval
    return BucketState(tat=tat, paused_until=state.paused_until)


def paused(state: BucketState, *, until: float) -> BucketState:
    """The state after the platform said no send before ``until``."""
    return BucketState(tat=state.tat, paused_until=max(state.paused_until, until))


def reserve(
    states: Mapping[str, BucketState],
    rates: Mapping[str, Rate],
    *,
    now: float,
    paid: frozenset[str],
) -> Reservation:
    """Book one send on the buckets of ``rates`` (states missing from ``states``: fresh).

    With every bucket ready, a token is taken from each and the wait is 0.
    Otherwise only the buckets that are not ready are booked, each at its
    earliest slot, and the wait is until the latest of those. A bucket in
    ``paid`` was booked for this send before and is skipped, unless a pause
    (from any process) now holds it: a pause voids the slots booked before it,
    so that bucket is booked again after the pause.
    """
    due: dict[str, float] = {}
    for key, rate in rates.items():
        state = states.get(key, FRESH)
        if key not in paid or state.paused_until > now + EPSILON:
            due[key] = earliest(state, rate, now=now)
    waiting = {key for key, moment in due.items() if moment > now + EPSILON}
    chosen = waiting or set(due)
    new_states = {
        key: booked(states.get(key, FRESH), rates[key], moment=due[key]) for key in chosen
    }
    wait = max((due[key] for key in waiting), default=now) - now
    return Reservation(wait=max(wait, 0.0), keys=frozenset(chosen), states=new_states)


def wait(states: Mapping[str, BucketState], rates: Mapping[str, Rate], *, now: float) -> float:
    """Seconds until every bucket of ``rates`` has a token, booking nothing."""
    return max(
        (earliest(states.get(key, FRESH), rate, now=now) - now for key, rate in rates.items()),
        default=0.0,
    )
