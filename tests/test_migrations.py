"""The Alembic migrations build exactly the schema of ``storage.models.quickscan``.

Run on SQLite and PostgreSQL, so a model change without a matching migration
(or the reverse) fails here rather than on a school's server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import alembic_config, create_engine_for, migrate, schema_head
from storage.models import Base

TABLES = {
    "teams",
    "team_plans",
    "plan_votes",
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
    "roster_people",
    "roster_members",
    "rate_buckets",
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


def test_the_head_read_from_the_file_names_is_alembics_head() -> None:
    """migrate() skips Alembic on a current database by trusting the NNNN_ file names."""
    script = ScriptDirectory.from_config(alembic_config())
    assert schema_head() == _head()
    for revision in script.walk_revisions():
        number = int(revision.revision)
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
        expected_down = None if number == 1 else f"{number - 1:04d}"
        assert revision.down_revision == expected_down


def test_a_start_on_a_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    """Alembic is about 12 MB that an idle bot would otherwise keep for its whole life."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    engine = create_engine_for(url=url)
    try:
        migrate(engine=engine)
    finally:
        engine.dispose()
    program = (
        "import sys\n"
        "from storage.db import create_engine_for, migrate\n"
        f"engine = create_engine_for(url={url!r})\n"
        "migrate(engine=engine)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
