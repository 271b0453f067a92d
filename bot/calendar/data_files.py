"""The calendar's data files shipped with the bot, and how they are read.

``school_holidays.csv`` and ``municipalities.csv`` are derived by
``scripts/build_calendar.py`` from the OpenHolidays API data
(``SOURCE_ATTRIBUTION``; the files stay under the ODbL, see
``bot/calendar/data/README.md``). A file whose columns are not the expected
ones stops the bot at start instead of answering wrongly later.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from bot.calendar.vocabulary import CalendarError

SOURCE_ATTRIBUTION = "OpenHolidays API, openholidaysapi.org, ODbL"
DATA_DIR = Path(__file__).resolve().parent / "data"
SCHOOL_HOLIDAYS_FILE = DATA_DIR / "school_holidays.csv"
MUNICIPALITIES_FILE = DATA_DIR / "municipalities.csv"


def read_csv(path: Path, *, header: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a shipped CSV file with their line numbers, after checking its columns."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != header:
            raise CalendarError(f"{path.name}: expected columns {header}, got {reader.fieldnames}")
        yield from enumerate(reader, start=2)
