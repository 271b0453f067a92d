"""Readiness (issue 11): ``/readyz`` is ok only on a reachable database migrated to head."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.engine import Engine

from storage.db import MIGRATIONS_DIR, alembic_config, create_engine_for
from storage.health import Readiness, database_ready, head_revisions
from storage.quickscan.store import Store

SECRET_PARTS = ("s3cret-pass", "secret-user", "secretdb")
# The migrations' files, by number: the last is the head, the one before it a step behind.
REVISIONS = sorted(path.name.split("_")[0] for path in MIGRATIONS_DIR.glob("versions/0*.py"))
HEAD, PREVIOUS = REVISIONS[-1], REVISIONS[-2]


@pytest.fixture
def bare_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh database nothing has migrated."""
    engine = create_engine_for(url=database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _closed_port() -> int:
    """A local port nothing listens on: bound, then released, never listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_head_is_the_newest_migration() -> None:
    assert head_revisions() == frozenset({HEAD})


def test_a_migrated_database_is_ready(store: Store) -> None:
    assert database_ready(engine=store.engine) == Readiness(ok=True, reason="ready")


def test_a_database_never_migrated_is_not_ready(bare_engine: Engine) -> None:
    readiness = database_ready(engine=bare_engine)

    assert readiness == Readiness(ok=False, reason=f"migrations behind: none != {HEAD}")


def test_a_database_one_migration_behind_is_not_ready(bare_engine: Engine) -> None:
    config = alembic_config()
    with bare_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, PREVIOUS)

    readiness = database_ready(engine=bare_engine)

    assert readiness == Readiness(ok=False, reason=f"migrations behind: {PREVIOUS} != {HEAD}")


@pytest.mark.postgres
def test_an_unreachable_server_is_not_ready_and_its_url_is_not_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = _closed_port()
    url = f"postgresql://secret-user:s3cret-pass@127.0.0.1:{port}/secretdb"
    engine = create_engine_for(url=url)
    caplog.set_level(logging.DEBUG)
    try:
        readiness = database_ready(engine=engine)
    finally:
        engine.dispose()

    assert readiness == Readiness(ok=False, reason="database unreachable (OperationalError)")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "database unreachable" in logged
    for part in (*SECRET_PARTS, str(port)):
        assert part not in readiness.reason
        assert part not in repr(readiness)
        assert part not in logged


def test_a_sqlite_file_that_cannot_be_opened_is_not_ready(tmp_path: Path) -> None:
    database = tmp_path / "secretdb"
    database.mkdir()  # a folder where the file should be: SQLite cannot open it
    engine = create_engine_for(url=f"sqlite:///{database}")
    try:
        readiness = database_ready(engine=engine)
    finally:
        engine.dispose()

    assert readiness == Readiness(ok=False, reason="database unreachable (OperationalError)")
