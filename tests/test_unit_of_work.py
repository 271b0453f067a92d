"""``storage.transactions``: one transaction per event, on SQLite and PostgreSQL.

Pins what the engine builds on: every store call inside a unit of work commits
or rolls back with it, a store call that fails undoes only its own writes,
SAVEPOINTs really nest on SQLite, callbacks run only after a commit, and the
unit of work serialises writers across connections (SQLite's write lock,
PostgreSQL's advisory locks by name).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import nullcontext

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.models.quickscan import TeamRow
from storage.quickscan.records import RoundAlreadyOpenError
from storage.quickscan.store import Store
from storage.transactions import (
    Sessions,
    after_commit,
    in_unit_of_work,
    lock_key,
    unit_of_work,
)
from tests.conftest import FakeClock

TEAM = TeamKey(platform="slack", workspace="T-school-a", team="C-groep-3")
OTHER = TeamKey(platform="slack", workspace="T-school-a", team="C-groep-4")
INSTRUMENT = "samenwerken-met-ouders"
WAIT_SECONDS = 30


class Boom(Exception):
    """Raised by a test to abort a unit of work."""


def _team_row(ref: str, clock: FakeClock, *, workspace: str = "T-x") -> TeamRow:
    return TeamRow(platform="slack", workspace=workspace, team_ref=ref, created_at=clock())


def _teams(store: Store) -> set[str]:
    """The team refs as another connection sees them (committed data only)."""
    with store.engine.connect() as connection:
        return set(connection.scalars(select(TeamRow.team_ref)))


def test_everything_inside_commits_together(store: Store, clock: FakeClock) -> None:
    with unit_of_work(store.engine):
        assert in_unit_of_work(store.engine)
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        store.open_round(
            key=TEAM, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
        )
        # Not committed yet: another connection does not see the team.
        assert _teams(store) == set()
        # The store's own reads inside the unit of work do.
        assert store.get_team(key=TEAM) is not None
    assert not in_unit_of_work(store.engine)
    assert _teams(store) == {TEAM.team}
    assert store.current_round(key=TEAM) is not None


def test_an_exception_rolls_everything_back(store: Store, clock: FakeClock) -> None:
    def event() -> None:
        with unit_of_work(store.engine):
            store.ensure_team(key=TEAM, founder="U-ida", now=clock())
            store.ensure_team(key=OTHER, founder="U-ida", now=clock())
            raise Boom

    with pytest.raises(Boom):
        event()
    assert _teams(store) == set()
    assert store.get_team(key=TEAM) is None


def test_a_failing_store_call_undoes_only_its_own_writes(store: Store, clock: FakeClock) -> None:
    with unit_of_work(store.engine):
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        store.open_round(
            key=TEAM, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
        )
        # The partial unique index refuses a second open round; on PostgreSQL that
        # error would abort the whole transaction without the SAVEPOINT.
        with pytest.raises(RoundAlreadyOpenError):
            store.open_round(
                key=TEAM, instrument_id=INSTRUMENT, opened_by="U-bas", deadline=None, now=clock()
            )
        store.ensure_team(key=OTHER, founder="U-bas", now=clock())
    assert _teams(store) == {TEAM.team, OTHER.team}
    current = store.current_round(key=TEAM)
    assert current is not None
    assert current.opened_by == "U-ida"


def test_integrity_error_inside_a_session_keeps_its_transaction(
    store: Store, clock: FakeClock
) -> None:
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    sessions = Sessions(store.engine)

    def duplicate(session: Session) -> None:
        with session.begin_nested():
            session.add(_team_row(TEAM.team, clock, workspace=TEAM.workspace))
            session.flush()

    for joined in (False, True):
        with unit_of_work(store.engine) if joined else nullcontext(), sessions.begin() as session:
            session.add(_team_row(f"new-{joined}", clock))
            session.flush()
            with pytest.raises(IntegrityError):
                duplicate(session)
            # The transaction is usable after the failed SAVEPOINT.
            assert session.scalar(select(func.count()).select_from(TeamRow)) == (
                3 if joined else 2
            )
    assert _teams(store) == {TEAM.team, "new-False", "new-True"}


def test_savepoints_nest_on_every_database(store: Store, clock: FakeClock) -> None:
    sessions = Sessions(store.engine)
    with sessions.begin() as session:
        session.add(_team_row("kept", clock))
        session.flush()
        nested = session.begin_nested()
        session.add(_team_row("undone", clock))
        session.flush()
        nested.rollback()
        # pysqlite's legacy mode would have let the SAVEPOINT commit on its own.
        assert _teams(store) == set()
    assert _teams(store) == {"kept"}


def test_a_released_savepoint_rolls_back_with_its_transaction(
    store: Store, clock: FakeClock
) -> None:
    def read_then_nest() -> None:
        with Sessions(store.engine).begin() as session:
            session.scalar(select(func.count()).select_from(TeamRow))
            with session.begin_nested():  # the first write of the transaction
                session.add(_team_row("released", clock))
            raise Boom

    with pytest.raises(Boom):
        read_then_nest()
    # In pysqlite's legacy mode the SAVEPOINT began a transaction of its own and
    # RELEASE committed it, whatever the enclosing transaction did next.
    assert _teams(store) == set()


def test_nested_unit_of_work_is_a_savepoint(store: Store, clock: FakeClock) -> None:
    ran: list[str] = []

    def inner_event(outer: Connection) -> None:
        with unit_of_work(store.engine, locks=["inner"]) as inner:
            assert inner is outer
            store.ensure_team(key=OTHER, founder="U-ida", now=clock())
            after_commit(store.engine, lambda: ran.append("dropped"))
            raise Boom

    with unit_of_work(store.engine) as outer:
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        with pytest.raises(Boom):
            inner_event(outer)
        with unit_of_work(store.engine):
            after_commit(store.engine, lambda: ran.append("kept"))
        assert ran == []
    assert ran == ["kept"]
    assert _teams(store) == {TEAM.team}


def test_after_commit_runs_after_commit_only(store: Store, clock: FakeClock) -> None:
    seen: list[set[str]] = []

    def look() -> None:
        seen.append(_teams(store))

    after_commit(store.engine, look)  # no unit of work: at once
    with unit_of_work(store.engine):
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        after_commit(store.engine, look)
        assert len(seen) == 1
    assert seen == [set(), {TEAM.team}]

    def failing_event() -> None:
        with unit_of_work(store.engine):
            after_commit(store.engine, look)
            raise Boom

    with pytest.raises(Boom):
        failing_event()
    assert len(seen) == 2


def test_stores_on_a_view_of_the_engine_join_and_keep_their_logger(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    checklists = ChecklistStore(engine=store.engine)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        with unit_of_work(store.engine):
            store.ensure_team(key=TEAM, founder="U-ida", now=clock())
            # Joins instead of waiting for the write lock this thread holds.
            teacher, _ = checklists.bind_teacher(
                key=TEAM, user="U-ida", display_name="Ida", now=clock()
            )
            checklists.add_pupils(teacher_id=teacher.id, labels=["Zq-Secret-9"], now=clock())
            assert [p.label for p in checklists.pupils(teacher_id=teacher.id)] == ["Zq-Secret-9"]
            store.get_team(key=TEAM)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)
    assert [p.label for p in checklists.pupils(teacher_id=teacher.id)] == ["Zq-Secret-9"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("FROM teams" in message for message in messages)
    assert not any("Zq-Secret" in message for message in messages)


def test_lock_keys_are_stable_signed_64_bit() -> None:
    assert lock_key("team:slack/T/C") == lock_key("team:slack/T/C")
    assert lock_key("team:slack/T/C") != lock_key("team:slack/T/D")
    assert all(-(2**63) <= lock_key(name) < 2**63 for name in ("a", "b", "ü" * 100))


@pytest.mark.parametrize("locks", [["team:a"], []], ids=["named-lock", "no-lock"])
def test_a_unit_of_work_holds_off_other_writers(
    store: Store, clock: FakeClock, locks: list[str]
) -> None:
    """SQLite: BEGIN IMMEDIATE takes the write lock; PostgreSQL: the advisory lock."""
    url = store.engine.url
    with unit_of_work(store.engine, locks=locks):
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        if store.engine.dialect.name == "sqlite":
            assert not _sqlite_can_write(url.database or "")
        elif locks:
            assert not _pg_try_lock(url, "team:a")
            assert _pg_try_lock(url, "team:b")
    if store.engine.dialect.name == "sqlite":
        assert _sqlite_can_write(url.database or "")
    else:
        assert _pg_try_lock(url, "team:a")


def test_the_advisory_lock_serialises_two_units_of_work(store: Store, clock: FakeClock) -> None:
    """A second unit of work on the same lock waits until the first one committed."""
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with unit_of_work(store.engine, locks=["team:a"]):
            store.ensure_team(key=OTHER, founder="U-ida", now=clock())
            inside.set()
            release.wait(WAIT_SECONDS)
            order.append("first commits")

    def second() -> None:
        inside.wait(WAIT_SECONDS)
        with unit_of_work(store.engine, locks=["team:a"]):
            # The first one's team is visible: it committed before this began.
            order.append(f"second sees {sorted(_teams_in(store))}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(WAIT_SECONDS)
    release.set()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert order == ["first commits", f"second sees {sorted([TEAM.team, OTHER.team])}"]


def _teams_in(store: Store) -> set[str]:
    """The team refs as the current transaction (the open unit of work) sees them."""
    with Sessions(store.engine).begin() as session:
        return set(session.scalars(select(TeamRow.team_ref)))


def _sqlite_can_write(path: str) -> bool:
    """Whether another connection could take SQLite's write lock right now."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    else:
        connection.execute("ROLLBACK")
        return True
    finally:
        connection.close()


def _pg_try_lock(url: URL, name: str) -> bool:
    """Whether another session could take the advisory lock ``name`` right now."""
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as connection:
        row = connection.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(name),))
        taken = row.fetchone()
        connection.rollback()
    return bool(taken and taken[0])


@pytest.fixture(autouse=True)
def _no_leftover_unit_of_work(store: Store) -> Iterator[None]:
    """Every test leaves the context as it found it."""
    yield
    assert not in_unit_of_work(store.engine)


def test_plain_sessions_commit_on_their_own(store: Store, clock: FakeClock) -> None:
    with Sessions(store.engine).begin() as session:
        session.add(_team_row("alone", clock))
    assert _teams(store) == {"alone"}

    def failing() -> None:
        with Sessions(store.engine).begin() as session:
            session.add(_team_row("gone", clock))
            session.flush()
            raise Boom

    with pytest.raises(Boom):
        failing()
    assert _teams(store) == {"alone"}
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
