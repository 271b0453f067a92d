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

Every replica of the bot builds this service, but only one runs APScheduler: the
one holding the database's timer lock (bot/calendar/timer_leader.py). Taking the
lock starts the timer and catches up (retention, re-plan, and every due ping
fired), so the pings a dead leader did not fire go out once, from the new leader.

The scheduler only calls the engine: a fired ping's messages are queued in the
outbox in the ping's own transaction, and each platform's dispatcher sends them,
so a ping for a platform that is not running waits there instead of being lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.calendar.timer_leader import POLL_EVERY, TimerLeadership
from bot.core.engine import Engine
from storage.leader import Lease, try_lead
from storage.schedule.store import PingStatus, ScheduleStore

log = logging.getLogger(__name__)

MISFIRE_GRACE = timedelta(days=7)
REPLAN_EVERY = timedelta(hours=1)
JOB_TABLE = "apscheduler_jobs"
REPLAN_JOB_ID = "replan-all"
RETENTION_JOB_ID = "retention-daily"
RETENTION_AT = {"hour": 3, "minute": 30}
"""Europe/Amsterdam: a quiet hour, outside school time and the 08:00 pings."""
LEADER_LOCK = "ping-timer"
"""The name of the lock whose holder runs the timer (storage/leader.py)."""

# APScheduler stores a job's callable by reference; these module-level functions
# reach the running service through this slot (set while this process leads).
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
    """Keeps APScheduler's jobs in line with the planned pings and fires them when due.

    ``poll_every`` is how often this replica checks its timer leadership (takeover
    time after a leader dies); ``replan_every`` is the re-plan job's interval.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        poll_every: timedelta = POLL_EVERY,
        replan_every: timedelta = REPLAN_EVERY,
    ) -> None:
        self._engine = engine
        self._pings = ScheduleStore(engine=engine.store.engine)
        self._replan_every = replan_every
        self._scheduler: BackgroundScheduler | None = None  # only while this replica leads
        self._leadership = TimerLeadership(
            campaign=self._campaign,
            on_elected=self._run_timer,
            on_deposed=self._stop_timer,
            poll_every=poll_every,
        )

    @property
    def leading(self) -> bool:
        """Whether this replica runs the timer."""
        return self._leadership.leading

    def start(self) -> None:
        """Start the timer, or wait to take it over; missed pings go out now, once.

        The first attempt at leadership runs now (its errors propagate), so a single
        replica has caught up when this returns; the checks go on in a daemon thread.
        """
        self._leadership.start()

    def stop(self) -> None:
        """Stop the timer and hand leadership over (jobs stay in the database for the
        next leader); more than once is harmless."""
        self._leadership.stop()

    def _campaign(self) -> Lease | None:
        return try_lead(engine=self._engine.store.engine, name=LEADER_LOCK)

    def _run_timer(self) -> None:
        """This replica became the leader: start APScheduler and catch up."""
        # A fresh scheduler per term: one that was shut down is not started again.
        scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(
                    engine=self._engine.store.engine, tablename=JOB_TABLE
                )
            },
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
                "max_instances": 1,
            },
            timezone="Europe/Amsterdam",
        )
        _ACTIVE["service"] = self
        self._scheduler = scheduler
        scheduler.start()
        scheduler.add_job(
            run_replan,
            "interval",
            seconds=self._replan_every.total_seconds(),
            id=REPLAN_JOB_ID,
            replace_existing=True,
        )
        scheduler.add_job(
            run_retention, "cron", **RETENTION_AT, id=RETENTION_JOB_ID, replace_existing=True
        )
        self.retention()  # a bot that was down at the job's hour catches up at once
        self.refresh()  # and so do the pings the previous leader did not fire

    def _stop_timer(self) -> None:
        """This replica no longer leads (stopped, or its lock was lost)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        if _ACTIVE.get("service") is self:
            _ACTIVE.pop("service")

    def refresh(self) -> None:
        """Re-plan, fire what is due, and schedule a job for every future pending ping."""
        queued = self._engine.tick()
        if queued:
            log.info("re-planned every team: %d messages of due pings queued", len(queued))
        scheduler = self._scheduler
        if scheduler is None:
            return  # not the leader (any more): the leader schedules the jobs
        now = self._engine.reminders.now()
        for team in self._engine.store.teams():
            for ping in self._pings.pings(key=team.key):
                if ping.status is not PingStatus.PENDING or ping.due_at <= now:
                    continue
                scheduler.add_job(
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
