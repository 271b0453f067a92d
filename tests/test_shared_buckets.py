"""Token buckets shared by replicas through the database (SQLite and PostgreSQL).

Two ``TokenBuckets`` on two engines stand for two ``quickscan serve`` replicas on
one database. Whatever way their reservations interleave, the moments they book
together keep to one limit (the same check shows that buckets kept in each
process's memory do not); a pause one replica hears of holds the other; and
replicas reserving at the same instant never book the same slot.
"""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.delivery.api import Limit
from bot.delivery.buckets import TokenBuckets
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import Outbox
from conversations.core.messages import Destination, Outbound
from storage.db import create_engine_for, migrate
from storage.delivery.outbox import OutboxStore
from storage.delivery.rate_buckets import RateBucketStore, hashed_key
from storage.models.delivery import RateBucketRow
from tests.conftest import FakeClock
from tests.fakes.delivery import (
    HANG_GUARD_SECONDS,
    PLATFORM,
    WORKSPACE,
    FakeSender,
    chat_of,
    monotonic_of,
)

OVERALL = Limit(key="telegram:7:all", per_second=10.0, burst=5)
SLACK_S = 1e-5
"""Rounding room in the conformance check (the fake clock keeps microseconds)."""


@pytest.fixture
def engines(database_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines (two replicas' connection pools) on one migrated database."""
    first = create_engine_for(url=database_url)
    migrate(engine=first)
    second = create_engine_for(url=database_url)
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()


def _replicas(engines: tuple[Engine, Engine], clock: FakeClock) -> list[TokenBuckets]:
    return [TokenBuckets.shared(store=RateBucketStore(engine=e), clock=clock) for e in engines]


def _conforms(moments: list[float], limit: Limit) -> bool:
    """Whether sends at ``moments`` keep to ``limit``: burst + rate x span in any window."""
    ordered = sorted(moments)
    for first in range(len(ordered)):
        for last in range(first, len(ordered)):
            span = ordered[last] - ordered[first]
            if last - first + 1 > limit.burst + span * limit.per_second + SLACK_S:
                return False
    return True


def _epoch(clock: FakeClock) -> float:
    return clock.now().timestamp()


@dataclass(order=True, frozen=True)
class _Arrival:
    """A send asking for its token: first from the outbox, or back at its booked slot."""

    at: float
    seq: int
    chat: int
    paid: frozenset[str]


def _interleave(replicas: list[TokenBuckets], clock: FakeClock, sends: int) -> dict[str, list]:
    """Drive ``sends`` sends through ``replicas`` as couriers do; when each went, per bucket.

    Every reservation goes to a random replica (any process may claim a row); a
    send that must wait comes back at its slot with its booked buckets as
    ``paid``, and goes when a reservation says 0.
    """
    rng = random.Random(11)
    queue: list[_Arrival] = []
    at = _epoch(clock)
    for seq in range(sends):
        at += rng.choice((0.0, 0.0, 0.01, 0.05, 0.2))
        heapq.heappush(queue, _Arrival(at, seq, rng.randrange(4), frozenset()))
    went: dict[str, list[float]] = {}
    seq = sends
    while queue:
        arrival = heapq.heappop(queue)
        step = arrival.at - _epoch(clock)
        if step > 0:
            clock.advance(seconds=step)
        limits = [_chat(arrival.chat), OVERALL]
        booking = rng.choice(replicas).reserve(limits, paid=arrival.paid)
        if booking.wait > 0:
            seq += 1
            comeback = _Arrival(
                _epoch(clock) + booking.wait, seq, arrival.chat, arrival.paid | booking.keys
            )
            heapq.heappush(queue, comeback)
            continue
        for limit in limits:
            went.setdefault(limit.key, []).append(_epoch(clock))
    return went


def _chat(number: int) -> Limit:
    return Limit(key=f"telegram:7:chat:{number}", per_second=1.0, burst=3)


def test_two_replicas_together_keep_to_one_limit(
    engines: tuple[Engine, Engine], clock: FakeClock
) -> None:
    went = _interleave(_replicas(engines, clock), clock, sends=100)

    assert len(went[OVERALL.key]) == 100
    assert _conforms(went[OVERALL.key], OVERALL)
    for number in range(4):
        assert _conforms(went.get(_chat(number).key, []), _chat(number))


def test_buckets_in_each_process_would_break_the_limit(clock: FakeClock) -> None:
    """The check above can fail: two replicas with buckets of their own send too much."""
    own = [TokenBuckets(monotonic=lambda: _epoch(clock)) for _ in range(2)]

    went = _interleave(own, clock, sends=100)

    assert not _conforms(went[OVERALL.key], OVERALL)


def test_a_pause_one_replica_heard_of_holds_the_other(
    engines: tuple[Engine, Engine], clock: FakeClock
) -> None:
    first, second = _replicas(engines, clock)
    chat = Limit(key="telegram:7:chat:42", per_second=1.0, burst=1)
    first.reserve([chat])
    held = second.reserve([chat, OVERALL])  # booked for +1 s on the chat only
    assert held.wait == pytest.approx(1.0)

    first.pause(key=chat.key, seconds=30.0)  # a 429 for that chat, seen by the first

    assert second.wait([chat]) == pytest.approx(30.0)
    clock.advance(seconds=1)
    # The slot booked before the pause is void: the send is held until after it.
    back = second.reserve([chat, OVERALL], paid=held.keys)
    assert back.wait == pytest.approx(29.0)
    assert back.keys == {chat.key}
    assert second.reserve([OVERALL]).wait == 0.0  # other buckets go on


def test_replicas_reserving_at_once_never_book_the_same_slot(
    engines: tuple[Engine, Engine], clock: FakeClock
) -> None:
    """Threads with an engine each (two processes' pools) race for one bucket."""
    limit = Limit(key="slack:T1:chat.postMessage", per_second=50.0, burst=1)
    replicas = _replicas(engines, clock)  # the clock stands still: every slot is contested
    start = threading.Barrier(len(replicas))
    slots: list[list[float]] = [[] for _ in replicas]
    errors: list[BaseException] = []

    def reserve(index: int) -> None:
        try:
            start.wait(timeout=HANG_GUARD_SECONDS)
            for _ in range(50):
                slots[index].append(replicas[index].reserve([limit]).wait)
        except BaseException as error:  # reported by the test thread below
            errors.append(error)

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_SECONDS)

    assert not errors
    booked = sorted(slots[0] + slots[1])
    assert len(booked) == 100
    interval = 1.0 / limit.per_second
    assert booked[0] == 0.0
    for earlier, later in zip(booked, booked[1:], strict=False):
        assert later - earlier == pytest.approx(interval, abs=SLACK_S)


def test_two_dispatchers_on_one_database_send_within_one_limit(
    engines: tuple[Engine, Engine], clock: FakeClock
) -> None:
    """The wiring: dispatchers given the shared buckets pace together, whoever claims."""
    overall = Limit(key=f"slack:{WORKSPACE}:all", per_second=2.0, burst=2)
    sent_at: list[float] = []
    sender = FakeSender(limits_for=lambda _delivery: [overall])
    outbox = Outbox(store=OutboxStore(engine=engines[0]), clock=clock)
    outbox.enqueue(
        [
            Outbound(destination=Destination.team_channel(team=f"C-{n}"), text="x")
            for n in range(12)
        ],
        platform=PLATFORM,
        workspace=WORKSPACE,
        origin={},
    )
    dispatchers = [
        Dispatcher(
            store=OutboxStore(engine=engine),
            sender=sender,
            clock=clock,
            monotonic=monotonic_of(clock),
            rate_buckets=RateBucketStore(engine=engine),
        )
        for engine in engines
    ]
    for _ in range(80):
        for dispatcher in dispatchers:
            before = len(sender.deliveries)
            dispatcher.run_until_idle()
            sent_at.extend([_epoch(clock)] * (len(sender.deliveries) - before))
        clock.advance(seconds=0.25)

    assert sorted(chat_of(d) for d in sender.deliveries) == sorted(f"C-{n}" for n in range(12))
    assert _conforms(sent_at, overall)


def test_idle_buckets_are_purged_and_busy_ones_kept(
    engines: tuple[Engine, Engine], clock: FakeClock
) -> None:
    store = RateBucketStore(engine=engines[0])
    buckets = TokenBuckets.shared(store=store, clock=clock)
    quiet = Limit(key="telegram:7:chat:1", per_second=1.0)
    buckets.reserve([quiet])
    clock.advance(days=2)
    busy = Limit(key="telegram:7:chat:2", per_second=1.0)
    buckets.reserve([busy])
    buckets.pause(key="telegram:7:chat:3", seconds=3 * 86400.0)

    assert store.purge(idle_before=_epoch(clock) - 86400.0) == 1

    with engines[0].connect() as connection:
        kept = set(connection.scalars(select(RateBucketRow.key)))
        assert connection.scalar(select(func.count()).select_from(RateBucketRow)) == 2
    assert kept == {hashed_key(busy.key), hashed_key("telegram:7:chat:3")}
    assert all(quiet.key not in key and "telegram" not in key for key in kept)
