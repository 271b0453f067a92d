"""What a platform adapter implements to have the outbox's messages sent.

The dispatcher (``bot/delivery/dispatcher.py``) claims outbox rows, renders their
attachments and asks the platform's :class:`PlatformSender` to send each one. A
sender never sleeps for a rate limit and never retries by itself: it says what
happened (:data:`SendResult`) and the dispatcher decides when to try again, so
one busy chat or one rate-limited method never holds up the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from conversations.core.messages import Outbound


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """A token bucket a send takes one token from.

    Attributes:
        key: What the bucket limits, e.g. ``"slack:T1:chat.postMessage"`` or
            ``"telegram:group:-100123"``; equal keys share one bucket.
        per_second: The steady rate.
        burst: How many sends may go at once after a quiet spell.
    """

    key: str
    per_second: float
    burst: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent:
    """Delivered; ``ref`` is the platform's id of the message (for later edits), if any."""

    ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """A transient failure (429, 5xx, a network error): try again after ``after`` seconds.

    ``limit_key`` names the bucket the platform said is exhausted (a 429 on one
    chat or one method); that bucket is paused, others are not.
    """

    after: float
    reason: str
    limit_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Permanent:
    """It will never succeed (blocked, not in the channel, user gone): recorded, reported once.

    ``reason`` is a short platform error code, never message content.
    """

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Migrated:
    """The chat moved (a Telegram group upgraded to a supergroup): resend to ``new_team``."""

    new_team: str


SendResult = Sent | Retry | Permanent | Migrated


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One outbox message as a sender sees it.

    Attributes:
        outbox_id: The row's id: a stable identity for de-duplication (e.g. Slack
            message metadata), the same on every attempt.
        workspace: The tenant (Slack team id, Telegram bot id).
        message: The message, its attachment already rendered to ``image``/``file``.
        origin: The reply context of the event that caused it (``Inbound.origin``).
        attempt: 1 on the first try.
    """

    outbox_id: int
    workspace: str
    message: Outbound
    origin: Mapping[str, str]
    attempt: int


class PlatformSender(Protocol):
    """Sends one message on one platform; blocking, but never sleeping on a limit."""

    platform: str

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        """The buckets this send takes a token from (chat, group, workspace, method).

        Asked right before each :meth:`send`, with the same delivery (its
        attachment already rendered), so an upload can name another method's
        bucket than a plain post.
        """
        ...

    def send(self, delivery: Delivery) -> SendResult:
        """Send it; report the outcome instead of raising for platform errors."""
        ...
