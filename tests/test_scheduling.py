"""APScheduler keeps one persistent job per pending ping; the ping's claim decides firing.

The scheduler only calls the engine: what a ping says is queued in the outbox,
once however often its job runs, and a dispatcher sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from bot.calendar.scheduling import JOB_TABLE, PingScheduler, run_ping
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from bot.delivery.api import Delivery, Limit, SendResult, Sent
from conversations.core.messages import Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.schedule.store import PingStatus, ScheduleStore
from tests.conftest import FakeClock

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TEAM = TeamKey(platform="console", workspace="w", team="t")


class _Recorder:
    """A PlatformSender for the console platform that keeps what it was given."""

    platform = "console"

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        return ()

    def send(self, delivery: Delivery) -> SendResult:
        self.sent.append(delivery.message)
        return Sent()


def _team_in_region_midden(
    *, url: str, clock: FakeClock, output_dir: Path
) -> tuple[Store, Engine]:
    """A store and engine whose team anna set up earlier and put in region midden."""
    store = Store.open(url=url)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=RosterRegistry(),
        clock=clock,
        output_dir=output_dir,
    )
    # anna set the team up earlier (whoever first starts a round is coordinator).
    store.ensure_team(key=TEAM, founder="anna", now=clock())
    engine.handle(
        Inbound(
            platform=TEAM.platform,
            workspace=TEAM.workspace,
            team=TEAM.team,
            where=Where.TEAM,
            sender=Sender(user="anna", display_name="Anna"),
            text="/quickscan regio midden",
        )
    )
    return store, engine


def test_jobs_persist_and_a_ping_fires_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    clock = FakeClock(start=datetime(2026, 11, 23, 9, tzinfo=AMSTERDAM))
    store, engine = _team_in_region_midden(url=url, clock=clock, output_dir=tmp_path)
    scheduler = PingScheduler(engine=engine)
    scheduler.start()
    scheduler.stop()
    scheduler.stop()  # a second stop (signal, then the finally block) is harmless
    pings = ScheduleStore(engine=store.engine)
    pending = {p.id for p in pings.pings(key=TEAM) if p.status is PingStatus.PENDING}
    assert pending
    jobs = {
        job.id
        for job in SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE).get_all_jobs()
    }
    assert pending <= jobs  # survived the stop: a restart resumes every reminder
    sender = _Recorder()
    engine.dispatcher(sender=sender).run_until_idle()
    before = len(sender.sent)  # the re-plan's replies, not a ping

    first = min(pings.pings(key=TEAM), key=lambda p: p.due_at)
    clock.advance(first.due_at - clock.now())
    restarted = PingScheduler(engine=engine)
    restarted.start()  # the job's moment passed while stopped: fired at start
    try:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bot.calendar.scheduling"):
            run_ping(first.id)  # the job runs late anyway, or in a second process:
            run_ping(first.id)  # nothing is queued again
    finally:
        restarted.stop()
    assert pings.get(ping_id=first.id).status is PingStatus.SENT  # type: ignore[union-attr]  # it exists
    assert not [r for r in caplog.records if r.name == "bot.calendar.scheduling"]
    engine.dispatcher(sender=sender).run_until_idle()
    fired = sender.sent[before:]
    assert fired, "the ping's messages were queued and sent"
    shown = [(m.destination, m.text) for m in fired]
    assert len(shown) == len(set(shown)), "each of the ping's messages exactly once"
    store.close()


def test_a_fired_job_queues_the_ping_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(start=datetime(2026, 11, 23, 9, tzinfo=AMSTERDAM))
    store, engine = _team_in_region_midden(
        url=f"sqlite:///{tmp_path / 'fire.sqlite3'}", clock=clock, output_dir=tmp_path
    )
    pings = ScheduleStore(engine=store.engine)
    first = min(pings.pings(key=TEAM), key=lambda p: p.due_at)
    clock.advance(first.due_at - clock.now())
    scheduler = PingScheduler(engine=engine)  # not started: the job calls fire() itself
    with caplog.at_level(logging.INFO, logger="bot.calendar.reminders"):
        scheduler.fire(ping_id=first.id)
        scheduler.fire(ping_id=first.id)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.calendar.reminders"]
    assert len(lines) == 1
    assert lines[0].startswith(f"ping {first.id} fired: ")
    assert lines[0].endswith(" messages queued")
    store.close()
