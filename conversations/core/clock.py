"""The injected clock: the one place that reads the wall clock, and the school's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SCHOOL_TZ = ZoneInfo("Europe/Amsterdam")
"""Where the schools are: deadlines end at midnight and days are told in this zone.

Moments are kept in UTC; conversations, commands and the calendar turn them into
school days in this one zone, so they all agree on which day it is.
"""


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


class ShiftedClock:
    """Real time plus an offset that only grows: the console's simulated clock.

    ``@clock: 2027-01-04T08:00`` in the console jumps the bot's time forward so a
    newcomer can play a school year in seconds; between jumps time runs on.
    """

    def __init__(self, *, base: Clock, start: datetime | None = None) -> None:
        self._base = base
        self._offset = timedelta(0) if start is None else start - base.now()

    def now(self) -> datetime:
        """The shifted moment (UTC)."""
        return self._base.now() + self._offset

    def jump_to(self, moment: datetime) -> None:
        """Move time forward to ``moment`` (aware).

        Raises:
            ValueError: ``moment`` is naive or in the past: time never runs backwards,
                or a ping could be planned twice.
        """
        if moment.tzinfo is None:
            raise ValueError("naive moment")
        current = self.now()
        if moment < current:
            raise ValueError("backwards")
        self._offset += moment - current
