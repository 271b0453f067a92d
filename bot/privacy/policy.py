"""How long the bot keeps personal data: the settings of the retention job.

A small module of its own so the configuration and ``/quickscan help`` can name
the periods without importing the job (bot/retention.py) and what it needs.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_ANSWER_MONTHS = 12
DEFAULT_EVENT_DAYS = 7
MAX_ANSWER_MONTHS = 120
MAX_EVENT_DAYS = 365
OUTPUT_FILE_AGE = timedelta(days=1)
"""Charts and exports are delivered at once; a copy older than this is only a risk."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The retention periods (docs/privacy.md).

    Attributes:
        answer_months: Individual answers and open texts of a round are deleted
            this many months after it closed; its published result stays.
        event_days: Platform delivery ids are forgotten after this many days.
        output_age: Chart and export files older than this are deleted.
    """

    answer_months: int = DEFAULT_ANSWER_MONTHS
    event_days: int = DEFAULT_EVENT_DAYS
    output_age: timedelta = OUTPUT_FILE_AGE

    def __post_init__(self) -> None:
        if not 1 <= self.answer_months <= MAX_ANSWER_MONTHS:
            msg = f"answer_months must be 1..{MAX_ANSWER_MONTHS}, got {self.answer_months}"
            raise ValueError(msg)
        if not 1 <= self.event_days <= MAX_EVENT_DAYS:
            msg = f"event_days must be 1..{MAX_EVENT_DAYS}, got {self.event_days}"
            raise ValueError(msg)

    def answers_closed_before(self, now: datetime) -> datetime:
        """Rounds closed before this moment have outlived their individual answers."""
        return months_before(now, self.answer_months)

    def events_seen_before(self, now: datetime) -> datetime:
        """Delivery ids seen before this moment are forgotten."""
        return now - timedelta(days=self.event_days)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (31 March - 1 = 28/29 Feb).

    Calendar months, not 30-day blocks, so "12 months" is exactly a year, as a
    school's register of processing would read it.
    """
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
