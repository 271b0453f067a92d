"""APScheduler around the ping outbox: the timer, never the source of truth.

One APScheduler 3 ``BackgroundScheduler`` keeps one date job per pending ping in
the bot's own database (``SQLAlchemyJobStore``), with the ping's stable id as the
job id, coalescing and a generous misfire grace, so a restart resumes every
scheduled reminder. Whether a ping is sent is decided by the ping's claim
(bot/calendar/reminders.py), so a job that fires twice, late or in two processes
still sends the ping at most once. An hourly job re-plans every team, and a daily
job (and one run at start) deletes personal data past its retention period
(bot/privacy/retention.py; idempotent, so a second process running it too is
harmless).

The scheduler only calls the engine: a fired ping's messages are queued in the
outbox in the ping's own transaction, and each platform's dispatcher sends them,
so a ping for a platform that is not running waits there instead of being lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.core.engine import Engine
from storage.schedule.store import PingStatus, ScheduleStore

log = logging.getLogger(__name__)

MISFIRE_GRACE = timedelta(days=7)
REPLAN_EVERY = timedelta(hours=1)
JOB_TABLE = "apscheduler_jobs"
REPLAN_JOB_ID = "replan-all"
RETENTION_JOB_ID = "retention-daily"
RETENTION_AT = {"hour": 3, "minute": 30}
"""Europe/Amsterdam: a quiet hour, outside school time and the 08:00 pings."""

# APScheduler stores a job's callable by reference; these module-level functions
# reach the running service through this slot (one scheduler per process).
_ACTIVE: dict[str, PingScheduler] = {}


def run_ping(ping_id: str) -> None:
    """APScheduler's job: fire one ping through the active service."""
    service = _ACTIVE.get("service")
    if service is not None:
        service.fire(ping_id=ping_id)


def run_replan() -> None:
    """APScheduler's hourly job: plan every team again and (re)schedule their pings."""
    service = _ACTIVE.get("service")
    if service is not None:
        service.refresh()


def run_retention() -> None:
    """APScheduler's daily job: delete what is past its retention period."""
    service = _ACTIVE.get("service")
    if service is not None:
        service.retention()


class PingScheduler:
    """Keeps APScheduler's jobs in line with the planned pings and fires them when due."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._pings = ScheduleStore(engine=engine.store.engine)
        self._scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=engine.store.engine, tablename=JOB_TABLE)
            },
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
                "max_instances": 1,
            },
            timezone="Europe/Amsterdam",
        )

    def start(self) -> None:
        """Start the timer; pings missed while the bot was down go out now, once."""
        _ACTIVE["service"] = self
        self._scheduler.start()
        self._scheduler.add_job(
            run_replan,
            "interval",
            seconds=int(REPLAN_EVERY.total_seconds()),
            id=REPLAN_JOB_ID,
            replace_existing=True,
        )
        self._scheduler.add_job(
            run_retention, "cron", **RETENTION_AT, id=RETENTION_JOB_ID, replace_existing=True
        )
        self.retention()  # a bot that was down at the job's hour catches up at once
        self.refresh()

    def stop(self) -> None:
        """Stop the timer (jobs stay in the database for the next start); more than once."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if _ACTIVE.get("service") is self:
            _ACTIVE.pop("service")

    def refresh(self) -> None:
        """Re-plan, fire what is due, and schedule a job for every future pending ping."""
        queued = self._engine.tick()
        if queued:
            log.info("re-planned every team: %d messages of due pings queued", len(queued))
        now = self._engine.reminders.now()
        for team in self._engine.store.teams():
            for ping in self._pings.pings(key=team.key):
                if ping.status is not PingStatus.PENDING or ping.due_at <= now:
                    continue
                self._scheduler.add_job(
                    run_ping,
                    "date",
                    run_date=ping.due_at,
                    args=[ping.id],
                    id=ping.id,
                    replace_existing=True,
                )

    def retention(self) -> None:
        """Run the retention job; a failure is logged and retried the next day."""
        try:
            self._engine.run_retention()
        except Exception:  # the timer thread must survive a database outage
            log.exception("retention job failed; it runs again at the next interval")

    def fire(self, *, ping_id: str) -> None:
        """Fire one ping; the engine claims it first and queues its messages in the outbox."""
        self._engine.fire_ping(ping_id=ping_id)  # the reminders log "ping … fired"
