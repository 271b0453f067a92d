"""The contract of ``storage.delivery.outbox.OutboxStore`` on SQLite and PostgreSQL.

The dispatcher relies on it for per-chat order across processes (only the oldest
unsent row of a lane is claimable), leases that expire when a worker dies, keys
that queue a message once, and contents that are gone once a row is done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.crypto import SEALED_PREFIX, FieldCipher, generate_key
from storage.delivery.outbox import (
    NewOutboxRow,
    OutboxItem,
    OutboxStats,
    OutboxStore,
    lane_of,
)
from storage.models.delivery import OutboxMessageRow
from storage.quickscan.store import Store
from storage.transactions import unit_of_work
from tests.conftest import FakeClock

LEASE = timedelta(seconds=60)
WAIT_SECONDS = 30


def _row(
    team: str = "C1",
    *,
    kind: str = "team",
    user: str | None = None,
    body: str = '{"text": "hallo"}',
    key: str | None = None,
    workspace: str = "T1",
    platform: str = "slack",
) -> NewOutboxRow:
    return NewOutboxRow(
        platform=platform,
        workspace=workspace,
        team=team,
        kind=kind,
        user=user,
        body=body,
        origin='{"response_url": "https://example.invalid/r"}',
        dedupe_key=key,
    )


@pytest.fixture
def outbox(store: Store) -> OutboxStore:
    return OutboxStore(engine=store.engine)


def _claim(
    outbox: OutboxStore, clock: FakeClock, *, owner: str = "w1", limit: int = 10
) -> list[OutboxItem]:
    return outbox.claim(platform="slack", owner=owner, now=clock(), lease=LEASE, limit=limit)


def _bodies(items: list[OutboxItem]) -> list[str]:
    return [item.body for item in items]


def _stored(store: Store) -> list[OutboxMessageRow]:
    with store.engine.connect() as connection:
        return [
            OutboxMessageRow(**row._mapping)
            for row in connection.execute(
                select(*OutboxMessageRow.__table__.columns).order_by(OutboxMessageRow.id)
            )
        ]


def test_rows_come_back_as_queued(outbox: OutboxStore, clock: FakeClock) -> None:
    queued = outbox.add(
        rows=[_row(body="a"), _row("C2", body="b"), _row(kind="dm", user="U1", body="c")],
        now=clock(),
    )
    assert queued == 3
    items = _claim(outbox, clock)
    assert _bodies(items) == ["a", "b", "c"]
    first = items[0]
    assert (first.platform, first.workspace, first.team, first.kind, first.user) == (
        "slack",
        "T1",
        "C1",
        "team",
        None,
    )
    assert first.origin == '{"response_url": "https://example.invalid/r"}'
    assert first.attempts == 1
    assert first.created_at == clock()
    assert (items[2].kind, items[2].user) == ("dm", "U1")
    # Claimed rows are nobody else's while the lease runs.
    assert _claim(outbox, clock, owner="w2") == []


def test_only_the_oldest_unsent_row_of_a_lane_is_claimable(
    outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(
        rows=[
            _row(body="team-1"),
            _row(body="team-2"),
            _row(kind="dm", user="U1", body="dm-1"),
            _row(kind="dm", user="U1", body="dm-2"),
            _row(kind="ephemeral", user="U1", body="eph-1"),
        ],
        now=clock(),
    )
    first = _claim(outbox, clock)
    assert _bodies(first) == ["team-1", "dm-1", "eph-1"]
    assert _claim(outbox, clock, owner="w2") == []

    by_body = {item.body: item for item in first}
    assert outbox.mark_sent(item_id=by_body["team-1"].id, owner="w1", now=clock())
    assert _bodies(_claim(outbox, clock, owner="w2")) == ["team-2"]
    # The DM lane is still held by its first row's claim.
    assert _claim(outbox, clock, owner="w3") == []


def test_a_lane_waiting_for_a_retry_holds_up_only_itself(
    outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(rows=[_row(body="a-1"), _row(body="a-2"), _row("C2", body="b-1")], now=clock())
    a1, b1 = _claim(outbox, clock)
    assert outbox.release(
        item_id=a1.id, owner="w1", not_before=clock() + timedelta(seconds=30), error="http_429"
    )
    assert outbox.mark_sent(item_id=b1.id, owner="w1", now=clock())
    assert _claim(outbox, clock) == []  # a-1 not due, a-2 behind it

    clock.advance(seconds=30)
    (again,) = _claim(outbox, clock)
    assert again.body == "a-1"
    assert again.attempts == 2


def test_a_row_given_back_untried_does_not_count_an_attempt(
    outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(rows=[_row()], now=clock())
    (item,) = _claim(outbox, clock)
    assert outbox.release(item_id=item.id, owner="w1", not_before=clock(), error=None)
    (again,) = _claim(outbox, clock)
    assert again.attempts == 1
    assert not outbox.release(item_id=again.id, owner="w2", not_before=clock(), error=None)


def test_an_expired_lease_lets_another_worker_take_the_row(
    outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(rows=[_row(body="a-1"), _row(body="a-2")], now=clock())
    (held,) = _claim(outbox, clock, owner="dead")
    clock.advance(LEASE - timedelta(seconds=1))
    assert _claim(outbox, clock, owner="w2") == []

    clock.advance(seconds=1)
    (taken,) = _claim(outbox, clock, owner="w2")
    assert taken.id == held.id
    assert taken.attempts == 2
    # The first worker's late outcome no longer counts; the new owner's does.
    assert not outbox.mark_sent(item_id=held.id, owner="dead", now=clock())
    assert not outbox.fail(item_id=held.id, owner="dead", now=clock(), error="x")
    assert outbox.mark_sent(item_id=taken.id, owner="w2", now=clock())
    assert _bodies(_claim(outbox, clock, owner="w2")) == ["a-2"]


def test_a_key_is_queued_once_per_workspace(outbox: OutboxStore, clock: FakeClock) -> None:
    invite = "invite:7:U1"
    twice = [_row(key=invite, body="1"), _row(key=invite, body="2")]
    assert outbox.add(rows=twice, now=clock()) == 1
    assert outbox.add(rows=[_row(key=invite, body="3")], now=clock()) == 0
    assert outbox.add(rows=[_row(key=invite, body="4", workspace="T2")], now=clock()) == 1
    assert outbox.add(rows=[_row(key=invite, body="5", platform="telegram")], now=clock()) == 1
    assert outbox.add(rows=[_row(body="6"), _row(body="7")], now=clock()) == 2  # no key
    (first,) = _claim(outbox, clock, limit=1)
    assert first.body == "1"
    assert outbox.mark_sent(item_id=first.id, owner="w1", now=clock())
    # Sent rows still hold their key: a redelivered event queues nothing.
    assert outbox.add(rows=[_row(key=invite, body="8")], now=clock()) == 0
    assert outbox.stats(platform="slack") == OutboxStats(pending=3, oldest_created_at=clock())


def test_done_rows_lose_their_content(store: Store, outbox: OutboxStore, clock: FakeClock) -> None:
    outbox.add(rows=[_row(body="sent"), _row("C2", body="failed"), _row("C3")], now=clock())
    sent, failed, _ = _claim(outbox, clock)
    clock.advance(seconds=5)
    assert outbox.mark_sent(item_id=sent.id, owner="w1", now=clock())
    assert outbox.fail(item_id=failed.id, owner="w1", now=clock(), error="not_in_channel")
    assert not outbox.mark_sent(item_id=sent.id, owner="w1", now=clock())  # done is done

    rows = {row.id: row for row in _stored(store)}
    assert rows[sent.id].status == "sent"
    assert rows[failed.id].status == "failed"
    assert rows[failed.id].error == "not_in_channel"
    for done in (rows[sent.id], rows[failed.id]):
        assert done.body is None
        assert done.origin == "{}"
        assert done.lane == ""
        assert done.finished_at == clock()
        assert done.claimed_by is None
    assert outbox.stats() == OutboxStats(
        pending=1, oldest_created_at=clock() - timedelta(seconds=5)
    )


def test_a_done_message_no_longer_names_its_member(
    store: Store, outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(
        rows=[
            _row(kind="dm", user="U-zwaan", key="invite:3:U-zwaan"),
            _row("C2", kind="ephemeral", user="U-zwaan"),
        ],
        now=clock(),
    )
    (stored_dm, _) = _stored(store)
    assert stored_dm.dedupe_key is not None
    assert "U-zwaan" not in stored_dm.dedupe_key  # keys are kept as hashes
    for item in _claim(outbox, clock):
        assert item.user == "U-zwaan"
        assert outbox.mark_sent(item_id=item.id, owner="w1", now=clock())
    for row in _stored(store):
        assert (row.user, row.lane, row.body) == (None, "", None)
    # The hashed key still keeps the invitation from being queued twice.
    assert (
        outbox.add(rows=[_row(kind="dm", user="U-zwaan", key="invite:3:U-zwaan")], now=clock())
        == 0
    )


def test_sent_messages_leave_no_copy_in_the_sqlite_files(tmp_path: Path, clock: FakeClock) -> None:
    database = tmp_path / "outbox.sqlite3"
    with Store.open(url=f"sqlite:///{database}") as store:
        outbox = OutboxStore(engine=store.engine)
        outbox.add(rows=[_row(kind="dm", user="U-Qzwaan", body="Qz-tekst")], now=clock())
        (item,) = _claim(outbox, clock)
        assert _in_files(database, "U-Qzwaan")  # present before: the search can fail
        assert outbox.mark_sent(item_id=item.id, owner="w1", now=clock())
        assert not _in_files(database, "U-Qzwaan")
        assert not _in_files(database, "Qz-tekst")


def _in_files(database: Path, value: str) -> bool:
    needle = value.encode("utf-8")
    files = [database, database.with_name(database.name + "-wal")]
    return any(path.exists() and needle in path.read_bytes() for path in files)


def test_forgetting_a_member_deletes_the_rows_to_them(
    store: Store, outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(
        rows=[
            _row(kind="dm", user="U-zwaan", body="sent"),
            _row(kind="dm", user="U-zwaan", body="waiting"),
            _row(kind="ephemeral", user="U-zwaan", body="eph"),
            _row(kind="dm", user="U-other", body="other"),
            _row(kind="dm", user="U-zwaan", body="elsewhere", workspace="T2"),
            _row(body="team"),
        ],
        now=clock(),
    )
    first = next(item for item in _claim(outbox, clock) if item.body == "sent")
    assert outbox.mark_sent(item_id=first.id, owner="w1", now=clock())

    assert outbox.forget_user(platform="slack", workspace="T1", user="U-zwaan") == 2
    assert sorted(row.body or "" for row in _stored(store)) == ["", "elsewhere", "other", "team"]


def test_purge_deletes_only_finished_rows_before_the_moment(
    store: Store, outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(rows=[_row("C1"), _row("C2"), _row("C3")], now=clock())
    first, second, _ = _claim(outbox, clock)
    assert outbox.mark_sent(item_id=first.id, owner="w1", now=clock())
    clock.advance(days=1)
    assert outbox.fail(item_id=second.id, owner="w1", now=clock(), error="blocked")

    assert outbox.purge(before=clock()) == 1
    assert outbox.purge(before=clock()) == 0
    assert outbox.purge(before=clock() + timedelta(seconds=1)) == 1
    assert [row.status for row in _stored(store)] == ["pending"]


def test_retarget_moves_unsent_rows_with_their_lanes(
    store: Store, outbox: OutboxStore, clock: FakeClock
) -> None:
    outbox.add(
        rows=[
            _row("-100", body="old-sent"),
            _row("-100", body="old-1"),
            _row("-100", kind="ephemeral", user="U1", body="old-eph"),
            _row("-100", kind="dm", user="U1", body="old-dm"),
            _row("-999", body="elsewhere"),
        ],
        now=clock(),
    )
    sent = _claim(outbox, clock)[0]
    assert outbox.mark_sent(item_id=sent.id, owner="w1", now=clock())
    moved = outbox.retarget_team(
        platform="slack", workspace="T1", old_team="-100", new_team="-200"
    )
    assert moved == 3
    assert (
        outbox.retarget_team(platform="slack", workspace="T1", old_team="-100", new_team="-200")
        == 0
    )
    outbox.add(rows=[_row("-200", body="new-1")], now=clock())

    teams = {row.body: (row.team, row.lane) for row in _stored(store) if row.body}
    assert teams["old-1"] == (
        "-200",
        lane_of(platform="slack", workspace="T1", team="-200", kind="team", user=None),
    )
    assert teams["old-eph"] == ("-200", "slack/T1/eph/-200/U1")
    assert teams["old-dm"] == ("-200", "slack/T1/dm/U1")
    assert teams["elsewhere"][0] == "-999"
    # The moved row stays ahead of what was queued for the new chat since.
    claimed = _bodies(_claim(outbox, clock))
    assert "old-1" in claimed
    assert "new-1" not in claimed


def test_contents_are_sealed_at_rest(store: Store, clock: FakeClock) -> None:
    sealed = OutboxStore(engine=store.engine, cipher=FieldCipher(keys=[generate_key()]))
    sealed.add(rows=[_row(body='{"text": "Zq-geheim"}')], now=clock())
    (stored,) = _stored(store)
    assert stored.body is not None
    assert stored.body.startswith(SEALED_PREFIX)
    assert stored.origin.startswith(SEALED_PREFIX)
    assert "Zq-geheim" not in stored.body
    (item,) = sealed.claim(platform="slack", owner="w", now=clock(), lease=LEASE, limit=1)
    assert item.body == '{"text": "Zq-geheim"}'
    assert item.origin == '{"response_url": "https://example.invalid/r"}'


def test_rows_are_queued_with_their_unit_of_work(
    store: Store, outbox: OutboxStore, clock: FakeClock
) -> None:
    def event() -> None:
        with unit_of_work(store.engine):
            outbox.add(rows=[_row(key="k")], now=clock())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        event()
    assert outbox.stats().pending == 0
    with unit_of_work(store.engine):
        assert outbox.add(rows=[_row(key="k")], now=clock()) == 1
        assert outbox.add(rows=[_row(key="k")], now=clock()) == 0
    assert outbox.stats().pending == 1


def test_claims_are_per_platform_and_limited(outbox: OutboxStore, clock: FakeClock) -> None:
    outbox.add(rows=[_row(f"C{n}") for n in range(5)] + [_row(platform="telegram")], now=clock())
    assert outbox.claim(platform="slack", owner="w", now=clock(), lease=LEASE, limit=0) == []
    assert len(_claim(outbox, clock, limit=2)) == 2
    assert len(_claim(outbox, clock)) == 3
    (telegram,) = outbox.claim(platform="telegram", owner="w", now=clock(), lease=LEASE, limit=9)
    assert telegram.platform == "telegram"


def test_future_rows_wait_until_due(outbox: OutboxStore, clock: FakeClock) -> None:
    outbox.add(rows=[_row()], now=clock() + timedelta(minutes=1))
    assert _claim(outbox, clock) == []
    clock.advance(minutes=1)
    assert len(_claim(outbox, clock)) == 1


def test_lanes_name_the_chat() -> None:
    assert lane_of(platform="p", workspace="w", team="t", kind="team", user="u") == "p/w/team/t"
    assert lane_of(platform="p", workspace="w", team="t", kind="dm", user="u") == "p/w/dm/u"
    assert (
        lane_of(platform="p", workspace="w", team="t", kind="ephemeral", user="u") == "p/w/eph/t/u"
    )
    with pytest.raises(ValueError, match="unknown"):
        lane_of(platform="p", workspace="w", team="t", kind="channel", user=None)
    with pytest.raises(ValueError, match="needs a user"):
        lane_of(platform="p", workspace="w", team="t", kind="dm", user=None)


@pytest.fixture
def pg_outbox(fresh_postgres_database: str) -> Iterator[tuple[Store, OutboxStore]]:
    store = Store.open(url=fresh_postgres_database)
    try:
        yield store, OutboxStore(engine=store.engine)
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_workers_skip_rows_another_is_claiming(
    pg_outbox: tuple[Store, OutboxStore], clock: FakeClock
) -> None:
    """Two connections claim at once: neither waits, and no row is taken twice."""
    store, outbox = pg_outbox
    outbox.add(
        rows=[_row("C1", body="a"), _row("C2", body="b"), _row("C3", body="c")], now=clock()
    )
    claimed = threading.Event()
    finish = threading.Event()
    first: list[OutboxItem] = []

    def slow_worker() -> None:
        # The claim's row locks are held until this unit of work commits.
        with unit_of_work(store.engine):
            first.extend(_claim(outbox, clock, owner="slow", limit=2))
            claimed.set()
            finish.wait(WAIT_SECONDS)

    thread = threading.Thread(target=slow_worker)
    thread.start()
    try:
        assert claimed.wait(WAIT_SECONDS)
        second: list[OutboxItem] = []
        fast = threading.Thread(target=lambda: second.extend(_claim(outbox, clock, owner="fast")))
        fast.start()
        fast.join(WAIT_SECONDS)
        assert not fast.is_alive(), "the second claim waited for the first one's locks"
    finally:
        finish.set()
        thread.join(WAIT_SECONDS)
    assert _bodies(first) == ["a", "b"]
    assert _bodies(second) == ["c"]
    # After the first commit its claims hold through their lease.
    assert _claim(outbox, clock, owner="third") == []
