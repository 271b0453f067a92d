"""Alembic environment for the quickscan bot.

``storage.db.migrate`` passes its own connection in ``config.attributes`` so the
bot migrates the very database it is about to use; the ``alembic`` command line
falls back to ``QUICKSCAN_DATABASE_URL`` (or the default SQLite file).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import create_engine_for, default_database_url
from storage.models import Base

target_metadata = Base.metadata

# Only the command line has an ini file with logging; the bot keeps its own logging.
if context.config.config_file_name is not None and "connection" not in context.config.attributes:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)


def _configure_and_run(connection: Connection) -> None:
    """Run the migrations on an open connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL as a script instead of running it (``alembic upgrade --sql``)."""
    url = context.config.get_main_option("sqlalchemy.url") or default_database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the given connection, or a database built from the environment."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or default_database_url()
    engine = create_engine_for(url=url)
    try:
        with engine.begin() as own_connection:
            _configure_and_run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
