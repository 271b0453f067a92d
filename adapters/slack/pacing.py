"""Pacing of new messages, so a round's DM fan-out stays within Slack's rate limits.

Slack allows about one chat.postMessage per second per conversation and a steady
rate per workspace (``bot/limits.py``). Each new message reserves the next free
slot of its conversation and of the workspace, then sleeps until that slot. Slots
are reserved one message at a time, so a member's reply posted in the middle of a
fan-out of 40 invitations waits for one slot, not for the whole fan-out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from conversations.core.limits import (
    SLACK_PER_CHANNEL_INTERVAL_S,
    SLACK_WORKSPACE_MESSAGES_PER_SECOND,
)

# Forget conversations idle this long; their next message is never delayed anyway.
_FORGET_AFTER_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PacingIntervals:
    """Seconds between two new messages: in one conversation, and workspace-wide."""

    per_channel: float = SLACK_PER_CHANNEL_INTERVAL_S
    workspace: float = 1.0 / SLACK_WORKSPACE_MESSAGES_PER_SECOND

    @classmethod
    def none(cls) -> PacingIntervals:
        """No pacing at all: tests, where the fake Slack has no limits."""
        return cls(per_channel=0.0, workspace=0.0)


class Pacer:
    """Hands out send slots; thread-safe, shared by every worker thread."""

    def __init__(
        self,
        *,
        intervals: PacingIntervals,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._intervals = intervals
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_workspace = 0.0
        self._next_channel: dict[str, float] = {}

    def reserve(self, *, channel: str) -> float:
        """Reserve the next slot for a new message in ``channel``; seconds to wait for it."""
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_workspace, self._next_channel.get(channel, 0.0))
            self._next_workspace = slot + self._intervals.workspace
            self._next_channel[channel] = slot + self._intervals.per_channel
            if len(self._next_channel) > 1000:
                self._forget(now)
            return slot - now

    def wait(self, *, channel: str) -> None:
        """Block until a new message may be posted in ``channel``."""
        delay = self.reserve(channel=channel)
        if delay > 0:
            self._sleep(delay)

    def _forget(self, now: float) -> None:
        stale = [key for key, at in self._next_channel.items() if at < now - _FORGET_AFTER_S]
        for key in stale:
            del self._next_channel[key]
