"""The adapter's own texts (modal, extra button) in the team's language."""

from __future__ import annotations

from adapters.slack.config import PLATFORM
from bot.core.engine import Engine
from conversations.core.i18n import DEFAULT_LOCALE, Catalogue
from storage.keys import TeamKey


def team_texts(*, engine: Engine, workspace: str, team: str) -> Catalogue:
    """The catalogue of the team's locale; Dutch for an unknown or empty team.

    Only the locale is read; every decision about the team stays in the engine.
    """
    if not team:
        return Catalogue(DEFAULT_LOCALE)
    settings = engine.store.get_team(
        key=TeamKey(platform=PLATFORM, workspace=workspace, team=team)
    )
    return Catalogue(settings.locale if settings is not None else DEFAULT_LOCALE)
