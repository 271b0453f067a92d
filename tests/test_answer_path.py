"""The answer path at the floor: one transaction and a handful of statements per answer.

Store calls inside a unit of work join its transaction without a SAVEPOINT each
(storage/transactions.py); a call that fails before it wrote leaves the event's
transaction usable, one that fails after writing makes the whole unit of work
roll back instead of committing half of it. The walkthrough reads a member's
participation, round and team in one query, in the event's transaction.
Counts only, never time (timings are benchmarks/engine.py's business).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine as SQLEngine

from conversations.core.messages import Where
from storage.keys import TeamKey
from storage.models.quickscan import TeamRow
from storage.quickscan.records import RoundNotOpenError
from storage.quickscan.store import Store
from storage.transactions import PartialWriteError, Sessions, unit_of_work
from tests.conftest import FakeClock
from tests.testbot import TestBot

TEAM = TeamKey(platform="slack", workspace="T-school-a", team="C-groep-3")
INSTRUMENT = "quickscan-po"


class Boom(Exception):
    """Raised by a test inside a store session."""


@dataclass
class Statements:
    """Every statement the driver got, and how many transactions began."""

    texts: list[str] = field(default_factory=list)
    begins: int = 0

    def savepoints(self) -> int:
        return sum(1 for text in self.texts if text.startswith("SAVEPOINT"))


@contextmanager
def counted(engine: SQLEngine) -> Iterator[Statements]:
    seen = Statements()

    def on_statement(*args: Any) -> None:
        seen.texts.append(" ".join(str(args[2]).split()))

    def on_begin(*args: Any) -> None:
        seen.begins += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", on_begin)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)


def _team_refs(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.scalars(select(TeamRow.team_ref)))


def test_joined_store_calls_take_no_savepoint(store: Store, clock: FakeClock) -> None:
    with counted(store.engine) as seen, unit_of_work(store.engine):
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        store.get_team(key=TEAM)
        store.open_round(
            key=TEAM, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
        )
        store.current_round(key=TEAM)
    # ensure_team and open_round each guard their INSERT with a SAVEPOINT of their
    # own (a lost race); the reads and the calls themselves add none.
    assert seen.savepoints() == 2
    assert seen.begins == 1
    assert _team_refs(store) == {TEAM.team}


def test_a_call_failing_before_it_writes_leaves_the_event_going(
    store: Store, clock: FakeClock
) -> None:
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    round_ = store.open_round(
        key=TEAM, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
    )
    participation, _ = store.invite(
        key=TEAM, round_id=round_.id, user="U-bas", display_name="Bas", now=clock()
    )
    store.close_round(key=TEAM, round_id=round_.id, now=clock())
    other = TeamKey(platform=TEAM.platform, workspace=TEAM.workspace, team="C-groep-4")
    with unit_of_work(store.engine):
        with pytest.raises(RoundNotOpenError):
            store.save_progress(
                participation_id=participation.id,
                state=participation.state,
                position=1,
                now=clock(),
                answers={"q1": "++"},
            )
        store.ensure_team(key=other, founder="U-bas", now=clock())
    assert _team_refs(store) == {TEAM.team, other.team}


def _half_done(sessions: Sessions, clock: FakeClock) -> None:
    """A store call that writes, then fails."""
    with sessions.begin() as session:
        session.add(
            TeamRow(platform="slack", workspace="T-x", team_ref="half", created_at=clock())
        )
        session.flush()
        raise Boom


def _failed_read(sessions: Sessions) -> None:
    """A store call that reads, then fails."""
    with sessions.begin() as session:
        session.scalars(select(TeamRow.team_ref)).all()
        raise Boom


def _event_going_on_after(failing: Callable[[], None], store: Store, clock: FakeClock) -> None:
    """An event that creates the team, survives ``failing``, and commits."""
    with unit_of_work(store.engine):
        store.ensure_team(key=TEAM, founder="U-ida", now=clock())
        with pytest.raises(Boom):
            failing()


def test_a_call_failing_after_it_wrote_rolls_the_whole_event_back(
    store: Store, clock: FakeClock
) -> None:
    sessions = Sessions(store.engine)
    # The caller went on, but nothing can undo the half-done call alone.
    with pytest.raises(PartialWriteError):
        _event_going_on_after(lambda: _half_done(sessions, clock), store, clock)
    assert _team_refs(store) == set()


def test_a_half_done_call_inside_a_nested_unit_of_work_is_undone_with_it(
    store: Store, clock: FakeClock
) -> None:
    sessions = Sessions(store.engine)

    def nested() -> None:
        with unit_of_work(store.engine):  # a SAVEPOINT of the event's transaction
            _half_done(sessions, clock)

    # The SAVEPOINT took the half-done write back, so the event may commit.
    _event_going_on_after(nested, store, clock)
    assert _team_refs(store) == {TEAM.team}


def test_a_read_failing_in_a_joined_session_breaks_nothing(store: Store, clock: FakeClock) -> None:
    sessions = Sessions(store.engine)
    _event_going_on_after(lambda: _failed_read(sessions), store, clock)
    assert _team_refs(store) == {TEAM.team}


def test_one_answer_is_one_transaction_and_few_statements(testbot: TestBot) -> None:
    testbot.say("anna", "/quickscan start", where=Where.TEAM)
    testbot.say("bram", "start")
    testbot.say("bram", "++")
    with counted(testbot.store.engine) as seen:
        replies = testbot.say("bram", "+")
    assert replies
    assert seen.begins == 1
    assert seen.savepoints() == 0
    statements = [text for text in seen.texts if not text.startswith(("BEGIN", "SELECT 1"))]
    # PostgreSQL's advisory lock for the member, the checklist's claim, the
    # member's participation with its round and team, the answers, the guarded
    # save (read, update, answer, re-read) and the next prompt's outbox row: no
    # second team lookup, no round lookup, no SAVEPOINT pairs (there were 28).
    locks = [text for text in statements if "pg_advisory_xact_lock" in text]
    assert len(statements) - len(locks) == 8, statements
