"""Retention: personal data past its period is deleted, on SQLite and PostgreSQL.

Individual answers and open texts of rounds closed longer ago than the policy's
months go (the round and its snapshot stay), delivery ids after days, files in
the output folder after a day; the job is idempotent and safe to run twice at
once; and on SQLite the erased values are no longer in the database file or WAL.
"""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from adapters.startup.config import ConfigError, load_settings
from bot.calendar.scheduling import JOB_TABLE, RETENTION_JOB_ID, PingScheduler
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from bot.privacy.files import prepare_output_dir, sweep, write_private
from bot.privacy.policy import RetentionPolicy, months_before
from bot.privacy.retention import Retention, RetentionReport
from conversations.instrument import load_instruments
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.models.quickscan import ProcessedEventRow
from storage.quickscan.records import ParticipationState, Round, Team
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.console_harness import make_console, texts_for, walkthrough_lines

TEAM = TeamKey(platform="console", workspace="school", team="groep-3")
TEAM_CONSOLE = TeamKey(platform="console", workspace="console", team="team")
OLD_TEXT = "Retentie-geheim-open-antwoord-4417"
OLD_NAME = "Xandra Retentiewicz"
NEW_TEXT = "Recent-open-antwoord-9023"


class RecordingSnapshots:
    """Stands in for ``Results.ensure_snapshot``: records which rounds were frozen."""

    def __init__(self) -> None:
        self.frozen: list[int] = []

    def ensure_snapshot(self, *, team: Team, round_: Round) -> None:
        self.frozen.append(round_.id)


def _answered_round(
    store: Store, clock: FakeClock, *, name: str, text: str, close: bool = True
) -> Round:
    """A round in which one member answered a scale question and an open question."""
    round_ = store.open_round(
        key=TEAM, instrument_id="quickscan-po", opened_by="anna", deadline=None, now=clock()
    )
    participation, _ = store.invite(
        key=TEAM, round_id=round_.id, user="xandra", display_name=name, now=clock()
    )
    store.save_progress(
        participation_id=participation.id,
        state=ParticipationState.SUBMITTED,
        position=0,
        now=clock(),
        answers={"q1": "++", "open:1": text},
        mark_started=True,
        mark_submitted=True,
    )
    return store.close_round(key=TEAM, round_id=round_.id, now=clock()) if close else round_


def _retention(store: Store, tmp_path: Path, snapshots: RecordingSnapshots) -> Retention:
    return Retention(
        store=store,
        snapshots=snapshots,
        checklist=ChecklistStore(engine=store.engine),
        output_dir=tmp_path / "output",
        policy=RetentionPolicy(answer_months=12, event_days=7),
    )


def _events(store: Store) -> int:
    with store.engine.connect() as connection:
        counted = connection.execute(select(func.count()).select_from(ProcessedEventRow))
        return int(counted.one()[0])


def test_old_rounds_lose_their_answers_and_keep_the_round(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    store.ensure_team(key=TEAM, founder="anna", now=clock())
    old = _answered_round(store, clock, name=OLD_NAME, text=OLD_TEXT)
    store.claim_event(platform="console", workspace="school", event_id="e-old", now=clock())
    clock.advance(days=365)
    recent = _answered_round(store, clock, name="Xandra", text=NEW_TEXT)
    clock.advance(days=40)  # the old round closed 405 days ago: more than 12 months
    store.claim_event(platform="console", workspace="school", event_id="e-new", now=clock())
    snapshots = RecordingSnapshots()

    report = _retention(store, tmp_path, snapshots).run(now=clock())

    assert report == RetentionReport(rounds=1, participations=1, answers=2, events=1)
    assert snapshots.frozen == [old.id]  # frozen before its answers went
    assert store.participations(key=TEAM, round_id=old.id) == []
    assert store.submitted_answers(key=TEAM, round_id=old.id) == []
    assert store.get_round(key=TEAM, round_id=old.id) == old  # the round itself stays
    kept = store.submitted_answers(key=TEAM, round_id=recent.id)
    assert kept == [{"q1": "++", "open:1": NEW_TEXT}]
    assert _events(store) == 1
    assert not store.claim_event(
        platform="console", workspace="school", event_id="e-new", now=clock()
    )


def test_an_open_round_and_a_round_just_inside_the_period_are_kept(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    store.ensure_team(key=TEAM, founder="anna", now=clock())
    closed = _answered_round(store, clock, name="Xandra", text=OLD_TEXT)
    clock.advance(days=2)
    still_open = _answered_round(store, clock, name="Xandra", text=NEW_TEXT, close=False)
    # Exactly 12 calendar months after the close, minus a minute: not yet expired.
    clock.advance(months_before(closed.closed_at or clock(), -12) - clock() - timedelta(minutes=1))

    report = _retention(store, tmp_path, RecordingSnapshots()).run(now=clock())

    assert report.rounds == 0
    assert len(store.participations(key=TEAM, round_id=closed.id)) == 1
    assert len(store.participations(key=TEAM, round_id=still_open.id)) == 1
    clock.advance(minutes=2)
    assert _retention(store, tmp_path, RecordingSnapshots()).run(now=clock()).rounds == 1


def test_the_job_is_idempotent_and_safe_in_two_processes_at_once(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    first = Store.open(url=database_url)
    second = Store.open(url=database_url)  # its own pool: another process's connections
    try:
        first.ensure_team(key=TEAM, founder="anna", now=clock())
        rounds = [_answered_round(first, clock, name=f"X{n}", text=f"t{n}") for n in range(4)]
        clock.advance(days=800)
        jobs = [_retention(store, tmp_path, RecordingSnapshots()) for store in (first, second)]
        reports: list[RetentionReport] = []
        errors: list[BaseException] = []

        def run(job: Retention) -> None:
            try:
                reports.append(job.run(now=clock()))
            except BaseException as error:  # reported below, with the thread's failure
                errors.append(error)

        threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert sum(report.participations for report in reports) == 4
        assert sum(report.answers for report in reports) == 8
        for round_ in rounds:
            assert first.participations(key=TEAM, round_id=round_.id) == []
        again = jobs[0].run(now=clock())
        assert again == RetentionReport()
    finally:
        first.close()
        second.close()


def test_erased_values_are_gone_from_the_sqlite_file_and_wal(
    tmp_path: Path, clock: FakeClock
) -> None:
    database = tmp_path / "retention.sqlite3"
    store = Store.open(url=f"sqlite:///{database}")
    try:
        store.ensure_team(key=TEAM, founder="anna", now=clock())
        _answered_round(store, clock, name=OLD_NAME, text=OLD_TEXT)
        assert _found(database, OLD_TEXT)  # present before: the search can fail
        assert _found(database, OLD_NAME)
        clock.advance(days=400)

        _retention(store, tmp_path, RecordingSnapshots()).run(now=clock())

        assert not _found(database, OLD_TEXT)
        assert not _found(database, OLD_NAME)
    finally:
        store.close()


def _found(database: Path, value: str) -> bool:
    """Whether ``value`` is anywhere in the raw bytes of the database or its WAL."""
    needle = value.encode("utf-8")
    files = [database, database.with_name(database.name + "-wal")]
    return any(path.exists() and needle in path.read_bytes() for path in files)


# ---------------------------------------------------------------- the policy


def test_months_are_calendar_months() -> None:
    assert months_before(datetime(2027, 3, 31, 8, tzinfo=UTC), 1) == datetime(
        2027, 2, 28, 8, tzinfo=UTC
    )
    assert months_before(datetime(2028, 3, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert months_before(datetime(2027, 1, 15, tzinfo=UTC), 12) == datetime(
        2026, 1, 15, tzinfo=UTC
    )
    assert months_before(datetime(2027, 1, 15, tzinfo=UTC), 13) == datetime(
        2025, 12, 15, tzinfo=UTC
    )


def test_retention_settings_come_from_the_environment() -> None:
    default = load_settings(environ={})
    assert default.retention == RetentionPolicy(answer_months=12, event_days=7)
    chosen = load_settings(
        environ={"QUICKSCAN_RETENTION_MONTHS": "24", "QUICKSCAN_EVENT_RETENTION_DAYS": " 3 "}
    )
    assert chosen.retention.answer_months == 24
    assert chosen.retention.event_days == 3


@pytest.mark.parametrize("value", ["0", "-1", "²", "１２", "12.5", "twaalf", "9" * 40, "121"])
def test_a_bad_retention_setting_stops_the_bot_with_the_variable_named(value: str) -> None:
    with pytest.raises(ConfigError, match="QUICKSCAN_RETENTION_MONTHS"):
        load_settings(environ={"QUICKSCAN_RETENTION_MONTHS": value})


# ------------------------------------------------------------------ the files


def test_output_files_are_private_and_swept_after_a_day(tmp_path: Path) -> None:
    output = prepare_output_dir(tmp_path / "output")
    assert stat.S_IMODE(output.stat().st_mode) == 0o700
    now = datetime(2027, 1, 4, 8, tzinfo=UTC)
    chart = write_private(output / "team" / "ronde-1-grafiek.png", b"png")
    export = write_private(output / "team" / "ronde-1-teamresultaat.xlsx", b"xlsx")
    stranger = output / "team" / "notes.txt"
    stranger.write_bytes(b"operator's own file")
    os.chmod(chart, 0o644)  # as a writer with the default umask would leave it
    old = (now - timedelta(days=1, minutes=1)).timestamp()
    fresh = (now - timedelta(hours=23)).timestamp()
    os.utime(chart, (fresh, fresh))
    os.utime(export, (old, old))
    os.utime(stranger, (old, old))

    deleted = sweep(output, now=now, max_age=timedelta(days=1))

    assert deleted == 1
    assert not export.exists()
    assert stat.S_IMODE(chart.stat().st_mode) == 0o600
    assert stat.S_IMODE((output / "team").stat().st_mode) == 0o700
    assert stranger.exists()  # only the bot's own kinds of files are swept


def test_prepare_tightens_what_an_earlier_version_left_readable(tmp_path: Path) -> None:
    output = tmp_path / "output"
    (output / "team").mkdir(parents=True, mode=0o755)
    chart = output / "team" / "ronde-1-grafiek.png"
    chart.write_bytes(b"png")
    chart.chmod(0o644)

    prepare_output_dir(output)

    assert stat.S_IMODE(output.stat().st_mode) == 0o700
    assert stat.S_IMODE((output / "team").stat().st_mode) == 0o700
    assert stat.S_IMODE(chart.stat().st_mode) == 0o600


# -------------------------------------------------------------- the schedule


def test_the_scheduler_runs_retention_daily_and_at_start(tmp_path: Path) -> None:
    clock = FakeClock(start=datetime(2026, 11, 23, 9, tzinfo=UTC))
    store = Store.open(url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    try:
        engine = Engine(
            store=store,
            instruments=load_instruments(),
            roster=RosterRegistry(),
            clock=clock,
            output_dir=tmp_path / "output",
        )
        store.claim_event(platform="slack", workspace="T1", event_id="e1", now=clock())
        clock.advance(days=8)
        scheduler = PingScheduler(engine=engine)
        scheduler.start()
        scheduler.stop()
        assert _events(store) == 0  # the run at start already forgot the 8-day-old id
        jobs = SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE).get_all_jobs()
        daily = [job for job in jobs if job.id == RETENTION_JOB_ID]
        assert len(daily) == 1
        assert isinstance(daily[0].trigger, CronTrigger)
    finally:
        store.close()


# ------------------------------------------------------------- through the engine


def test_the_console_clock_runs_retention_and_the_result_survives(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    """A year and a month after close the answers are gone; the team result is not."""
    members = ["anna", "bram", "chris", "dewi", "eva", "fatima"]
    console = make_console(
        database_url=database_url, members=members, clock=clock, output_dir=tmp_path / "output"
    )
    store = console.store
    try:
        console.say("anna@team: /quickscan start")
        for name in members:
            console.say(*walkthrough_lines(name, answer="+"))
        console.say("anna@team: /quickscan sluit")
        (closed,) = store.closed_rounds(key=TEAM_CONSOLE, instrument_id="quickscan-po")
        before = texts_for(console.say("bram@team: /quickscan grafiek"), "team")
        assert before
        assert len(store.participations(key=TEAM_CONSOLE, round_id=closed.id)) == 6

        clock.advance(days=400)
        console.adapter.catch_up()  # what ``@clock:`` does

        assert store.participations(key=TEAM_CONSOLE, round_id=closed.id) == []
        assert store.submitted_answers(key=TEAM_CONSOLE, round_id=closed.id) == []
        after = texts_for(console.say("bram@team: /quickscan grafiek"), "team")
        assert after == before  # the snapshot still answers
        help_text = console.say("bram@team: /quickscan help")[0][1]
        assert "12 maanden" in help_text
        assert "1 augustus" in help_text
    finally:
        store.close()
