"""``quickscan kalender`` on the command line: it only reads, and plans as the bot does.

It opens the database without migrating it and refuses, in one line and with a
non-zero exit, a database that is not there (it would have created the SQLite
file) or whose schema is not current. What it lists to come is what the bot's
own reminders plan as of ``--clock``, with every source of pings (the team's plan
follow-up too), not a copy of the planner that can drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, inspect

from adapters.startup.cli import main
from conversations.core.messages import Where
from storage.models.schedule import ScheduledPingRow
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.test_plan_commands import SIX, closed_round, full_plan, team
from tests.testbot import TestBot

# Monday 12 January 2026, 10:00 in Amsterdam (as the plan tests).
START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def testbot_members() -> tuple[str, ...]:
    return SIX


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START)


def test_a_missing_database_file_is_refused_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "nowhere" / "quickscan.sqlite3"

    code = main(["kalender", "--database", f"sqlite:///{database}"])

    assert code != 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "bestaat niet" in error
    assert "Traceback" not in error
    assert not database.exists()
    assert not database.parent.exists()


def test_a_database_whose_schema_is_not_current_is_refused_and_not_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "old.sqlite3"
    url = f"sqlite:///{database}"
    Store.open(url=url, migrate=False).close()  # the file exists, no schema in it
    assert database.exists()

    code = main(["kalender", "--database", url])

    assert code != 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "schema van de database is niet actueel" in error
    store = Store.open(url=url, migrate=False)
    try:
        with store.engine.connect() as connection:
            assert inspect(connection).get_table_names() == []  # nothing created or migrated
    finally:
        store.close()


def test_kalender_lists_the_plan_follow_up_the_bot_would_plan(
    testbot: TestBot, capsys: pytest.CaptureFixture[str]
) -> None:
    testbot.say("anna", "/quickscan start", where=Where.TEAM)
    testbot.say("anna", "/quickscan regio midden", where=Where.TEAM)
    closed_round(testbot)
    full_plan(testbot)
    team(testbot, "plan vaststellen")  # the owner is asked on 25-02-2026
    # The outbox as a bot that has not run since would hold it: without the plan's pings.
    with testbot.store.engine.begin() as connection:
        connection.execute(delete(ScheduledPingRow).where(ScheduledPingRow.kind.like("plan_%")))
    url = testbot.store.engine.url.render_as_string(hide_password=False)

    assert main(["kalender", "--database", url, "--clock", "2026-02-02T09:00"]) == 0

    printed = capsys.readouterr().out
    assert "wo 25-02-2026: plan: de eigenaar vragen of de eerste stap is gezet" in printed
    assert "di 12-01-2027: plan: de volgende quickscan starten" in printed
