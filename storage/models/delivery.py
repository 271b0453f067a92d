"""The outbox: every message the bot sends is a row here before it is sent.

A row is written in the transaction of the state change that causes it, so a
message exists exactly when its cause was committed; the platform's dispatcher
claims rows and sends them later, in any process (storage/delivery/outbox.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import REF_LENGTH, Base, UTCDateTime

LANE_LENGTH = 1024
"""Room for ``platform/workspace/eph/team/user``: four refs and the separators."""
DEDUPE_KEY_LENGTH = 512
"""Room for keys like ``invite:<round>:<user>`` with a platform user id."""
BUCKET_KEY_LENGTH = 64
"""Room for a hashed bucket key (32 hex digits today)."""


class OutboxMessageRow(Base):
    """One message to send: where to, what (sealed), and how far its delivery got.

    ``lane`` is the ordering unit: of the unsent rows of a lane (one chat) only the
    oldest may be claimed, so a chat sees its messages in order whichever process
    sends them. ``body`` and ``origin`` are cleared once the row is sent or failed:
    what remains is the fact that a message went out, not what it said.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # NULL keys are distinct on both databases: only keyed rows are de-duplicated.
        UniqueConstraint("platform", "workspace", "dedupe_key"),
        # The head of a lane: min(id) of its pending rows.
        Index(None, "lane", "status", "id"),
        # What a dispatcher may claim: its platform's pending rows that are due.
        Index(None, "status", "platform", "not_before"),
        # What retention may delete.
        Index(None, "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str] = mapped_column(String(REF_LENGTH))
    team: Mapped[str] = mapped_column(String(REF_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    user: Mapped[str | None] = mapped_column(String(REF_LENGTH))
    lane: Mapped[str] = mapped_column(String(LANE_LENGTH))
    body: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(DEDUPE_KEY_LENGTH))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(64))


class RateBucketRow(Base):
    """One token bucket's GCRA state, shared by every process that sends for the bot.

    The platforms limit the bot, not a process, so every replica books its sends
    here (storage/delivery/rate_buckets.py). ``key`` is a hash of the bucket's
    name: a private chat's bucket is named after a member's id, and this table
    should not say who was messaged. ``tat`` (the theoretical arrival time of the
    next send) and ``paused_until`` are wall-clock epoch seconds; NULL means
    "never" (a bucket that is full, or was never paused).
    """

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(BUCKET_KEY_LENGTH), primary_key=True)
    tat: Mapped[float | None] = mapped_column(Double())
    paused_until: Mapped[float | None] = mapped_column(Double())
