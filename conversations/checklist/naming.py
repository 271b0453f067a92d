"""How a checklist round and its deadline are named in every message.

The DM flow, the round announcements, the status and the results all name a
round ("ronde 1 (2026/27)") and its deadline; one definition keeps them
identical wherever a teacher reads them.
"""

from __future__ import annotations

from conversations.core.clock import SCHOOL_TZ
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
    """ " Deadline: 16-10-2026." or "" when the round has none."""
    if round_.deadline is None:
        return ""
    day = round_.deadline.astimezone(SCHOOL_TZ).strftime("%d-%m-%Y")
    return " " + texts.t("checklist.deadline", deadline=day)
