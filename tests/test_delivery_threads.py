"""The dispatcher's threads: a hung chat holds up nobody else; stop leaves the rest for later.

Real threads against a real outbox (SQLite and PostgreSQL); the fake sender's
gates stand for a platform call that does not return. The tests wait for
events (with a hang guard), never for an amount of time.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import Outbox
from conversations.core.messages import Destination, Outbound
from storage.delivery.outbox import OutboxStore
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.fakes.delivery import (
    HANG_GUARD_SECONDS,
    PLATFORM,
    WORKSPACE,
    FakeSender,
    monotonic_of,
)


def _team(text: str, chat: str) -> Outbound:
    return Outbound(destination=Destination.team_channel(team=chat), text=text)


def _dm(user: str) -> Outbound:
    return Outbound(destination=Destination.dm(team="C-a", user=user), text=f"invite {user}")


@pytest.fixture
def outbox(store: Store) -> OutboxStore:
    return OutboxStore(engine=store.engine)


def _dispatcher(
    outbox: OutboxStore, clock: FakeClock, sender: FakeSender, *, workers: int
) -> Dispatcher:
    return Dispatcher(
        store=outbox,
        sender=sender,
        clock=clock,
        monotonic=monotonic_of(clock),
        workers=workers,
        poll_seconds=0.05,
    )


def _queue(outbox: OutboxStore, clock: FakeClock, *messages: Outbound) -> None:
    Outbox(store=outbox, clock=clock).enqueue(
        messages, platform=PLATFORM, workspace=WORKSPACE, origin={}
    )


def test_a_hung_chat_does_not_hold_up_the_other_chats(
    outbox: OutboxStore, clock: FakeClock
) -> None:
    hung = threading.Event()
    sender = FakeSender(gates={"C-a": hung})
    _queue(
        outbox,
        clock,
        _team("a1", "C-a"),
        _team("a2", "C-a"),
        _team("b1", "C-b"),
        _dm("U-1"),
        _team("b2", "C-b"),
    )
    dispatcher = _dispatcher(outbox, clock, sender, workers=4)
    dispatcher.start()
    try:
        dispatcher.wake()
        sender.wait_for(lambda s: len(s.deliveries) == 3)
        assert sorted(sender.texts()) == ["b1", "b2", "invite U-1"]
        assert sender.entered.count("C-a") == 1  # a1 hangs; a2 waits behind it, unclaimed

        hung.set()
        sender.wait_for(lambda s: len(s.deliveries) == 5)
    finally:
        hung.set()
        assert dispatcher.stop(timeout=HANG_GUARD_SECONDS)

    texts = sender.texts()
    assert texts.index("a1") < texts.index("a2")
    assert outbox.stats(platform=PLATFORM).pending == 0


def test_stop_finishes_the_send_in_flight_and_a_restart_sends_the_rest_once(
    outbox: OutboxStore, clock: FakeClock
) -> None:
    members = [f"U-{n}" for n in range(1, 7)]
    in_flight = threading.Event()
    sender = FakeSender(gates={"dm:U-1": in_flight})
    _queue(outbox, clock, *(_dm(user) for user in members))
    first = _dispatcher(outbox, clock, sender, workers=1)
    first.start()
    sender.wait_for(lambda s: s.entered == ["dm:U-1"])

    assert not first.stop(timeout=0)  # stopping: the send in flight has not finished
    in_flight.set()
    assert first.stop(timeout=HANG_GUARD_SECONDS)

    assert sender.texts() == ["invite U-1"]
    assert outbox.stats(platform=PLATFORM).pending == len(members) - 1

    second = _dispatcher(outbox, clock, sender, workers=3)
    second.start()
    try:
        second.wake()
        sender.wait_for(lambda s: len(s.deliveries) == len(members))
    finally:
        assert second.stop(timeout=HANG_GUARD_SECONDS)

    invited = Counter(delivery.message.destination.user for delivery in sender.deliveries)
    assert invited == Counter(members)
    assert outbox.stats(platform=PLATFORM).pending == 0


def test_run_until_idle_is_refused_while_running(outbox: OutboxStore, clock: FakeClock) -> None:
    dispatcher = _dispatcher(outbox, clock, FakeSender(), workers=1)
    dispatcher.start()
    try:
        with pytest.raises(RuntimeError, match="background"):
            dispatcher.run_until_idle()
        with pytest.raises(RuntimeError, match="already running"):
            dispatcher.start()
    finally:
        assert dispatcher.stop(timeout=HANG_GUARD_SECONDS)
