"""The daily retention job: personal data is deleted once its period has passed.

What goes and when is the policy (bot/retention_policy.py, docs/privacy.md):
individual answers and open texts of rounds closed more than
``QUICKSCAN_RETENTION_MONTHS`` ago (their published result stays as a snapshot),
platform delivery ids after ``QUICKSCAN_EVENT_RETENTION_DAYS``, checklist pupil
data after 1 August of its school year (``ChecklistStore.purge_expired``), and
chart/export files and idle rate-limit buckets after a day. Every step is an
idempotent conditional delete, so the APScheduler job, the console's ``@clock``
and a second process may all run it without harm. Afterwards SQLite's WAL is
checkpointed, so what was deleted can no longer be read from the WAL file either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.privacy.files import sweep
from bot.privacy.policy import RetentionPolicy
from storage import db
from storage.delivery.rate_buckets import RateBucketStore
from storage.privacy.retention import RetentionStore
from storage.quickscan.records import Round, Team
from storage.quickscan.store import Store

log = logging.getLogger(__name__)

RUN_EVERY = timedelta(days=1)
BUCKETS_IDLE = timedelta(days=1)
"""A token bucket unused this long is full again: its row goes (a new one starts full)."""


class Snapshots(Protocol):
    """Freezes a closed round's result before its answers go (bot/results.py)."""

    def ensure_snapshot(self, *, team: Team, round_: Round) -> None:
        """Store the round's snapshot if it has none yet (rounds closed before snapshots)."""
        ...


class ChecklistPurge(Protocol):
    """The checklist's end-of-school-year deletion (storage/checklist_store.py)."""

    def purge_expired(self, *, now: datetime) -> int:
        """Delete pupil data past 1 August of its school year; returns pupils deleted."""
        ...


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run deleted: counts only, never what the rows said."""

    rounds: int = 0
    participations: int = 0
    answers: int = 0
    events: int = 0
    pupils: int = 0
    files: int = 0
    rate_buckets: int = 0


class Retention:
    """Runs the deletions of the retention policy against one database and output folder."""

    def __init__(
        self,
        *,
        store: Store,
        snapshots: Snapshots,
        checklist: ChecklistPurge,
        output_dir: Path,
        policy: RetentionPolicy,
    ) -> None:
        self._store = store
        self._retention = RetentionStore(engine=store.engine)
        self._buckets = RateBucketStore(engine=store.engine)
        self._snapshots = snapshots
        self._checklist = checklist
        self._output_dir = output_dir
        self.policy = policy
        self._last_run: datetime | None = None

    def run_if_due(self, *, now: datetime) -> RetentionReport | None:
        """Run when the last run in this process is a day old (the console's ``@clock``).

        A simulated clock jumping a year ahead runs it once, as the real daily job
        would have caught up in one go.
        """
        if self._last_run is not None and now - self._last_run < RUN_EVERY:
            return None
        return self.run(now=now)

    def run(self, *, now: datetime) -> RetentionReport:
        """Delete everything past its period, then checkpoint SQLite's WAL."""
        self._last_run = now
        rounds = participations = answers = 0
        closed_before = self.policy.answers_closed_before(now)
        for expired in self._retention.expired_rounds(closed_before=closed_before):
            team = self._store.get_team(key=expired.team)
            round_ = self._store.get_round(key=expired.team, round_id=expired.round_id)
            if team is None or round_ is None:  # deleted meanwhile by another process
                continue
            self._freeze(team=team, round_=round_)
            purged = self._retention.purge_round(round_id=round_.id, closed_before=closed_before)
            rounds += 1
            participations += purged.participations
            answers += purged.answers
        report = RetentionReport(
            rounds=rounds,
            participations=participations,
            answers=answers,
            events=self._retention.purge_events(seen_before=self.policy.events_seen_before(now)),
            pupils=self._checklist.purge_expired(now=now),
            files=sweep(self._output_dir, now=now, max_age=self.policy.output_age),
            rate_buckets=self._buckets.purge(idle_before=(now - BUCKETS_IDLE).timestamp()),
        )
        db.checkpoint(engine=self._store.engine)
        log.info(
            "retention: %d rounds (%d participations, %d answers), %d event ids, "
            "%d pupils, %d files, %d idle rate buckets deleted",
            report.rounds,
            report.participations,
            report.answers,
            report.events,
            report.pupils,
            report.files,
            report.rate_buckets,
        )
        return report

    def _freeze(self, *, team: Team, round_: Round) -> None:
        """Snapshot a round closed before snapshots existed, before its answers go.

        A round whose instrument file is no longer installed cannot be merged; its
        answers are deleted all the same, because the retention period is a promise
        to the members, and the log says which round lost its result.
        """
        try:
            self._snapshots.ensure_snapshot(team=team, round_=round_)
        except LookupError:
            log.warning(
                "retention: round %d (instrument %s) could not be frozen; answers deleted",
                round_.id,
                round_.instrument_id,
            )
