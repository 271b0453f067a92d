"""Token buckets: bursts, steady pacing, booked slots, and a pause that stops one bucket only."""

from __future__ import annotations

import pytest

from bot.delivery.api import Limit
from bot.delivery.buckets import TokenBuckets
from bot.delivery.courier import Backoff


class Steps:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


CHAT = Limit(key="chat:C-1", per_second=1.0, burst=3)
OTHER_CHAT = Limit(key="chat:C-2", per_second=1.0, burst=1)
WORKSPACE = Limit(key="workspace:T-1", per_second=10.0, burst=10)


def _waits(buckets: TokenBuckets, limits: list[Limit], times: int) -> list[float]:
    return [buckets.reserve(limits).wait for _ in range(times)]


def test_a_full_bucket_gives_its_burst_then_paces() -> None:
    buckets = TokenBuckets(monotonic=Steps())

    waits = _waits(buckets, [CHAT], 5)

    assert waits == [0.0, 0.0, 0.0, pytest.approx(1.0), pytest.approx(2.0)]


def test_booked_slots_are_consecutive_and_honoured() -> None:
    clock = Steps()
    buckets = TokenBuckets(monotonic=clock)
    _waits(buckets, [CHAT], 3)

    assert buckets.reserve([CHAT]).wait == pytest.approx(1.0)  # booked at +1
    clock.now += 1.0
    # The slot at +1 is taken by the booking: the next one is at +2 from the start.
    assert buckets.wait([CHAT]) == pytest.approx(1.0)
    assert buckets.reserve([CHAT]).wait == pytest.approx(1.0)


def test_a_quiet_bucket_refills_up_to_its_burst_only() -> None:
    clock = Steps()
    buckets = TokenBuckets(monotonic=clock)
    _waits(buckets, [CHAT], 3)

    clock.now += 60.0

    assert _waits(buckets, [CHAT], 4) == [0.0, 0.0, 0.0, pytest.approx(1.0)]


def test_wait_books_nothing() -> None:
    buckets = TokenBuckets(monotonic=Steps())
    assert buckets.wait([OTHER_CHAT]) == 0.0
    assert buckets.wait([OTHER_CHAT]) == 0.0
    assert buckets.reserve([OTHER_CHAT]).wait == 0.0
    assert buckets.wait([OTHER_CHAT]) == pytest.approx(1.0)


def test_a_send_that_waits_books_only_the_buckets_holding_it_up() -> None:
    clock = Steps()
    buckets = TokenBuckets(monotonic=clock)
    buckets.reserve([OTHER_CHAT])

    held = buckets.reserve([OTHER_CHAT, WORKSPACE])

    assert held.wait == pytest.approx(1.0)
    assert held.keys == {OTHER_CHAT.key}
    # The workspace's tokens stay for the other chats meanwhile.
    assert _waits(buckets, [WORKSPACE], 10) == [0.0] * 10
    # When the held send comes back at its slot it pays the workspace then.
    clock.now += 1.0
    back = buckets.reserve([OTHER_CHAT, WORKSPACE], paid=held.keys)
    assert back.wait == 0.0
    assert back.keys == {WORKSPACE.key}
    assert buckets.reserve([]).wait == 0.0


def test_a_send_with_every_bucket_ready_takes_a_token_from_each() -> None:
    buckets = TokenBuckets(monotonic=Steps())

    booking = buckets.reserve([OTHER_CHAT, WORKSPACE])

    assert booking.wait == 0.0
    assert booking.keys == {OTHER_CHAT.key, WORKSPACE.key}
    assert buckets.wait([OTHER_CHAT]) == pytest.approx(1.0)


def test_a_pause_stops_only_the_named_bucket_then_paces_without_burst() -> None:
    clock = Steps()
    buckets = TokenBuckets(monotonic=clock)

    buckets.pause(key=CHAT.key, seconds=30.0)

    assert buckets.reserve([OTHER_CHAT]).wait == 0.0
    assert buckets.reserve([CHAT]).wait == pytest.approx(30.0)
    assert buckets.reserve([CHAT]).wait == pytest.approx(31.0)


def test_a_pause_of_an_unnamed_bucket_holds_once_a_limit_names_it() -> None:
    clock = Steps()
    buckets = TokenBuckets(monotonic=clock)

    buckets.pause(key="method:chat.update", seconds=5.0)
    clock.now += 2.0

    assert buckets.wait([Limit(key="method:chat.update", per_second=50.0, burst=50)]) == (
        pytest.approx(3.0)
    )


def test_a_new_rate_for_a_key_keeps_what_was_booked() -> None:
    buckets = TokenBuckets(monotonic=Steps())
    buckets.reserve([OTHER_CHAT])
    slower = Limit(key=OTHER_CHAT.key, per_second=0.5)

    assert buckets.reserve([slower]).wait == pytest.approx(1.0)
    assert buckets.reserve([slower]).wait == pytest.approx(3.0)


@pytest.mark.parametrize(
    "limit", [Limit(key="k", per_second=0.0), Limit(key="k", per_second=1.0, burst=0)]
)
def test_a_limit_that_never_allows_a_send_is_refused(limit: Limit) -> None:
    with pytest.raises(ValueError, match="per_second"):
        TokenBuckets(monotonic=Steps()).reserve([limit])


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=2.0, factor=2.0, cap=30.0)

    assert [backoff.delay(attempt=n) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.delay(attempt=10_000) == 30.0
    assert backoff.delay(attempt=0) == 2.0
