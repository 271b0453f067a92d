"""The dispatcher against a real outbox (SQLite and PostgreSQL), a fake sender and fake clocks.

Everything here runs synchronously (``run_until_idle``) with time moved by hand:
order per chat, a 429 or a rate limit that holds up only its own chat or
bucket, backoff after transient failures, permanent failures reported once,
migrated chats followed, attachments rendered at delivery, and rows of a
crashed process sent once their claim has expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.delivery.api import Delivery, Limit, Migrated, Permanent, Retry
from bot.delivery.attachments import AttachmentRenderers, AttachmentUnavailableError
from bot.delivery.courier import Backoff, Courier, Outcome
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import Outbox
from conversations.core.messages import (
    Attachment,
    AttachmentKind,
    Destination,
    DestinationKind,
    Outbound,
)
from storage.delivery.outbox import NewOutboxRow, OutboxStore
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.fakes.delivery import PLATFORM, WORKSPACE, FakeSender, chat_of, monotonic_of

ORIGIN = {"channel": "C-a", "ts": "1700000000.000100"}


def team(text: str, *, chat: str = "C-a", key: str | None = None) -> Outbound:
    return Outbound(destination=Destination.team_channel(team=chat), text=text, key=key)


def dm(text: str, *, user: str, key: str | None = None) -> Outbound:
    return Outbound(destination=Destination.dm(team="C-a", user=user), text=text, key=key)


@dataclass
class Calls:
    """What the dispatcher told its callbacks."""

    permanent: list[dict[str, Any]] = field(default_factory=list)
    migrated: list[dict[str, Any]] = field(default_factory=list)
    fail_reports: int = 0

    def on_permanent(self, **report: Any) -> None:
        if self.fail_reports:
            self.fail_reports -= 1
            raise RuntimeError("the database is away")
        self.permanent.append(report)

    def on_migrated(self, **move: Any) -> None:
        self.migrated.append(move)


@dataclass
class World:
    store: OutboxStore
    engine: Engine
    clock: FakeClock
    sender: FakeSender
    calls: Calls
    renderers: AttachmentRenderers

    def queue(self, *messages: Outbound) -> int:
        outbox = Outbox(store=self.store, clock=self.clock)
        return outbox.enqueue(messages, platform=PLATFORM, workspace=WORKSPACE, origin=ORIGIN)

    def dispatcher(self, **options: Any) -> Dispatcher:
        return Dispatcher(
            store=self.store,
            sender=self.sender,
            clock=self.clock,
            monotonic=monotonic_of(self.clock),
            renderers=self.renderers,
            on_permanent=self.calls.on_permanent,
            on_migrated=self.calls.on_migrated,
            **options,
        )

    def rows(self) -> list[tuple[str, str | None]]:
        """(status, error) of every row, in id order."""
        with self.engine.connect() as connection:
            result = connection.execute(
                text("SELECT status, error FROM outbox_messages ORDER BY id")
            )
            return [(row[0], row[1]) for row in result]


@pytest.fixture
def world(store: Store, clock: FakeClock) -> World:
    return World(
        store=OutboxStore(engine=store.engine),
        engine=store.engine,
        clock=clock,
        sender=FakeSender(),
        calls=Calls(),
        renderers=AttachmentRenderers(),
    )


def test_everything_due_is_sent_once_in_id_order(world: World) -> None:
    world.queue(team("a1"), dm("u1", user="U-1"), team("a2"), dm("u2", user="U-2"))
    dispatcher = world.dispatcher()

    assert dispatcher.run_until_idle() == 4
    assert dispatcher.run_until_idle() == 0

    assert world.sender.texts() == ["a1", "u1", "a2", "u2"]
    first = world.sender.deliveries[0]
    assert first.workspace == WORKSPACE
    assert first.origin == ORIGIN
    assert first.attempt == 1
    assert first.message.destination == Destination.team_channel(team="C-a")
    assert world.store.stats(platform=PLATFORM).pending == 0
    assert world.rows() == [("sent", None)] * 4


def test_a_key_already_queued_is_never_queued_again(world: World) -> None:
    assert world.queue(dm("invite", user="U-1", key="invite:7:U-1")) == 1
    world.dispatcher().run_until_idle()

    assert world.queue(dm("invite", user="U-1", key="invite:7:U-1"), team("a1")) == 1
    world.dispatcher().run_until_idle()

    assert world.sender.texts() == ["invite", "a1"]


def test_a_rate_limited_chat_waits_alone_and_keeps_its_order(world: World) -> None:
    world.sender.script["C-a"] = [Retry(after=30.0, reason="ratelimited", limit_key="chat:C-a")]
    world.queue(team("a1"), team("b1", chat="C-b"), team("a2"), dm("u1", user="U-1"))
    dispatcher = world.dispatcher()

    dispatcher.run_until_idle()
    assert world.sender.texts() == ["a1", "b1", "u1"]  # a1 refused; a2 waits behind it

    world.clock.advance(seconds=29)
    dispatcher.run_until_idle()
    assert world.sender.texts() == ["a1", "b1", "u1"]

    world.clock.advance(seconds=1)
    dispatcher.run_until_idle()
    assert world.sender.texts() == ["a1", "b1", "u1", "a1", "a2"]
    assert world.sender.deliveries[3].attempt == 2


def test_a_429_on_a_shared_bucket_holds_only_the_sends_that_use_it(world: World) -> None:
    def limits(delivery: Delivery) -> list[Limit]:
        method = "dm" if delivery.message.destination.kind is DestinationKind.DM else "post"
        return [
            Limit(key=f"chat:{chat_of(delivery)}", per_second=100.0, burst=10),
            Limit(key=f"method:{method}", per_second=100.0, burst=10),
        ]

    world.sender.limits_for = limits
    world.sender.script["dm:U-1"] = [
        Retry(after=10.0, reason="ratelimited", limit_key="method:dm")
    ]
    world.queue(dm("u1", user="U-1"), dm("u2", user="U-2"), team("a1"))
    dispatcher = world.dispatcher()

    dispatcher.run_until_idle()
    assert world.sender.texts() == ["u1", "a1"]  # u2 shares the paused method bucket

    world.clock.advance(seconds=9)
    dispatcher.run_until_idle()
    assert world.sender.texts() == ["u1", "a1"]

    world.clock.advance(seconds=2)  # past the pause, and past the paced slot after it
    dispatcher.run_until_idle()
    assert sorted(world.sender.texts()[2:]) == ["u1", "u2"]


def test_pacing_defers_a_busy_chat_without_holding_up_the_others(world: World) -> None:
    world.sender.limits_for = lambda delivery: [
        Limit(key=f"chat:{chat_of(delivery)}", per_second=1.0, burst=2)
    ]
    world.queue(
        *(team(f"a{n}") for n in range(1, 5)), *(team(f"b{n}", chat="C-b") for n in (1, 2))
    )
    dispatcher = world.dispatcher()

    dispatcher.run_until_idle()
    assert world.sender.texts() == ["a1", "a2", "b1", "b2"]

    world.clock.advance(seconds=1)
    dispatcher.run_until_idle()
    assert world.sender.texts()[4:] == ["a3"]

    world.clock.advance(seconds=1)
    dispatcher.run_until_idle()
    assert world.sender.texts()[5:] == ["a4"]


def test_transient_failures_back_off_exponentially_up_to_a_cap(world: World) -> None:
    failure = Retry(after=0.0, reason="internal_error")
    world.sender.script["C-a"] = [failure, failure, failure, failure]
    world.queue(team("a1"), team("a2"))
    dispatcher = world.dispatcher(backoff=Backoff(first=2.0, factor=2.0, cap=5.0))

    dispatcher.run_until_idle()
    for delay in (2.0, 4.0, 5.0, 5.0):  # 2, 4, then capped at 5
        tried = len(world.sender.deliveries)
        world.clock.advance(seconds=delay - 0.5)
        dispatcher.run_until_idle()
        assert len(world.sender.deliveries) == tried  # not yet
        world.clock.advance(seconds=0.5)
        dispatcher.run_until_idle()
        assert len(world.sender.deliveries) > tried

    assert world.sender.texts() == ["a1"] * 5 + ["a2"]
    assert [delivery.attempt for delivery in world.sender.deliveries[:5]] == [1, 2, 3, 4, 5]


def test_a_retry_after_longer_than_the_backoff_is_respected(world: World) -> None:
    world.sender.script["C-a"] = [Retry(after=60.0, reason="service_unavailable")]
    world.queue(team("a1"))
    dispatcher = world.dispatcher(backoff=Backoff(first=2.0))

    dispatcher.run_until_idle()
    world.clock.advance(seconds=59)
    assert dispatcher.run_until_idle() == 0
    world.clock.advance(seconds=1)
    assert dispatcher.run_until_idle() == 1


def test_a_sender_that_raises_is_retried_not_lost(world: World) -> None:
    world.sender.script["C-a"] = [ConnectionResetError("peer")]
    world.queue(team("a1"))
    dispatcher = world.dispatcher(backoff=Backoff(first=2.0))

    assert dispatcher.run_until_idle() == 0
    assert world.rows() == [("pending", "error:ConnectionResetError")]
    world.clock.advance(seconds=2)
    assert dispatcher.run_until_idle() == 1


def test_a_permanent_failure_is_reported_once_and_frees_its_chat(world: World) -> None:
    world.sender.script["dm:U-1"] = [Permanent(reason="user_not_found")]
    world.queue(dm("u1", user="U-1"), dm("u1-later", user="U-1"))
    dispatcher = world.dispatcher()

    dispatcher.run_until_idle()
    world.clock.advance(hours=1)
    dispatcher.run_until_idle()

    assert world.calls.permanent == [
        {
            "platform": PLATFORM,
            "workspace": WORKSPACE,
            "team": "C-a",
            "kind": DestinationKind.DM,
            "user": "U-1",
            "reason": "user_not_found",
        }
    ]
    assert world.sender.texts() == ["u1", "u1-later"]
    assert world.rows() == [("failed", "user_not_found"), ("sent", None)]


def test_a_report_that_fails_keeps_the_row_to_try_again(world: World) -> None:
    world.calls.fail_reports = 1
    world.sender.script["C-a"] = [Permanent(reason="not_in_channel")] * 2
    world.queue(team("a1"))
    dispatcher = world.dispatcher(backoff=Backoff(first=2.0))

    dispatcher.run_until_idle()
    assert world.calls.permanent == []
    assert world.rows() == [("pending", "report_failed")]

    world.clock.advance(seconds=2)
    dispatcher.run_until_idle()
    assert [report["reason"] for report in world.calls.permanent] == ["not_in_channel"]
    assert world.rows() == [("failed", "not_in_channel")]


def test_a_migrated_chat_is_followed_and_the_message_sent_there(world: World) -> None:
    world.sender.script["-100"] = [Migrated(new_team="-200")]
    world.queue(team("g1", chat="-100"), team("g2", chat="-100"))
    dispatcher = world.dispatcher()

    assert dispatcher.run_until_idle() == 2

    assert world.calls.migrated == [
        {"platform": PLATFORM, "workspace": WORKSPACE, "old_team": "-100", "new_team": "-200"}
    ]
    sent = [(chat_of(delivery), delivery.message.text) for delivery in world.sender.deliveries]
    assert sent == [("-100", "g1"), ("-200", "g1"), ("-200", "g2")]


def test_attachments_are_rendered_at_delivery(world: World, tmp_path: Path) -> None:
    renders: list[dict[str, str]] = []

    def chart(**args: str) -> Path:
        renders.append(args)
        if len(renders) == 1:
            raise OSError("the output folder is not writable")
        path = tmp_path / f"chart-{args['round_id']}.png"
        path.write_bytes(b"png")
        return path

    def gone(**_: str) -> Path:
        raise AttachmentUnavailableError("snapshot removed")

    world.renderers.register(kind=AttachmentKind.QUICKSCAN_CHART, render=chart)
    world.renderers.register(kind=AttachmentKind.QUICKSCAN_EXPORT, render=gone)
    with_chart = Attachment(kind=AttachmentKind.QUICKSCAN_CHART, args=(("round_id", "7"),))
    export = Attachment(kind=AttachmentKind.QUICKSCAN_EXPORT, args=(("round_id", "6"),))
    world.queue(
        Outbound(
            destination=Destination.team_channel(team="C-a"), text="c", attachment=with_chart
        ),
        Outbound(destination=Destination.dm(team="C-a", user="U-1"), text="x", attachment=export),
    )
    dispatcher = world.dispatcher(backoff=Backoff(first=2.0))

    assert dispatcher.run_until_idle() == 0  # the chart failed once; the export is gone
    world.clock.advance(seconds=2)
    assert dispatcher.run_until_idle() == 1

    assert renders == [{"round_id": "7"}, {"round_id": "7"}]
    assert world.sender.deliveries[0].message.image == tmp_path / "chart-7.png"
    assert world.rows() == [("sent", None), ("failed", "attachment_unavailable")]


def test_an_unreadable_row_is_recorded_failed_without_a_send(world: World) -> None:
    world.store.add(
        rows=[
            NewOutboxRow(
                platform=PLATFORM,
                workspace=WORKSPACE,
                team="C-a",
                kind="team",
                user=None,
                body="?",
            )
        ],
        now=world.clock.now(),
    )

    assert world.dispatcher().run_until_idle() == 0

    assert world.sender.deliveries == []
    assert world.rows() == [("failed", "undecodable")]


def test_rows_of_a_crashed_process_go_out_once_their_claim_expires(world: World) -> None:
    world.queue(team("a1"), dm("u1", user="U-1"))
    lease = timedelta(minutes=2)
    crashed = world.store.claim(
        platform=PLATFORM, owner="crashed", now=world.clock.now(), lease=lease, limit=10
    )
    assert len(crashed) == 2
    dispatcher = world.dispatcher(lease=lease)

    assert dispatcher.run_until_idle() == 0
    world.clock.advance(lease + timedelta(seconds=1))
    assert dispatcher.run_until_idle() == 2
    assert sorted(world.sender.texts()) == ["a1", "u1"]


def test_a_row_claimed_while_stopping_is_given_back_at_once(world: World) -> None:
    world.queue(team("a1"))
    lease = timedelta(minutes=2)
    [item] = world.store.claim(
        platform=PLATFORM, owner="stopping", now=world.clock.now(), lease=lease, limit=1
    )
    courier = Courier(
        store=world.store,
        sender=world.sender,
        owner="stopping",
        clock=world.clock,
        monotonic=monotonic_of(world.clock),
        renderers=world.renderers,
        backoff=Backoff(),
        on_permanent=None,
        on_migrated=None,
    )

    assert courier.deliver(item, stopping=lambda: True).outcome is Outcome.LEFT

    assert world.sender.deliveries == []
    again = world.store.claim(
        platform=PLATFORM, owner="next", now=world.clock.now(), lease=lease, limit=1
    )
    assert [row.id for row in again] == [item.id]
