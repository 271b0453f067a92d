"""Token-bucket states in the database: every replica books the bot's sends in one place.

The platforms limit the bot (Telegram ~30 messages/s, Slack per workspace and
method), not a process, so buckets kept in each process's memory let N replicas
send N times the limit. This repository keeps each bucket's GCRA state in
``rate_buckets`` and runs one change of a set of buckets in ONE short
transaction: the rows are created on first use, locked, handed to the caller's
``plan`` (the arithmetic lives in ``bot.delivery.gcra``; storage only keeps and
locks), and what the plan returns is written back before the commit.

Locking: PostgreSQL creates missing rows with ``INSERT … ON CONFLICT DO
NOTHING`` and then takes ``SELECT … FOR UPDATE``, both in key order, so two
transactions wanting overlapping buckets queue instead of deadlocking; SQLite's
``BEGIN IMMEDIATE`` (``Sessions.begin``) already serialises every writer.

Bucket names carry platform ids (a private chat's id is its member's id), so
rows are keyed by a hash of the name: the table says how busy a bucket is, not
whom it belongs to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from storage.models.delivery import RateBucketRow
from storage.quickscan.queries import rowcount
from storage.transactions import Sessions

T = TypeVar("T")
NEVER = float("-inf")
"""A moment before any other: the state of a bucket that is full and was never paused."""


@dataclass(frozen=True, slots=True)
class BucketState:
    """One bucket's GCRA state (seconds on the buckets' clock).

    Attributes:
        tat: The theoretical arrival time of the next send (``NEVER``: a full bucket).
        paused_until: No send before this moment (``NEVER``: not paused).
    """

    tat: float = NEVER
    paused_until: float = NEVER


FRESH = BucketState()
"""A bucket no send has used yet: full and not paused."""

Plan = Callable[[Mapping[str, BucketState]], tuple[Mapping[str, BucketState], T]]
"""Given the locked buckets' states (missing: fresh), the states to write and a result."""

_TABLE = cast(Table, RateBucketRow.__table__)


def hashed_key(key: str) -> str:
    """The stored name of bucket ``key``: 32 hex digits, the same in every process."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def _stored(value: float) -> float | None:
    return None if value == NEVER else value


def _loaded(tat: float | None, paused_until: float | None) -> BucketState:
    return BucketState(
        tat=NEVER if tat is None else tat,
        paused_until=NEVER if paused_until is None else paused_until,
    )


@cache
def _create_statement(dialect: str) -> Any:
    """INSERT of missing bucket rows (empty, i.e. fresh), skipping the existing ones."""
    inserts = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:
        msg = f"unsupported database dialect {dialect!r}"
        raise NotImplementedError(msg)
    insert: Any = inserts[dialect](_TABLE)
    return insert.on_conflict_do_nothing(index_elements=["key"])


_WRITE_BACK = (
    update(_TABLE)
    .where(_TABLE.c.key == bindparam("stored_key"))
    .values(tat=bindparam("new_tat"), paused_until=bindparam("new_paused_until"))
)


class RateBucketStore:
    """Reads and changes bucket states; each change is one short transaction."""

    def __init__(self, *, engine: Engine) -> None:
        """Use the store's (migrated) engine."""
        self._engine = engine
        self._sessions = Sessions(engine)

    def read(self, *, keys: Collection[str]) -> dict[str, BucketState]:
        """The current states of ``keys`` (fresh for a bucket never used), locking nothing."""
        names = {hashed_key(key): key for key in keys}
        states = dict.fromkeys(keys, FRESH)
        if not names:
            return states
        with self._sessions.begin() as session:
            rows = session.execute(
                select(_TABLE.c.key, _TABLE.c.tat, _TABLE.c.paused_until).where(
                    _TABLE.c.key.in_(names)
                )
            ).all()
        for stored_key, tat, paused_until in rows:
            states[names[stored_key]] = _loaded(tat, paused_until)
        return states

    def change(self, *, keys: Collection[str], plan: Plan[T]) -> T:
        """Lock ``keys``' buckets, let ``plan`` decide, write its states back; its result.

        ``plan`` runs inside the transaction, after the locks are taken: it must
        read its clock there (a moment read before waiting for a lock is stale)
        and do nothing slow. The states it returns may name only ``keys``.
        """
        names = {hashed_key(key): key for key in keys}
        if not names:
            return plan({})[1]
        ordered = sorted(names)
        with self._sessions.begin() as session:
            connection = session.connection()
            rows = self._lock(connection, ordered)
            current = dict.fromkeys(names.values(), FRESH)
            for stored_key, tat, paused_until in rows:
                current[names[stored_key]] = _loaded(tat, paused_until)
            changed, result = plan(current)
            unknown = set(changed) - set(current)
            if unknown:
                msg = f"a plan changed {len(unknown)} bucket(s) it did not lock"
                raise ValueError(msg)
            writes = [
                {
                    "stored_key": hashed_key(key),
                    "new_tat": _stored(state.tat),
                    "new_paused_until": _stored(state.paused_until),
                }
                for key, state in sorted(changed.items())
                if state != current[key]
            ]
            if writes:
                connection.execute(_WRITE_BACK, writes)
        return result

    def _lock(self, connection: Connection, ordered: list[str]) -> list[Any]:
        """Create the missing rows and lock them all, in key order (no deadlock)."""
        connection.execute(
            _create_statement(connection.dialect.name), [{"key": key} for key in ordered]
        )
        query = (
            select(_TABLE.c.key, _TABLE.c.tat, _TABLE.c.paused_until)
            .where(_TABLE.c.key.in_(ordered))
            .order_by(_TABLE.c.key)
        )
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        return list(connection.execute(query).all())

    def purge(self, *, idle_before: float) -> int:
        """Delete buckets with nothing booked or paused after ``idle_before``; the count.

        Such a bucket is as full as a fresh one (its tolerance is far below the
        idle time the retention job uses), so deleting it changes no send: the
        table only keeps the buckets that are in use.
        """
        with self._sessions.begin() as session:
            result = session.execute(
                delete(RateBucketRow)
                .where(
                    func.coalesce(RateBucketRow.tat, idle_before) <= idle_before,
                    or_(
                        RateBucketRow.paused_until.is_(None),
                        RateBucketRow.paused_until <= idle_before,
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)
