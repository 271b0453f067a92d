"""Database URL, engine set-up and schema migration.

One place decides how the bot talks to its database, so SQLite (a single school's
laptop or a small server) and PostgreSQL (a hosted, multi-school installation)
behave the same to the rest of the code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

DATABASE_URL_ENV = "QUICKSCAN_DATABASE_URL"
"""Environment variable that overrides the default SQLite file."""

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The packaged Alembic script directory (shipped as package data)."""

_SQLITE_PRAGMAS = (
    # WAL lets the scheduler read while a conversation writes.
    "PRAGMA journal_mode=WAL",
    # SQLite ignores foreign keys unless asked, per connection.
    "PRAGMA foreign_keys=ON",
    # Wait for a competing writer instead of failing at once with "database is locked".
    "PRAGMA busy_timeout=5000",
    # Safe with WAL (no corruption on power loss) and much faster than FULL.
    "PRAGMA synchronous=NORMAL",
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
    data_dir = Path(platformdirs.user_data_dir("quickscan-bot"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'quickscan.sqlite3'}"


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
    """Apply the per-connection SQLite settings (they are not stored in the file)."""
    del connection_record  # required by the event signature, not needed here
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def create_engine_for(*, url: str) -> Engine:
    """Create a SQLAlchemy engine with the settings the store relies on.

    Args:
        url: A SQLAlchemy URL; ``postgresql://`` is rewritten to use psycopg 3.

    Returns:
        The engine. For SQLite every new connection gets WAL, foreign keys,
        a busy timeout and ``synchronous=NORMAL``.
    """
    url = _normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    # pool_pre_ping survives a PostgreSQL restart between two chat messages.
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations, without an ini file.

    Returns:
        The configuration; callers may add ``attributes["connection"]``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(*, engine: Engine) -> None:
    """Bring the schema up to date (Alembic ``upgrade head``).

    Runs at every start so an upgraded bot never meets an old schema; on an
    up-to-date database it only reads the version table.

    Args:
        engine: The engine whose database to migrate.
    """
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
