"""What goes into the outbox and what comes out of it (``storage.delivery.outbox``).

Plain records and the lane rule, apart from the store so the dispatcher's and the
engine's code can name them without the SQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


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
    """A claimed row, as a worker sees it.

    ``attempts`` counts this claim: 1 on the first try. A row given back untried
    (``release`` without an error) does not count that claim.
    """

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


KINDS = ("team", "dm", "ephemeral")
"""The destination kinds a row may have (``Destination.kind`` values)."""


def lane_of(*, platform: str, workspace: str, team: str, kind: str, user: str | None) -> str:
    """The ordering unit of a row: the chat it goes to.

    A team message and an ephemeral one in that team are different chats to the
    platform (the ephemeral goes to one member), so they do not wait for each
    other; every direct message to a member shares one lane across teams.

    Raises:
        ValueError: An unknown kind, or a "dm"/"ephemeral" row without a user.
    """
    if kind == "team":
        return f"{platform}/{workspace}/team/{team}"
    if kind not in KINDS:
        msg = f"unknown outbox kind {kind!r}"
        raise ValueError(msg)
    if not user:
        msg = f"an outbox row of kind {kind!r} needs a user"
        raise ValueError(msg)
    if kind == "dm":
        return f"{platform}/{workspace}/dm/{user}"
    return f"{platform}/{workspace}/eph/{team}/{user}"
