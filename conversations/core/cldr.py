"""Locale-aware words for numbers, lists and dates, by CLDR (Babel), loaded on first use.

Babel is imported inside each function, not at module level: its modules cost
about 3 MB and its locale data 4 MB more, and an idle bot (or one that only
stores answers) never needs them. The first text with a plural form, a list or
a weekday loads them once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Literal

ListStyle = Literal["standard", "standard-short", "or", "or-short", "unit", "unit-short"]


@cache
def plural_category(count: int, *, locale: str) -> str:
    """The CLDR plural category of a whole number in ``locale`` ("one", "other", ...)."""
    from babel import Locale  # lazy: see the module docstring

    return str(Locale.parse(locale).plural_form(count))


def format_list(items: Sequence[str], *, locale: str, style: ListStyle = "standard") -> str:
    """``a, b en c`` (or ``a, b of c`` with ``style="or"``) in ``locale``."""
    from babel.lists import format_list as babel_list  # lazy, as above

    return babel_list(list(items), style=style, locale=locale)


def format_day(day: date, pattern: str, *, locale: str) -> str:
    """``day`` by a CLDR date pattern in ``locale`` ("EEE": "di", "LLLL yyyy": "januari 2027")."""
    from babel.dates import format_date  # lazy, as above

    return str(format_date(day, pattern, locale=locale))
