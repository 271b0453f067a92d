"""How a checklist round and its deadline are named in every message.

The DM flow, the round announcements, the status and the results all name a
round ("ronde 1 (2026/27)") and its deadline; one definition keeps them
identical wherever a teacher reads them.
"""

from __future__ import annotations

from conversations.core.clock import SCHOOL_TZ
from conversations.core.days import day_text
from conversations.core.i18n import Catalogue
from storage.checklist.records import ChecklistRound


def round_name(round_: ChecklistRound, texts: Catalogue) -> str:
    """ "ronde 1 (2026/27)"."""
    return texts.t(
        "checklist.round_name", number=round_.number, year=school_year_text(round_.school_year)
    )


def school_year_text(year: int) -> str:
    """2026 -> "2026/27"."""
    return f"{year}/{(year + 1) % 100:02d}"


def deadline_text(round_: ChecklistRound, texts: Catalogue) -> str:
    """ " Deadline: vr 16-10-2026." or "" when the round has none.

    The day as every other message writes it (``day_text``), so a moved deadline's
    notice and the reminders name it the same way.
    """
    if round_.deadline is None:
        return ""
    day = day_text(round_.deadline.astimezone(SCHOOL_TZ).date(), texts)
    return " " + texts.t("checklist.deadline", deadline=day)
