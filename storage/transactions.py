"""One transaction per event: the unit of work every store call joins.

The engine handles an event (the redelivery check, the state it changes and the
outbox rows of every message it causes) in ONE database transaction, so a crash
leaves either all of it or none. The stores do not take a connection argument for
that: ``unit_of_work`` puts its connection in a ``ContextVar`` and every store's
``Sessions.begin()`` joins it. Outside a unit of work ``Sessions.begin()`` is one
short transaction, as before.

A joined store call takes no SAVEPOINT of its own: two statements per call were
most of an answer's statements, and a store method that fails on purpose (a
closed round, an unknown id) fails before it writes. A method that can lose a
race on a write takes its own ``session.begin_nested()`` around that write. Should
a joined call fail after it wrote, or with a database error, nothing can undo just
that call, so the unit of work refuses to commit (``PartialWriteError``): the
event is rolled back whole instead of committed half.

Serialisation across processes is the database's job, never an in-process lock:
SQLite transactions start with ``BEGIN IMMEDIATE`` (the single write lock, taken
before the first read, so a read-then-write never meets a stale snapshot);
PostgreSQL takes ``pg_advisory_xact_lock`` for each lock name, released at commit
or rollback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

SQLITE_BEGIN_OPTION = "quickscan_sqlite_begin"
"""Execution option naming the SQLite ``BEGIN`` mode of a connection's transactions.

``"IMMEDIATE"`` takes the write lock at ``BEGIN``: every store transaction and unit
of work asks for it, so a transaction that reads and then writes never fails on a
snapshot another writer made stale meanwhile. Anything else (Alembic, a test's
inspection) gets a plain deferred ``BEGIN``; storage/db.py emits both.
"""

_WRITE_BEGIN = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_WRITES = "quickscan_writes"
"""Key in a connection's ``info`` counting the statements that may have written."""
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK TO")


class PartialWriteError(RuntimeError):
    """A store call failed inside a unit of work after it wrote: the event cannot commit."""


@dataclass(eq=False)
class _Open:
    """An open unit of work: its connection, what runs once it committed, and whether
    a store call failed half-way (then it must not commit)."""

    engine: Engine
    connection: Connection
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    broken: bool = False


def _count_write(connection: Connection, cursor: Any, statement: str, *args: object) -> None:
    """Count a statement that may have changed rows (anything but a read or savepoint)."""
    verb = statement.lstrip()[:11].upper()
    if verb.startswith(_READS):
        return
    # An UPDATE or DELETE that matched nothing changed nothing. (An INSERT always
    # counts: with RETURNING its rowcount is not known until its rows are read.)
    if cursor.rowcount == 0 and verb.startswith(("UPDATE", "DELETE")):
        return
    connection.info[_WRITES] = connection.info.get(_WRITES, 0) + 1


def _watch_writes(engine: Engine) -> None:
    """Count ``engine``'s writing statements (once per engine), so a failed call is seen."""
    if not event.contains(engine, "after_cursor_execute", _count_write):
        event.listen(engine, "after_cursor_execute", _count_write)


_OPEN: ContextVar[tuple[_Open, ...]] = ContextVar("quickscan_unit_of_work", default=())


def _joined(engine: Engine) -> _Open | None:
    """The innermost open unit of work on ``engine``'s database, if any.

    Matched by connection pool, not by engine object: the checklist store talks
    through its own view of the store's engine (other logger), which is still the
    same database and must join the same transaction, or it would wait for the
    write lock this very thread holds.
    """
    for opened in reversed(_OPEN.get()):
        if opened.engine.pool is engine.pool:
            return opened
    return None


def lock_key(name: str) -> int:
    """A lock name as the signed 64-bit key of ``pg_advisory_xact_lock``.

    Any stable hash does: two names that happen to share a key only serialise more
    than needed, never less.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _take_locks(connection: Connection, locks: Sequence[str]) -> None:
    """Take the advisory locks, in key order so two units of work never deadlock."""
    if connection.dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already holds the database's only write lock
    for key in sorted({lock_key(name) for name in locks}):
        connection.execute(_ADVISORY_LOCK, {"key": key})


@contextmanager
def unit_of_work(engine: Engine, *, locks: Sequence[str] = ()) -> Iterator[Connection]:
    """Open one transaction that every store call inside joins; commit at the end.

    ``locks`` are names serialised across processes for this transaction
    (PostgreSQL: ``pg_advisory_xact_lock``; SQLite: the write lock of
    ``BEGIN IMMEDIATE`` already serialises every writer).

    Raises ``PartialWriteError`` (after rolling back) when a store call inside
    failed after writing and its caller went on (see the module docstring).

    Inside an open unit of work on the same database this is a SAVEPOINT of it:
    its locks join the outer transaction, and an exception undoes only what was
    done inside (and drops the ``after_commit`` callbacks registered there).

    The connection belongs to the context that opened it: a thread started inside
    does not see it (it gets its own transactions), but an asyncio task created
    inside inherits the context, so it must not use a store while this is open.

    Raises:
        Whatever the body raises, after rolling everything back.
    """
    outer = _joined(engine)
    if outer is not None:
        mark, broken = len(outer.after_commit), outer.broken
        try:
            with outer.connection.begin_nested():
                _take_locks(outer.connection, locks)
                yield outer.connection
        except BaseException:
            # The SAVEPOINT undid everything inside, a half-done store call too.
            del outer.after_commit[mark:]
            outer.broken = broken
            raise
        return
    _watch_writes(engine)
    with engine.connect() as connection:
        connection.execution_options(**_WRITE_BEGIN)
        opened = _Open(engine=engine, connection=connection)
        token = _OPEN.set((*_OPEN.get(), opened))
        try:
            with connection.begin():
                _take_locks(connection, locks)
                yield connection
                if opened.broken:
                    msg = "a store call failed after writing; the unit of work is rolled back"
                    raise PartialWriteError(msg)
        finally:
            _OPEN.reset(token)
    for callback in opened.after_commit:
        callback()


def in_unit_of_work(engine: Engine) -> bool:
    """Whether a unit of work on ``engine``'s database is open in this context."""
    return _joined(engine) is not None


def after_commit(engine: Engine, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the open unit of work committed; at once when none is open.

    For what must not happen inside the transaction: waking a dispatcher (it would
    look for rows not yet visible) or checkpointing SQLite's WAL (it waits for the
    write lock this thread holds). Nothing runs after a rollback.
    """
    opened = _joined(engine)
    if opened is None:
        callback()
    else:
        opened.after_commit.append(callback)


@contextmanager
def _viewed_through(connection: Connection, engine: Engine) -> Iterator[None]:
    """Let ``engine``'s settings apply to the joined connection while a session uses it.

    A store may talk through its own view of the engine (``Engine.execution_options``)
    with another statement logger and ``hide_parameters``: the checklist keeps pupil
    labels out of SQLAlchemy's row logging that way. The joined connection was made
    by the unit of work's engine, so for the session's statements it logs as the
    store's view would.
    """
    original = connection.engine
    if original is engine:
        yield
        return
    echo = connection._echo
    connection.engine = engine
    connection._echo = engine._should_log_info()
    try:
        yield
    finally:
        connection.engine = original
        connection._echo = echo


class Sessions:
    """A drop-in for ``sessionmaker(engine)``: ``begin()`` joins the open unit of work.

    Sessions never expire their objects on commit: stores build frozen records inside
    the transaction and hand out no ORM objects.
    """

    def __init__(self, engine: Engine) -> None:
        """Make sessions on ``engine`` (or on a view of it with other options)."""
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The engine (or engine view) the sessions talk through."""
        return self._engine

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in its own transaction, or inside the open unit of work.

        Joined, the session neither commits nor rolls back the event's transaction:
        leaving the block flushes it, an exception leaves it to the caller, unless
        the session wrote (or met a database error) first, which marks the unit of
        work as broken so it will not commit. On its own it commits at the end of
        the block, or rolls back on an exception.
        """
        opened = _joined(self._engine)
        if opened is not None:
            with self._joined_session(opened) as session:
                yield session
            return
        with self._engine.connect() as connection:
            connection.execution_options(**_WRITE_BEGIN)
            with (
                connection.begin(),
                Session(
                    bind=connection,
                    join_transaction_mode="rollback_only",
                    expire_on_commit=False,
                ) as session,
                session.begin(),
            ):
                yield session

    @contextmanager
    def _joined_session(self, opened: _Open) -> Iterator[Session]:
        connection = opened.connection
        writes = connection.info.get(_WRITES, 0)
        with _viewed_through(connection, self._engine):
            # rollback_only: commit() only flushes; close() leaves the transaction be.
            session = Session(
                bind=connection, join_transaction_mode="rollback_only", expire_on_commit=False
            )
            try:
                yield session
                session.commit()
            except BaseException as error:
                if isinstance(error, DBAPIError) or connection.info.get(_WRITES, 0) != writes:
                    opened.broken = True
                raise
            finally:
                session.close()
