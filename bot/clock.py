"""The injected clock: the one place that reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real clock; tests inject a fake one so time-dependent rules are testable."""

    def now(self) -> datetime:
        """The current moment in UTC."""
        return datetime.now(tz=UTC)
