"""APScheduler keeps one persistent job per pending ping; the outbox decides sending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from bot.calendar.scheduling import JOB_TABLE, PingScheduler, run_ping
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.core.messages import Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.schedule.store import PingStatus, ScheduleStore
from tests.conftest import FakeClock

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TEAM = TeamKey(platform="console", workspace="w", team="t")


def test_jobs_persist_and_a_ping_fires_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    clock = FakeClock(start=datetime(2026, 11, 23, 9, tzinfo=AMSTERDAM))
    store = Store.open(url=url)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=RosterRegistry(),
        clock=clock,
        output_dir=tmp_path,
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
    delivered: list[tuple[TeamKey, Sequence[Outbound]]] = []
    scheduler = PingScheduler(engine=engine, deliver=lambda t, m: delivered.append((t, m)))
    scheduler.start()
    scheduler.stop()
    outbox = ScheduleStore(engine=store.engine)
    pending = {p.id for p in outbox.pings(key=TEAM) if p.status is PingStatus.PENDING}
    assert pending
    jobs = {
        job.id
        for job in SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE).get_all_jobs()
    }
    assert pending <= jobs  # survived the stop: a restart resumes every reminder

    first = min(outbox.pings(key=TEAM), key=lambda p: p.due_at)
    clock.advance(first.due_at - clock.now())
    restarted = PingScheduler(engine=engine, deliver=lambda t, m: delivered.append((t, m)))
    restarted.start()
    try:
        run_ping(first.id)
        run_ping(first.id)  # a second firing (misfire, second process) sends nothing
    finally:
        restarted.stop()
    assert outbox.get(ping_id=first.id).status is PingStatus.SENT  # type: ignore[union-attr]  # it exists
    assert sum(team == TEAM for team, _messages in delivered) == 1
    store.close()
