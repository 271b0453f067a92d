"""The outbox: every message the bot sends is a row first, in the transaction that causes it.

The engine queues rows inside the unit of work of the event (``add`` joins it), so
a message exists exactly when the state change that caused it was committed. A
platform's dispatcher claims rows, sends them and records the outcome; a claim is a
lease, so a process that dies mid-send only delays its rows until the lease runs
out, and another process sends them. That is at least once: the dedupe key queues
a message once however often its cause is retried, and only a send whose outcome
was never recorded (a crash right after it) can happen twice.

Per-chat order: every row has a lane (its chat: ``p/w/team/<team>``,
``p/w/dm/<user>``, ``p/w/eph/<team>/<user>``), and only the oldest unsent row of a
lane can be claimed. A lane waiting for a retry holds up only itself.

Contents are personal data: ``body`` and ``origin`` are sealed with the
``FieldCipher`` when one is configured and cleared once a row is sent or failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from storage.crypto import FieldCipher
from storage.db import checkpoint
from storage.delivery.records import (
    KINDS,
    NewOutboxRow,
    OutboxItem,
    OutboxStats,
    OutboxStatus,
    lane_of,
)
from storage.models.delivery import OutboxMessageRow
from storage.quickscan.queries import rowcount
from storage.transactions import Sessions

__all__ = [
    "KINDS",
    "NewOutboxRow",
    "OutboxItem",
    "OutboxStats",
    "OutboxStatus",
    "OutboxStore",
    "lane_of",
]


_PENDING = OutboxStatus.PENDING.value
_SENT = OutboxStatus.SENT.value
_FAILED = OutboxStatus.FAILED.value


@cache
def _queue_statement(dialect: str) -> Any:
    """INSERT of one outbox row (its values as parameters) unless its key is queued.

    Built once per dialect on the table (a Core statement): building a statement
    costs more than running it, and every message the bot sends runs it.
    """
    inserts = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:
        msg = f"unsupported database dialect {dialect!r}"
        raise NotImplementedError(msg)
    table = cast(Table, OutboxMessageRow.__table__)
    insert: Any = inserts[dialect](table)
    return insert.on_conflict_do_nothing(
        index_elements=["platform", "workspace", "dedupe_key"]
    ).returning(table.c.id)


def _finished(now: datetime) -> dict[str, Any]:
    """The columns of a row that is done: what it said, and to whom, is gone.

    The member's id goes too (``user`` and the DM lane name it): a sent message is
    kept only as the fact that something went to a chat, until retention.
    """
    return {
        "body": None,
        "origin": "{}",
        "user": None,
        "lane": "",
        "finished_at": now,
        "claimed_by": None,
        "claimed_until": None,
    }


class OutboxStore:
    """Rows in, claims out; every write joins the ambient unit of work if one is open."""

    def __init__(self, *, engine: Engine, cipher: FieldCipher | None = None) -> None:
        """Use the store's (migrated) engine; ``cipher`` seals contents at rest."""
        self._engine = engine
        self._cipher = cipher if cipher is not None else FieldCipher()
        self._sessions = Sessions(engine)

    def add(self, *, rows: Sequence[NewOutboxRow], now: datetime) -> int:
        """Queue rows (skipping a dedupe_key already queued); the number queued.

        One INSERT per row, in the given order: ids (and so the order within each
        lane) follow the order the engine decided. A key queued before, in this
        batch or any earlier one of the workspace, is skipped: an invitation is
        queued once whatever is retried or redelivered.
        """
        if not rows:
            return 0
        values = [self._values(row, now=now) for row in rows]  # validates before writing
        queued = 0
        statement = _queue_statement(self._engine.dialect.name)
        with self._sessions.begin() as session:
            for row in values:
                if session.execute(statement, row).first() is not None:
                    queued += 1
        return queued

    def _values(self, row: NewOutboxRow, *, now: datetime) -> dict[str, Any]:
        return {
            "platform": row.platform,
            "workspace": row.workspace,
            "team": row.team,
            "kind": row.kind,
            "user": row.user,
            "lane": lane_of(
                platform=row.platform,
                workspace=row.workspace,
                team=row.team,
                kind=row.kind,
                user=row.user,
            ),
            "body": self._cipher.seal(row.body),
            "origin": self._cipher.seal(row.origin),
            "dedupe_key": None if row.dedupe_key is None else self._dedupe(row.dedupe_key),
            "status": _PENDING,
            "attempts": 0,
            "not_before": now,
            "created_at": now,
        }

    def _dedupe(self, key: str) -> str:
        """The stored form of a dedupe key: a hash, since keys may name a member.

        Keyed (the cipher's lookup key) when encryption is on, so the stored value
        cannot be tested against guessed ids; a plain SHA-256 otherwise, which still
        keeps ids out of the file's bytes.
        """
        if self._cipher.enabled:
            return self._cipher.lookup_key(key)
        return "s1:" + hashlib.sha256(key.encode("utf-8")).hexdigest()

    def claim(
        self, *, platform: str, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows, unclaimed (or lease expired), first in their lane.

        Oldest first. On PostgreSQL rows another worker is claiming right now are
        skipped (``FOR UPDATE SKIP LOCKED``), so workers never wait for each other
        or take the same row; on SQLite the transaction's write lock serialises
        claims. A lane whose oldest row is claimed or waiting gives nothing.
        """
        if limit <= 0:
            return []
        earlier = aliased(OutboxMessageRow)
        head = (
            select(func.min(earlier.id))
            .where(earlier.lane == OutboxMessageRow.lane, earlier.status == _PENDING)
            .scalar_subquery()
        )
        query = (
            select(OutboxMessageRow)
            .where(
                OutboxMessageRow.status == _PENDING,
                OutboxMessageRow.platform == platform,
                OutboxMessageRow.not_before <= now,
                or_(
                    OutboxMessageRow.claimed_until.is_(None),
                    OutboxMessageRow.claimed_until <= now,
                ),
                OutboxMessageRow.id == head,
            )
            .order_by(OutboxMessageRow.id)
            .limit(limit)
        )
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxMessageRow)
        with self._sessions.begin() as session:
            rows = list(session.scalars(query))
            if not rows:
                return []
            session.execute(
                update(OutboxMessageRow)
                .where(OutboxMessageRow.id.in_([row.id for row in rows]))
                .values(
                    claimed_by=owner,
                    claimed_until=now + lease,
                    attempts=OutboxMessageRow.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            return [self._item(row, attempts=row.attempts + 1) for row in rows]

    def _item(self, row: OutboxMessageRow, *, attempts: int) -> OutboxItem:
        return OutboxItem(
            id=row.id,
            platform=row.platform,
            workspace=row.workspace,
            team=row.team,
            kind=row.kind,
            user=row.user,
            body=self._cipher.open(row.body or ""),
            origin=self._cipher.open(row.origin),
            attempts=attempts,
            created_at=row.created_at,
        )

    def _update_claimed(
        self, *, item_id: int, owner: str, values: dict[str, Any], done: bool
    ) -> bool:
        """Update a row this owner holds the claim of; False if the claim was lost.

        A row that is ``done`` and named a member is then pushed out of SQLite's WAL
        and old pages (``db.checkpoint``, after the commit): the id and the text must
        not outlive the row's clearing on disk, least of all the confirmation of an
        erasure.
        """
        with self._sessions.begin() as session:
            user = session.scalar(
                select(OutboxMessageRow.user).where(OutboxMessageRow.id == item_id)
            )
            result = session.execute(
                update(OutboxMessageRow)
                .where(
                    OutboxMessageRow.id == item_id,
                    OutboxMessageRow.status == _PENDING,
                    OutboxMessageRow.claimed_by == owner,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            finished = rowcount(result) == 1
        if done and finished and user is not None:
            checkpoint(engine=self._engine)
        return finished

    def mark_sent(self, *, item_id: int, owner: str, now: datetime) -> bool:
        """Delivered: status sent, content cleared. False if the claim was lost."""
        return self._update_claimed(
            item_id=item_id,
            owner=owner,
            values={**_finished(now), "status": _SENT, "error": None},
            done=True,
        )

    def release(
        self, *, item_id: int, owner: str, not_before: datetime, error: str | None
    ) -> bool:
        """Give the row back for another attempt at ``not_before`` (429, transient error).

        ``error`` is the failure's code; None means the row goes back untried (its
        slot in a rate limit had not come, or the dispatcher is stopping), and the
        claim does not count as an attempt. False if the claim was lost.
        """
        values: dict[str, Any] = {
            "not_before": not_before,
            "claimed_by": None,
            "claimed_until": None,
        }
        if error is None:
            values["attempts"] = case(
                (OutboxMessageRow.attempts > 0, OutboxMessageRow.attempts - 1), else_=0
            )
        else:
            values["error"] = error
        return self._update_claimed(item_id=item_id, owner=owner, values=values, done=False)

    def release_claims(self, *, platform: str) -> int:
        """Free every claim on ``platform``'s unsent rows; the number freed.

        Only for the one process that alone delivers a platform (the console, at
        its start): a claim found then was left by a run that was killed while
        printing, and waiting out its lease would leave that chat silent until
        the next line. Multi-process platforms rely on leases instead.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                update(OutboxMessageRow)
                .where(
                    OutboxMessageRow.status == _PENDING,
                    OutboxMessageRow.platform == platform,
                    OutboxMessageRow.claimed_by.is_not(None),
                )
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)

    def fail(self, *, item_id: int, owner: str, now: datetime, error: str) -> bool:
        """It will never be delivered: status failed, content cleared, error code kept."""
        return self._update_claimed(
            item_id=item_id,
            owner=owner,
            values={**_finished(now), "status": _FAILED, "error": error},
            done=True,
        )

    def retarget_team(self, *, platform: str, workspace: str, old_team: str, new_team: str) -> int:
        """A chat moved (Telegram supergroup): its unsent rows now go to ``new_team``.

        Their lanes move along (a direct message's lane names no team and stays),
        so they keep their order ahead of rows queued for the new chat since.
        Idempotent: the engine and the dispatcher may both do it.

        Returns:
            How many rows moved.
        """
        scope = (
            OutboxMessageRow.platform == platform,
            OutboxMessageRow.workspace == workspace,
            OutboxMessageRow.team == old_team,
            OutboxMessageRow.status == _PENDING,
        )
        prefix = f"{platform}/{workspace}"
        with self._sessions.begin() as session:
            moved = 0
            for kind, lane in (
                ("team", literal(f"{prefix}/team/{new_team}")),
                ("ephemeral", literal(f"{prefix}/eph/{new_team}/") + OutboxMessageRow.user),
                ("dm", OutboxMessageRow.lane),
            ):
                result = session.execute(
                    update(OutboxMessageRow)
                    .where(*scope, OutboxMessageRow.kind == kind)
                    .values(team=new_team, lane=lane)
                    .execution_options(synchronize_session=False)
                )
                moved += rowcount(result)
            return moved

    def stats(self, *, platform: str | None = None) -> OutboxStats:
        """Pending rows and the oldest one's age."""
        query = select(func.count(OutboxMessageRow.id), func.min(OutboxMessageRow.created_at))
        query = query.where(OutboxMessageRow.status == _PENDING)
        if platform is not None:
            query = query.where(OutboxMessageRow.platform == platform)
        with self._sessions.begin() as session:
            pending, oldest = session.execute(query).one()
        return OutboxStats(pending=pending, oldest_created_at=oldest)

    def forget_user(self, *, platform: str, workspace: str, user: str) -> int:
        """Delete every row to a member (the right to erasure), sent or not.

        Messages still waiting for a member who asked to be forgotten are not sent;
        call it before queueing the confirmation of the erasure, in the same unit of
        work. Rows to the team stay: they are the team's.

        Returns:
            How many rows were deleted.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                delete(OutboxMessageRow)
                .where(
                    OutboxMessageRow.platform == platform,
                    OutboxMessageRow.workspace == workspace,
                    OutboxMessageRow.user == user,
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)

    def purge(self, *, before: datetime) -> int:
        """Delete sent and failed rows finished before ``before`` (retention).

        A purged row's dedupe key can be queued again; retention keeps rows far
        longer than any platform redelivers an event or a round stays open.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                delete(OutboxMessageRow)
                .where(
                    OutboxMessageRow.status.in_([_SENT, _FAILED]),
                    OutboxMessageRow.finished_at < before,
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)
