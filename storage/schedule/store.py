"""Repository of the ping outbox (see storage/schedule_models.py)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from storage.keys import TeamKey
from storage.models.quickscan import TeamRow
from storage.models.schedule import ScheduledPingRow
from storage.quickscan.queries import team_filter
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

    def sync(self, *, key: TeamKey, planned: Sequence[PlannedPing], now: datetime) -> None:
        """Make the team's future pending pings match the plan.

        Decided pings stay as they are, and so do pending ones already due: a plan
        made after their moment no longer lists them, but they must still go out
        (once) if useful.
        """
        wanted = {ping.id: ping for ping in planned}
        with self._sessions.begin() as session:
            team = session.scalars(select(TeamRow).where(*team_filter(key))).one()
            stored = {
                row.id: row
                for row in session.scalars(
                    select(ScheduledPingRow).where(ScheduledPingRow.team_id == team.id)
                )
            }
            for ping_id, row in stored.items():
                if row.status != PingStatus.PENDING:
                    continue
                plan = wanted.get(ping_id)
                if plan is None and row.due_at <= now:
                    continue  # already due: firing decides (sent, or expired if useless)
                if plan is None:
                    row.status = PingStatus.CANCELLED
                    row.decided_at = now
                else:
                    row.kind = plan.kind
                    row.due_at = plan.due_at
                    row.useful_until = plan.useful_until
                    row.args = json.dumps(dict(plan.args), sort_keys=True)
            for ping_id, plan in wanted.items():
                if ping_id in stored:
                    continue
                session.add(
                    ScheduledPingRow(
                        id=ping_id,
                        team_id=team.id,
                        kind=plan.kind,
                        due_at=plan.due_at,
                        useful_until=plan.useful_until,
                        args=json.dumps(dict(plan.args), sort_keys=True),
                        status=PingStatus.PENDING,
                        decided_at=None,
                    )
                )

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
