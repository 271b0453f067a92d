"""How the bot writes a day: ``vr 16-10-2026``, the same in every message.

A reminder, a deadline in a checklist message, a moved deadline and the calendar
overview all name a day; one definition keeps them identical. It lives here,
below the bot, so the conversations (a checklist round's deadline) and the bot's
calendar both use it.
"""

from __future__ import annotations

from datetime import date

from conversations.core.cldr import format_day
from conversations.core.i18n import Catalogue


def day_text(day: date, texts: Catalogue) -> str:
    """``vr 16-10-2026``: the weekday (CLDR's short name in the team's language) and the date.

    The weekday helps where a day is planned ahead (a reminder, a deadline that
    moved); the digits are the Dutch ``dd-mm-jjjj`` in every language.
    """
    weekday = format_day(day, "EEE", locale=texts.locale)
    return texts.t("calendar.day", weekday=weekday, date=day.strftime("%d-%m-%Y"))
