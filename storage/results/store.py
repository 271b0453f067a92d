"""The frozen team results of closed rounds (table ``round_results``).

A closed round's result is computed once, at close, with the minimum and
thresholds that applied then, and stored here as JSON; every later view reads it
instead of the answers (docs/team-result.md). So a lowered minimum never opens
an old round, and the snapshot outlives the individual answers that retention or
"vergeet mij" delete.

The snapshot is opaque JSON to this module except for one member, ``fingerprints``
(:data:`FINGERPRINTS`): keyed hashes of who responded, which the round-to-round
comparison needs and :meth:`ResultStore.forget_member` must be able to remove.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from storage.keys import TeamKey
from storage.models.quickscan import RoundResultRow, RoundRow, TeamRow
from storage.quickscan.queries import dialect_insert, rowcount, team_filter
from storage.transactions import Sessions

FINGERPRINTS = "fingerprints"
"""Snapshot member: ``{"salt": hex, "hashes": [hex, ...], "forgotten": int}``."""


def member_identity(*, platform: str, workspace: str, user: str) -> str:
    """The member identity that is fingerprinted (unit separators: no ambiguity)."""
    return f"{platform}\x1f{workspace}\x1f{user}"


def fingerprint(*, salt: str, member: str) -> str:
    """HMAC-SHA256 of a member identity under a snapshot's random salt.

    Pseudonymous, not anonymous: whoever holds the database and a member id can
    test whether that member responded in a round (the participations say as much
    until retention deletes them). The answers are not in the snapshot.
    """
    return hmac.new(bytes.fromhex(salt), member.encode("utf-8"), hashlib.sha256).hexdigest()


class ResultStore:
    """Saves, loads and edits result snapshots; one short transaction per method."""

    def __init__(self, *, engine: Engine) -> None:
        """Wrap an engine whose schema is migrated (the store's engine)."""
        self._engine = engine
        self._sessions = Sessions(engine)

    def save_if_absent(self, *, round_id: int, snapshot: str, now: datetime) -> bool:
        """Store a round's snapshot unless it has one; True if this call stored it.

        ``ON CONFLICT DO NOTHING`` on the primary key: when two processes close the
        same round at once, the first snapshot wins and the second is dropped, so
        every view of the round shows the same thing.
        """
        statement = (
            dialect_insert(self._engine, RoundResultRow)
            .values(round_id=round_id, snapshot=snapshot, created_at=now)
            .on_conflict_do_nothing(index_elements=["round_id"])
            .returning(RoundResultRow.round_id)
        )
        with self._sessions.begin() as session:
            return session.execute(statement).first() is not None

    def load(self, *, key: TeamKey, round_id: int) -> str | None:
        """The snapshot JSON of one of the team's rounds; None if it has none."""
        with self._sessions.begin() as session:
            stored: str | None = session.scalars(
                select(RoundResultRow.snapshot)
                .join(RoundRow, RoundRow.id == RoundResultRow.round_id)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(RoundResultRow.round_id == round_id, *team_filter(key))
            ).one_or_none()
            return stored

    def has_snapshot(self, *, round_id: int) -> bool:
        """Whether the round's result is frozen (retention deletes answers only then)."""
        with self._sessions.begin() as session:
            found = session.scalars(
                select(RoundResultRow.round_id).where(RoundResultRow.round_id == round_id)
            ).one_or_none()
            return found is not None

    def forget_member(self, *, platform: str, workspace: str, user: str) -> int:
        """Remove a member's fingerprint from every snapshot of their workspace.

        The published figures stay as they were (they name nobody); the snapshot
        counts the removal in ``forgotten``, so later comparisons treat that round's
        respondents as uncertain by one and stay on the safe side.

        Each snapshot is rewritten only if it still holds what was read: two members
        erased at the same moment (two processes) would otherwise each write back
        the JSON they read, and one of them would get their fingerprint back. A
        snapshot changed meanwhile is read again and the removal redone.

        Returns:
            The number of snapshots that held the member's fingerprint.
        """
        member = member_identity(platform=platform, workspace=workspace, user=user)
        with self._sessions.begin() as session:
            round_ids = list(
                session.scalars(
                    select(RoundResultRow.round_id)
                    .join(RoundRow, RoundRow.id == RoundResultRow.round_id)
                    .join(TeamRow, TeamRow.id == RoundRow.team_id)
                    .where(TeamRow.platform == platform, TeamRow.workspace == workspace)
                    .order_by(RoundResultRow.round_id)
                )
            )
        return sum(self._forget_in(round_id=round_id, member=member) for round_id in round_ids)

    def _forget_in(self, *, round_id: int, member: str) -> int:
        """Remove ``member``'s fingerprint from one snapshot; 1 if it was there."""
        while True:
            with self._sessions.begin() as session:
                stored = session.scalars(
                    select(RoundResultRow.snapshot).where(RoundResultRow.round_id == round_id)
                ).one_or_none()
                updated = None if stored is None else _without(stored, member=member)
                if stored is None or updated is None:
                    return 0
                written = session.execute(
                    update(RoundResultRow)
                    .where(RoundResultRow.round_id == round_id, RoundResultRow.snapshot == stored)
                    .values(snapshot=updated)
                    .execution_options(synchronize_session=False)
                )
                if rowcount(written) == 1:
                    return 1


def _without(stored: str, *, member: str) -> str | None:
    """The snapshot JSON without ``member``'s fingerprint; None if it was not there."""
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    prints = data.get(FINGERPRINTS) if isinstance(data, dict) else None
    if not isinstance(prints, dict) or not isinstance(prints.get("salt"), str):
        return None
    hashes = prints.get("hashes")
    if not isinstance(hashes, list):
        return None
    try:
        mine = fingerprint(salt=prints["salt"], member=member)
    except ValueError:
        return None
    if mine not in hashes:
        return None
    prints["hashes"] = sorted(_strings(hashes) - {mine})
    forgotten = prints.get("forgotten")
    prints["forgotten"] = (forgotten if isinstance(forgotten, int) else 0) + 1
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def _strings(values: Collection[object]) -> set[str]:
    return {value for value in values if isinstance(value, str)}
