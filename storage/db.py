"""Database URL, engine set-up and schema migration.

One place decides how the bot talks to its database, so SQLite (a single school's
laptop or a small server) and PostgreSQL (a hosted, multi-school installation)
behave the same to the rest of the code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from storage.transactions import SQLITE_BEGIN_OPTION, after_commit, lock_key

if TYPE_CHECKING:
    from alembic.config import Config

DATABASE_URL_ENV = "QUICKSCAN_DATABASE_URL"
"""Environment variable that overrides the default SQLite file."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The packaged Alembic script directory (shipped as package data)."""

VERSION_TABLE = "alembic_version"

_SQLITE_PRAGMAS = (
    # WAL lets the scheduler read while a conversation writes.
    "PRAGMA journal_mode=WAL",
    # SQLite ignores foreign keys unless asked, per connection.
    "PRAGMA foreign_keys=ON",
    # Wait for a competing writer instead of failing at once with "database is locked".
    "PRAGMA busy_timeout=5000",
    # Safe with WAL (no corruption on power loss) and much faster than FULL.
    "PRAGMA synchronous=NORMAL",
    # Deleted personal data is overwritten with zeros, in the database file and in
    # the WAL, instead of lingering in free pages (AVG: erased means gone).
    "PRAGMA secure_delete=ON",
)


def default_database_url() -> str:
    """The database to use when none is configured explicitly.

    The environment wins so containers and CI can point at PostgreSQL; otherwise a
    SQLite file in the user's data directory keeps a local install zero-config.

    Returns:
        A SQLAlchemy database URL.
    """
    configured = os.environ.get(DATABASE_URL_ENV)
    if configured:
        return configured
    data_dir = private_dir(Path(platformdirs.user_data_dir("quickscan-bot")))
    return f"sqlite:///{data_dir / 'quickscan.sqlite3'}"


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the bot's own user only.

    The database, charts and exports hold personal data; on a shared server other
    accounts must not be able to read them (docs/privacy.md).
    """
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file (and its folder) 0600/0700 before SQLite creates it 0644."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    # A folder the operator chose is left as it is; one we create is private.
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if not path.exists():
        # Later files (-wal, -shm) take the main file's permissions.
        path.touch(mode=PRIVATE_FILE_MODE)
    path.chmod(PRIVATE_FILE_MODE)


def checkpoint(*, engine: Engine) -> None:
    """Push erased data out of SQLite's WAL file (a no-op on PostgreSQL).

    With ``secure_delete`` the freed pages are zeroed, but older versions of those
    pages stay in the WAL until a checkpoint; ``TRUNCATE`` copies everything into
    the database file and empties the WAL, so erased values can no longer be found
    in either file. PostgreSQL's behaviour is described in docs/privacy.md.
    """
    if engine.dialect.name != "sqlite":
        return
    # Inside a unit of work the erasure is not committed yet, and the checkpoint
    # would wait for the write lock this thread holds: it runs after the commit.
    after_commit(engine, lambda: _checkpoint_now(engine))


def _checkpoint_now(engine: Engine) -> None:
    # Outside any transaction: a checkpoint cannot move pages past an open one.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _normalise_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the only driver installed.

    Hosting providers hand out ``postgres://`` or ``postgresql://`` URLs, which
    SQLAlchemy would map to psycopg2.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _set_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Apply the per-connection SQLite settings (they are not stored in the file).

    Also takes transaction control away from Python's sqlite3 module (SQLAlchemy's
    documented pysqlite recipe, with ``_begin_sqlite`` below): its legacy mode only
    begins a transaction before INSERT/UPDATE/DELETE, so SELECTs ran outside the
    transaction and a SAVEPOINT could silently commit on its own.
    """
    del connection_record  # required by the event signature, not needed here
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    """Emit the ``BEGIN`` the sqlite3 module no longer emits (see ``_set_sqlite_pragmas``)."""
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    immediate = options.get(SQLITE_BEGIN_OPTION) == "IMMEDIATE"
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine_for(*, url: str) -> Engine:
    """Create a SQLAlchemy engine with the settings the store relies on.

    Args:
        url: A SQLAlchemy URL; ``postgresql://`` is rewritten to use psycopg 3.

    Returns:
        The engine. For SQLite every new connection gets WAL, foreign keys,
        a busy timeout and ``synchronous=NORMAL``, and its transactions really
        begin at ``BEGIN`` (``BEGIN IMMEDIATE`` when ``SQLITE_BEGIN_OPTION`` asks).
    """
    url = _normalise_url(url)
    parsed = make_url(url)
    # hide_parameters: a logged database error never carries the values of a
    # statement (an open answer, a pupil code), only the SQL.
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_file(url)
        engine = create_engine(url, hide_parameters=True)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    # pool_pre_ping survives a PostgreSQL restart between two chat messages.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations, without an ini file.

    Returns:
        The configuration; callers may add ``attributes["connection"]``.
    """
    from alembic.config import Config  # imported only when migrating (see migrate)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(*, engine: Engine) -> None:
    """Bring the schema up to date (Alembic ``upgrade head``).

    Runs at every start so an upgraded bot never meets an old schema. On an
    up-to-date database (every start but the first after an upgrade) it only
    reads the version table and never imports Alembic, which would stay in
    memory for the life of the process (about 12 MB of an idle bot's 80).

    Args:
        engine: The engine whose database to migrate.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas start together: one migrates, the others wait here and then
            # find the schema current. Released at commit (a transaction-level lock).
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("schema-migration")}
            )
        if current_revision(connection) == schema_head():
            return
        from alembic import command  # imported only now: see the docstring

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_head() -> str:
    """The newest migration's revision, read from the file names, without Alembic.

    Every migration is ``versions/NNNN_<what>.py`` with revision ``"NNNN"`` and the
    one before as its down revision (tests/test_migrations.py checks this against
    Alembic's own head), so the highest number is the head.
    """
    numbers = (
        path.name.split("_", 1)[0] for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    )
    return max(numbers)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty database."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    value = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608 - a constant table name
    return None if value is None else str(value)
