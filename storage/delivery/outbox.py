"""The outbox: every message the bot sends is a row first, in the transaction that causes it.

INTERFACE FIRST (helper A implements): the signatures and records below are the
contract the dispatcher (bot/delivery) and the engine build against.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from storage.crypto import FieldCipher


class OutboxStatus(enum.StrEnum):
    """Where a row is in its life."""

    PENDING = "pending"  # to send (possibly claimed by a worker right now)
    SENT = "sent"  # delivered; its content is gone
    FAILED = "failed"  # will never be delivered (blocked, not in channel); content gone


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOutboxRow:
    """A message to queue.

    Attributes:
        platform, workspace: The tenant.
        team: The team channel the message is about ("" for a DM outside a team).
        kind: The destination kind: "team", "dm" or "ephemeral".
        user: The member for "dm" and "ephemeral", else None.
        body: The message without its destination (JSON, opaque to storage).
        origin: The causing event's reply context (JSON, opaque to storage).
        dedupe_key: A row with a key already queued (in this workspace) is skipped.
    """

    platform: str
    workspace: str
    team: str
    kind: str
    user: str | None
    body: str
    origin: str = "{}"
    dedupe_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """A claimed row, as a worker sees it."""

    id: int
    platform: str
    workspace: str
    team: str
    kind: str
    user: str | None
    body: str
    origin: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxStats:
    """How far delivery is behind (for logs, /metrics and tests)."""

    pending: int
    oldest_created_at: datetime | None


class OutboxStore:
    """Rows in, claims out; every write joins the ambient unit of work if one is open."""

    def __init__(self, *, engine: Engine, cipher: FieldCipher | None = None) -> None:
        raise NotImplementedError

    def add(self, *, rows: Sequence[NewOutboxRow], now: datetime) -> int:
        """Queue rows (skipping a dedupe_key already queued); the number queued."""
        raise NotImplementedError

    def claim(
        self, *, platform: str, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows, unclaimed (or lease expired), first in their lane."""
        raise NotImplementedError

    def mark_sent(self, *, item_id: int, owner: str, now: datetime) -> bool:
        """Delivered: status sent, content cleared. False if the claim was lost."""
        raise NotImplementedError

    def release(
        self, *, item_id: int, owner: str, not_before: datetime, error: str | None
    ) -> bool:
        """Give the row back for another attempt at ``not_before`` (429, transient error)."""
        raise NotImplementedError

    def fail(self, *, item_id: int, owner: str, now: datetime, error: str) -> bool:
        """It will never be delivered: status failed, content cleared, error code kept."""
        raise NotImplementedError

    def retarget_team(self, *, platform: str, workspace: str, old_team: str, new_team: str) -> int:
        """A chat moved (Telegram supergroup): its unsent rows now go to ``new_team``."""
        raise NotImplementedError

    def stats(self, *, platform: str | None = None) -> OutboxStats:
        """Pending rows and the oldest one's age."""
        raise NotImplementedError

    def purge(self, *, before: datetime) -> int:
        """Delete sent and failed rows finished before ``before`` (retention)."""
        raise NotImplementedError
