"""One timer among replicas: the database's leader lock picks who runs APScheduler.

The lock itself (storage/leader.py) on both databases, the leadership loop
(bot/calendar/timer_leader.py) with a fake lease, two schedulers in one process,
and replicas in processes of their own on one PostgreSQL database: killing the
timer's replica hands the timer over, and every ping goes out exactly once.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bot.calendar.scheduling import PingScheduler
from bot.calendar.timer_leader import TimerLeadership
from bot.core.engine import Engine as BotEngine
from conversations.core.messages import Inbound, Sender, Where
from conversations.instrument import load_instruments
from storage.db import create_engine_for
from storage.keys import TeamKey
from storage.leader import try_lead
from storage.models.delivery import OutboxMessageRow
from storage.quickscan.store import Store
from storage.schedule.store import PingStatus, ScheduleStore
from tests.conftest import FakeClock
from tests.testbot import MEMBERS, Roster

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60.0
"""How long a test waits for something that should happen within a poll or two."""
POLL = timedelta(milliseconds=100)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FIRED = re.compile(r"^(\d+) bot\.calendar\.reminders ping (\S+) fired: (\d+) messages queued$")


def _eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition`` holds; fail (not measure) after ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.02)


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """An engine on the fresh database (the lock needs no tables)."""
    engine = create_engine_for(url=database_url)
    try:
        yield engine
    finally:
        engine.dispose()


# ------------------------------------------------------------------ the lock


def test_a_second_contender_is_refused_until_the_first_releases(db: Engine) -> None:
    first = try_lead(engine=db, name="timer")
    assert first is not None
    assert try_lead(engine=db, name="timer") is None
    other = try_lead(engine=db, name="other")  # another name is another lock
    assert other is not None
    assert first.alive()
    first.release()
    first.release()  # a second release is harmless
    assert not first.alive()
    second = try_lead(engine=db, name="timer")
    assert second is not None
    second.release()
    other.release()


def test_in_memory_sqlite_has_nobody_to_compete_with() -> None:
    engine = create_engine_for(url="sqlite://")
    lease = try_lead(engine=engine, name="timer")
    assert lease is not None
    assert lease.alive()
    lease.release()
    assert not lease.alive()
    engine.dispose()


@pytest.mark.postgres
def test_a_lost_session_is_lost_leadership(fresh_postgres_database: str) -> None:
    engine = create_engine_for(url=fresh_postgres_database)
    lease = try_lead(engine=engine, name="timer")
    assert lease is not None
    with psycopg.connect(fresh_postgres_database, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'quickscan-leader' AND datname = current_database()"
        ).fetchall()
    assert ended == [(True,)]
    assert not lease.alive()
    _eventually(lambda: _take_and_release(engine), "the lock is free again")
    engine.dispose()


@pytest.mark.postgres
def test_an_operators_session_options_are_kept(fresh_postgres_database: str) -> None:
    engine = create_engine_for(url=f"{fresh_postgres_database}?options=-c%20work_mem%3D7MB")
    lease = try_lead(engine=engine, name="timer")
    assert lease is not None
    # Settings are per session: the test looks at the lease's own connection.
    connection = lease._connection  # type: ignore[attr-defined]  # the PostgreSQL lease
    assert connection.execute(text("SHOW work_mem")).scalar_one() == "7MB"
    assert connection.execute(text("SHOW tcp_keepalives_idle")).scalar_one() == "10"
    assert lease.alive()
    lease.release()
    engine.dispose()


def test_a_replaced_lock_file_is_lost_leadership(tmp_path: Path) -> None:
    engine = create_engine_for(url=f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    lease = try_lead(engine=engine, name="timer")
    assert lease is not None
    (tmp_path / "bot.sqlite3.timer.lock").unlink()  # now anyone can lock a new file
    assert not lease.alive()
    engine.dispose()


def _take_and_release(engine: Engine) -> bool:
    lease = try_lead(engine=engine, name="timer")
    if lease is None:
        return False
    lease.release()
    return True


def test_a_killed_holder_frees_the_lock(db: Engine, database_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.timer_driver", "hold", database_url, "timer"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert try_lead(engine=db, name="timer") is None
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=WAIT_SECONDS)
        _eventually(lambda: _take_and_release(db), "the killed holder's lock is free")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=WAIT_SECONDS)
        if holder.stdout is not None:
            holder.stdout.close()


# ------------------------------------------------------- the leadership loop


class _FakeLease:
    def __init__(self) -> None:
        self.held = True

    def alive(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False


class _Recorder:
    """Campaign and callbacks of a ``TimerLeadership``, recorded."""

    def __init__(self, *, free: bool) -> None:
        self.free = free
        self.leases: list[_FakeLease] = []
        self.events: list[str] = []
        self.fail_election = False

    def campaign(self) -> _FakeLease | None:
        if not self.free:
            return None
        self.leases.append(_FakeLease())
        return self.leases[-1]

    def elected(self) -> None:
        self.events.append("elected")
        if self.fail_election:
            raise RuntimeError("the timer did not start")

    def deposed(self) -> None:
        self.events.append("deposed")

    def leadership(self) -> TimerLeadership:
        return TimerLeadership(
            campaign=self.campaign,
            on_elected=self.elected,
            on_deposed=self.deposed,
            poll_every=timedelta(hours=1),  # no background round: the test calls check()
        )


def test_a_lost_lease_stops_the_timer_and_the_next_round_campaigns_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = _Recorder(free=False)
    leadership = recorder.leadership()
    with caplog.at_level(logging.INFO, logger="bot.calendar.timer_leader"):
        leadership.start()
        assert not leadership.leading
        recorder.free = True
        leadership.check()
        assert leadership.leading
        recorder.leases[0].held = False  # the connection broke
        leadership.check()
        assert not leadership.leading
        leadership.check()
        assert leadership.leading
        leadership.stop()
        leadership.stop()
    assert recorder.events == ["elected", "deposed", "elected", "deposed"]
    assert not recorder.leases[1].held  # stop released it
    assert [r.getMessage() for r in caplog.records] == [
        "timer leadership taken",
        "timer leadership lost",
        "timer leadership taken",
        "timer leadership released",
    ]


def test_a_timer_that_does_not_start_gives_leadership_up() -> None:
    recorder = _Recorder(free=True)
    recorder.fail_election = True
    leadership = recorder.leadership()
    with pytest.raises(RuntimeError):
        leadership.check()
    assert not leadership.leading
    assert not recorder.leases[0].held
    assert recorder.events == ["elected", "deposed"]


# ------------------------------------------------ schedulers in one process


def _engine(*, url: str, clock: FakeClock, output_dir: Path) -> BotEngine:
    return BotEngine(
        store=Store.open(url=url),
        instruments=load_instruments(),
        roster=Roster(members=MEMBERS),
        clock=clock,
        output_dir=output_dir,
    )


def test_one_scheduler_runs_the_timer_and_a_stop_hands_it_over(
    database_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(start=datetime(2027, 1, 11, 9, tzinfo=AMSTERDAM))
    (key,) = _set_up_teams(url=database_url, clock=clock, output_dir=tmp_path, teams=1)
    engines = [_engine(url=database_url, clock=clock, output_dir=tmp_path) for _ in range(2)]
    schedule = ScheduleStore(engine=engines[0].store.engine)
    due = min(schedule.pings(key=key), key=lambda ping: ping.due_at)
    first, second = (PingScheduler(engine=e, poll_every=POLL) for e in engines)
    try:
        first.start()
        second.start()
        assert first.leading
        assert not second.leading
        first.stop()  # a deploy: the next replica takes over at its next check
        clock.advance(due.due_at - clock.now())  # due while nobody runs the timer
        _eventually(lambda: second.leading, "the second scheduler leads")
        assert not first.leading
        # Its catch-up fired the ping (the hourly re-plan and the ping's job, in
        # real time, are far off).
        _eventually(partial(_all_sent, schedule, {due.id}), "the missed ping is sent")
    finally:
        first.stop()
        second.stop()
        for engine in engines:
            engine.store.close()


# ------------------------------------------------ replicas in processes


def _set_up_teams(*, url: str, clock: FakeClock, output_dir: Path, teams: int) -> list[TeamKey]:
    """Teams with a quickscan round due 22 January 2027, in region midden."""
    engine = _engine(url=url, clock=clock, output_dir=output_dir)
    keys = [TeamKey(platform="console", workspace="w", team=f"t{n}") for n in range(teams)]
    for key in keys:
        for line in ("/quickscan start 22-01-2027", "/quickscan regio midden"):
            engine.handle(
                Inbound(
                    platform=key.platform,
                    workspace=key.workspace,
                    team=key.team,
                    where=Where.TEAM,
                    sender=Sender(user="anna", display_name="Anna"),
                    text=line,
                )
            )
    engine.store.close()
    return keys


class _Replica:
    """``tests/timer_driver.py replica``, its log in a file."""

    def __init__(self, *, url: str, clock_file: Path, home: Path) -> None:
        home.mkdir()
        self.log = home / "log.txt"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.timer_driver",
                    "replica",
                    url,
                    str(clock_file),
                    str(home / "output"),
                    str(POLL.total_seconds()),
                    "0.2",
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def took_over(self) -> int:
        return sum(line.endswith(" timer leadership taken") for line in self.lines())

    def started(self) -> bool:
        return any(line.endswith(" replica started") for line in self.lines())


def _set_clock(path: Path, moment: datetime) -> None:
    """Rewrite the replicas' clock in one step (they may read it at any moment)."""
    draft = path.with_suffix(".new")
    draft.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(draft, path)


def _new_leader(replicas: list[_Replica]) -> list[_Replica]:
    """The replicas still running that took the timer over (one, unless it is broken)."""
    alive = [replica for replica in replicas if replica.process.poll() is None]
    _eventually(lambda: any(r.took_over() for r in alive), "a replica takes over")
    return [replica for replica in alive if replica.took_over()]


def _all_sent(schedule: ScheduleStore, ids: set[str]) -> bool:
    """Whether every ping of ``ids`` was claimed for sending."""
    pings = [schedule.get(ping_id=ping_id) for ping_id in ids]
    return all(ping is not None and ping.status is PingStatus.SENT for ping in pings)


@pytest.mark.postgres
def test_killing_the_timers_replica_hands_over_and_every_ping_goes_out_once(
    fresh_postgres_database: str, tmp_path: Path
) -> None:
    url = fresh_postgres_database
    clock = FakeClock(start=datetime(2027, 1, 11, 9, tzinfo=AMSTERDAM))
    keys = _set_up_teams(url=url, clock=clock, output_dir=tmp_path / "setup", teams=3)
    db = create_engine_for(url=url)
    schedule = ScheduleStore(engine=db)
    pings = [ping for key in keys for ping in schedule.pings(key=key)]
    quickscan = [ping for ping in pings if ping.kind.startswith("quickscan_")]
    moments = sorted({ping.due_at for ping in quickscan})
    assert len(moments) == 3  # two reminders and the close, the same for every team
    with db.connect() as connection:
        before = connection.execute(select(func.max(OutboxMessageRow.id))).scalar_one()

    clock_file = tmp_path / "clock.txt"
    _set_clock(clock_file, datetime(2027, 1, 11, 10, tzinfo=AMSTERDAM))
    replicas = [
        _Replica(url=url, clock_file=clock_file, home=tmp_path / f"replica{n}") for n in range(3)
    ]
    try:
        _eventually(lambda: all(r.started() for r in replicas), "every replica runs")
        leaders = [r for r in replicas if r.took_over()]
        assert len(leaders) == 1
        for step, moment in enumerate(moments):
            if step:
                leader = leaders[-1]
                leader.process.send_signal(signal.SIGKILL)
                leader.process.wait(timeout=WAIT_SECONDS)
            _set_clock(clock_file, moment + timedelta(seconds=1))
            if step:
                leaders += _new_leader(replicas)
            due = {ping.id for ping in quickscan if ping.due_at == moment}
            _eventually(partial(_all_sent, schedule, due), f"step {step}'s pings are sent")
        last = leaders[-1]
        last.process.send_signal(signal.SIGTERM)
        assert last.process.wait(timeout=WAIT_SECONDS) == 0
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.kill()
            replica.process.wait(timeout=WAIT_SECONDS)

    # One leader at a time: three terms, three different replicas, each taking it once.
    assert len(leaders) == len(set(leaders)) == 3
    assert [r.took_over() for r in replicas] == [1, 1, 1]
    assert last.lines()[-1].endswith(" timer leadership released")
    # Every ping fired exactly once over all replicas, and nothing else fired.
    fired: Counter[str] = Counter()
    queued: Counter[str] = Counter()  # messages per team, as the replicas logged them
    team_of = {ping.id: ping.team.team for ping in pings}
    for replica in replicas:
        for match in filter(None, map(FIRED.match, replica.lines())):
            fired[match[2]] += 1
            queued[team_of[match[2]]] += int(match[3])
    assert fired == Counter({ping.id: 1 for ping in quickscan})
    # The outbox holds each fired ping's messages once: per team, what its pings queued.
    with db.connect() as connection:
        rows = dict(
            connection.execute(
                select(OutboxMessageRow.team, func.count())
                .where(OutboxMessageRow.id > before)
                .group_by(OutboxMessageRow.team)
            ).all()
        )
    assert rows == dict(queued)
    assert all(count == rows["t0"] for count in rows.values())
    assert rows["t0"] == 2 * 2 * len(MEMBERS) + 2  # two reminders (text, prompt), a close
    db.dispose()
