"""Reading the optional deadline of ``/quickscan start``, and writing a day back.

Teachers write dates the Dutch way (``15-12``, ``15-12-2026``) or ISO
(``2026-12-15``); a deadline means "until the end of that day" in the school's
time zone. The bot writes a day the same Dutch way with its weekday ("vr
16-10-2026", ``conversations.core.days``, re-exported here), so a reminder, a
checklist message and the calendar name the same day identically.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from conversations.core.clock import SCHOOL_TZ
from conversations.core.days import day_text

__all__ = ["SCHOOL_TZ", "DeadlineError", "day_text", "looks_like_date", "parse_deadline"]

# Plain ASCII digits only (re.ASCII; fullmatch, since ``$`` also matches before a
# trailing newline): ``int`` would read ``３`` or ``٣`` as digits too.
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_DUTCH = re.compile(r"(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{4}))?", re.ASCII)
_DATE_LIKE = re.compile(r"[\d/.-]+")
MAX_AHEAD = timedelta(days=366)


class DeadlineError(ValueError):
    """The text is not a usable deadline; the message says why."""


def looks_like_date(text: str) -> bool:
    """Whether an argument was meant as a date (so a typo gets a date error)."""
    return _DATE_LIKE.fullmatch(text) is not None


def parse_deadline(text: str, *, now: datetime) -> datetime:
    """The end of the named day (23:59:59 Amsterdam time) as an aware datetime.

    Raises:
        DeadlineError: unreadable, non-existent, in the past or over a year ahead.
    """
    today = now.astimezone(SCHOOL_TZ).date()
    day = _read_day(text.strip(), today=today)
    if day < today:
        raise DeadlineError("past")
    end = datetime.combine(day, time(23, 59, 59), tzinfo=SCHOOL_TZ)
    if end - now > MAX_AHEAD:
        raise DeadlineError("too_far")
    return end


def _read_day(text: str, *, today: date) -> date:
    try:
        if match := _ISO.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DUTCH.fullmatch(text):
            day, month = int(match[1]), int(match[2])
            if match[3]:
                return date(int(match[3]), month, day)
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError as error:
        raise DeadlineError("invalid") from error
    raise DeadlineError("invalid")
