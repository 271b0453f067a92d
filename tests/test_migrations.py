"""The Alembic migrations build exactly the schema of ``storage.models.quickscan``.

Run on SQLite and PostgreSQL, so a model change without a matching migration
(or the reverse) fails here rather than on a school's server.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import alembic_config, create_engine_for, migrate
from storage.models import Base

TABLES = {
    "teams",
    "coordinators",
    "rounds",
    "participations",
    "scheduled_pings",
    "answers",
    "processed_events",
    "round_results",
    "checklist_teachers",
    "checklist_pupils",
    "checklist_rounds",
    "checklist_scores",
    "checklist_steps",
    "outbox_messages",
}


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current_revision(url: str) -> str | None:
    engine = create_engine_for(url=url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_migrating_an_empty_database_creates_the_schema(database_url: str) -> None:
    engine = create_engine_for(url=database_url)
    try:
        assert set(inspect(engine).get_table_names()) == set()
        migrate(engine=engine)
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()
    assert _current_revision(database_url) == _head()


def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    engine = create_engine_for(url=database_url)
    try:
        migrate(engine=engine)
        with engine.connect() as connection:
            before = {table: inspect(connection).get_columns(table) for table in sorted(TABLES)}
        migrate(engine=engine)
        with engine.connect() as connection:
            after = {table: inspect(connection).get_columns(table) for table in sorted(TABLES)}
    finally:
        engine.dispose()
    assert repr(after) == repr(before)
    assert _current_revision(database_url) == _head()


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine_for(url=database_url)
    try:
        migrate(engine=engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_open_round_index_is_partial_and_unique(database_url: str) -> None:
    engine = create_engine_for(url=database_url)
    try:
        migrate(engine=engine)
        indexes = {index["name"]: index for index in inspect(engine).get_indexes("rounds")}
    finally:
        engine.dispose()
    one_open = indexes["uq_rounds_one_open_per_team"]
    assert one_open["unique"]
    assert one_open["column_names"] == ["team_id"]
    where = one_open.get("dialect_options", {})
    assert any("open" in str(value) for value in where.values())
