"""Leadership among identical processes: one holder of a named lock at a time.

Some work must run in one process only although every replica is able to do it
(the ping timer: several APScheduler instances on one job table would each run
every job). The database that the replicas share already is the one thing they
all see, so it picks the leader; no extra service to run.

PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a connection of its
own, outside the pool, so that normal traffic never returns it to the pool or
closes it by accident. The lock lives exactly as long as that session: a process
that crashes or is killed closes its socket and the server frees the lock at once;
``alive`` sends ``SELECT 1`` on it, so a holder whose connection was lost learns
that it is no longer the leader. TCP keepalives and a user timeout bound how long
a vanished host (no FIN ever arrives) keeps the lock or blocks its own check.

SQLite (one machine, the database a local file): an OS file lock (``flock``) on a
file next to the database. The kernel frees it when its holder exits, however it
exits, which is the same guarantee the advisory lock gives; a lease row would
instead need a clock and a lease period, and a killed holder would keep the lease
until it ran out. An in-memory database has no second process to compete with.

Either way the lock is only an optimisation of *who works*: whatever the leader
does must still be safe when, for a moment around a handover, two processes think
they lead (the ping claims in storage/schedule/store.py are).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from storage.db import PRIVATE_FILE_MODE
from storage.transactions import lock_key

_KEEPALIVE = {
    # Client side: a check on a dead network fails within ~30 s instead of hanging.
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
    "application_name": "quickscan-leader",
}
_SERVER_KEEPALIVE = (
    # Server side: the session of a vanished host (and with it the lock) ends as soon.
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
)


class Lease(Protocol):
    """Held leadership: ask whether it still holds, give it up."""

    def alive(self) -> bool:
        """Whether this process still holds the lock (False once lost or released)."""
        ...

    def release(self) -> None:
        """Give the lock up at once so another process can take it; more than once."""
        ...


def try_lead(*, engine: Engine, name: str) -> Lease | None:
    """Take the lock ``name`` on ``engine``'s database if nobody holds it; never waits.

    Returns:
        The lease while this process holds the lock, or None when another process
        (or another lease in this one) holds it.
    """
    if engine.dialect.name == "postgresql":
        return _PostgresLease.take(engine=engine, name=name)
    if engine.dialect.name != "sqlite":
        msg = f"no leadership mechanism for the {engine.dialect.name} dialect"
        raise NotImplementedError(msg)
    database = _sqlite_file(engine.url.database or "")
    if database is None:
        return _SoleLease()
    return _FileLease.take(path=Path(f"{database}.{name}.lock"))


def _sqlite_file(database: str) -> str | None:
    """The file of a SQLite database (plain path or ``file:`` URI); None in memory."""
    if database.startswith("file:"):
        path, _, query = database[len("file:") :].partition("?")
        in_memory = "mode=memory" in query.split("&")
        return None if in_memory or path in ("", ":memory:") else path
    return None if database in ("", ":memory:") else database


class _PostgresLease:
    """A session-level advisory lock on a dedicated connection."""

    def __init__(self, *, connection: Connection, dedicated: Engine) -> None:
        self._connection: Connection | None = connection
        self._dedicated = dedicated

    @classmethod
    def take(cls, *, engine: Engine, name: str) -> _PostgresLease | None:
        # NullPool: closing the connection really closes the session (and the lock).
        configured = engine.url.query.get("options")  # an operator's search_path, say
        options = " ".join(
            part for part in (configured, _SERVER_KEEPALIVE) if isinstance(part, str)
        )
        dedicated = create_engine(
            engine.url,
            poolclass=NullPool,
            hide_parameters=True,
            connect_args={**_KEEPALIVE, "options": options},
        )
        try:
            connection = dedicated.connect().execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            dedicated.dispose()
            raise
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(f"leader:{name}")}
            ).scalar_one()
        except BaseException:
            connection.close()
            dedicated.dispose()
            raise
        if not taken:
            connection.close()
            dedicated.dispose()
            return None
        return cls(connection=connection, dedicated=dedicated)

    def alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except DBAPIError:
            self.release()  # the session is gone, and with it the lock
            return False
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Closing the session frees its advisory locks; no explicit unlock needed.
            connection.close()
        finally:
            self._dedicated.dispose()


class _FileLease:
    """An exclusive ``flock`` on a file next to the SQLite database."""

    def __init__(self, *, path: Path, descriptor: int) -> None:
        self._path = path
        self._descriptor: int | None = descriptor

    @classmethod
    def take(cls, *, path: Path) -> _FileLease | None:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        except BaseException:
            os.close(descriptor)
            raise
        return cls(path=path, descriptor=descriptor)

    def alive(self) -> bool:
        if self._descriptor is None:
            return False
        # A lock file removed or replaced behind our back can be locked by another
        # process through the new file: then this lock no longer excludes anyone.
        try:
            same = os.stat(self._path).st_ino == os.fstat(self._descriptor).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self.release()
        return same

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)  # closing the last descriptor frees the flock


class _SoleLease:
    """An in-memory SQLite database: this process is the only one that can see it."""

    def __init__(self) -> None:
        self._held = True

    def alive(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False
