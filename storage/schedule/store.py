"""Repository of the ping outbox (see storage/schedule_models.py)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Update, and_, or_, select, update
from sqlalchemy.engine import Engine

from storage.keys import TeamKey
from storage.models.quickscan import TeamRow
from storage.models.schedule import ScheduledPingRow
from storage.quickscan.queries import dialect_insert, team_filter
from storage.transactions import Sessions


class PingStatus(enum.StrEnum):
    """Where a ping is in its life; only ``pending`` ever changes."""

    PENDING = "pending"
    SENT = "sent"  # claimed for sending: never sent again
    EXPIRED = "expired"  # due while the bot was down and no longer useful
    CANCELLED = "cancelled"  # no longer in the plan (a setting changed)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedPing:
    """A ping the planner wants: its id is stable, so planning twice changes nothing."""

    id: str
    kind: str
    due_at: datetime
    useful_until: datetime
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """A stored ping with its team and status."""

    id: str
    team: TeamKey
    kind: str
    due_at: datetime
    useful_until: datetime
    args: Mapping[str, Any]
    status: PingStatus


class ScheduleStore:
    """Plans, lists and claims pings; every claim is one conditional UPDATE."""

    def __init__(self, *, engine: Engine) -> None:
        self._sessions = Sessions(engine)

    def hold(self, *, key: TeamKey) -> None:
        """Take the team's plan for this transaction: call it before reading what to plan.

        A re-plan reads the team's settings and round, then writes pings; two of
        them in different replicas must not interleave, or the one that read the
        older settings could write last. PostgreSQL locks the team's row (``FOR NO
        KEY UPDATE``: a settings change waits, a new round's foreign key does not);
        on SQLite ``BEGIN IMMEDIATE`` already holds the only write lock. Call it
        inside the unit of work that syncs: outside one the lock ends at once.
        """
        with self._sessions.begin() as session:
            session.execute(
                select(TeamRow.id).where(*team_filter(key)).with_for_update(key_share=True)
            )

    def sync(self, *, key: TeamKey, planned: Sequence[PlannedPing], now: datetime) -> None:
        """Make the team's future pending pings match the plan.

        Decided pings stay as they are, and so do pending ones already due: a plan
        made after their moment no longer lists them, but they must still go out
        (once) if useful. A cancelled ping that the plan wants again while still
        in the future is pending again (a region changed there and back).

        Written without reading first: one UPDATE cancels what the plan dropped and
        one ``INSERT … ON CONFLICT`` adds or refreshes what it lists, so two
        replicas re-planning the same team at once (a setting changed, the hourly
        tick, a round started) both succeed and the last commit's plan stands.
        """
        wanted = {ping.id: ping for ping in planned}
        with self._sessions.begin() as session:
            team_id = session.scalars(select(TeamRow.id).where(*team_filter(key))).one()
            cancel: Update = (
                update(ScheduledPingRow)
                .where(
                    ScheduledPingRow.team_id == team_id,
                    ScheduledPingRow.status == PingStatus.PENDING.value,
                    ScheduledPingRow.due_at > now,
                    ScheduledPingRow.id.not_in(list(wanted)),
                )
                .values(status=PingStatus.CANCELLED.value, decided_at=now)
                .execution_options(synchronize_session=False)
            )
            session.execute(cancel)
            if not wanted:
                return
            rows = [
                {
                    "id": ping.id,
                    "team_id": team_id,
                    "kind": ping.kind,
                    "due_at": ping.due_at,
                    "useful_until": ping.useful_until,
                    "args": json.dumps(dict(ping.args), sort_keys=True),
                    "status": PingStatus.PENDING.value,
                    "decided_at": None,
                }
                for ping in wanted.values()
            ]
            session.execute(_upsert(self._sessions.engine, rows, now=now))

    def due(self, *, now: datetime) -> list[Ping]:
        """Pending pings of every team that are due, oldest first."""
        return self._select(
            ScheduledPingRow.status == PingStatus.PENDING, ScheduledPingRow.due_at <= now
        )

    def pings(self, *, key: TeamKey) -> list[Ping]:
        """All of one team's pings, by due time (for `quickscan kalender`)."""
        return self._select(*team_filter(key))

    def get(self, *, ping_id: str) -> Ping | None:
        """One ping by id."""
        found = self._select(ScheduledPingRow.id == ping_id)
        return found[0] if found else None

    def claim(self, *, ping_id: str, status: PingStatus, now: datetime) -> bool:
        """Decide a pending ping (sent or expired); False if someone decided it already.

        This is the at-most-once point: the UPDATE only succeeds while the row is
        still pending, whichever process or thread gets there first.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                update(ScheduledPingRow)
                .where(
                    ScheduledPingRow.id == ping_id,
                    ScheduledPingRow.status == PingStatus.PENDING,
                )
                .values(status=status.value, decided_at=now)
            )
            return bool(getattr(result, "rowcount", 0))

    def _select(self, *where: Any) -> list[Ping]:
        with self._sessions.begin() as session:
            rows = session.execute(
                select(ScheduledPingRow, TeamRow)
                .join(TeamRow, TeamRow.id == ScheduledPingRow.team_id)
                .where(*where)
                .order_by(ScheduledPingRow.due_at, ScheduledPingRow.id)
            ).all()
            return [
                Ping(
                    id=ping.id,
                    team=TeamKey(
                        platform=team.platform, workspace=team.workspace, team=team.team_ref
                    ),
                    kind=ping.kind,
                    due_at=ping.due_at,
                    useful_until=ping.useful_until,
                    args=json.loads(ping.args or "{}"),
                    status=PingStatus(ping.status),
                )
                for ping, team in rows
            ]


def _upsert(engine: Engine, rows: list[dict[str, Any]], *, now: datetime) -> Any:
    """INSERT the planned pings; an existing one takes the plan's values if still open.

    "Open" is pending, or cancelled with its moment still ahead; a sent or expired
    ping is decided for good, and one cancelled whose moment passed stays cancelled
    rather than firing late.
    """
    insert = dialect_insert(engine, ScheduledPingRow).values(rows)
    reopenable = or_(
        ScheduledPingRow.status == PingStatus.PENDING.value,
        and_(ScheduledPingRow.status == PingStatus.CANCELLED.value, insert.excluded.due_at > now),
    )
    return insert.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "kind": insert.excluded.kind,
            "due_at": insert.excluded.due_at,
            "useful_until": insert.excluded.useful_until,
            "args": insert.excluded.args,
            "status": PingStatus.PENDING.value,
            "decided_at": None,
        },
        where=reopenable,
    )
