"""The adapter's own texts (modal, extra button, chart description) in the team's language."""

from __future__ import annotations

from adapters.slack.config import PLATFORM
from bot.core.engine import Engine
from conversations.core.i18n import Catalogue
from storage.keys import TeamKey


def team_texts(*, engine: Engine, workspace: str, team: str) -> Catalogue:
    """The catalogue of the team's locale; Dutch for an unknown or empty team.

    Only the locale is read; every decision about the team stays in the engine.
    """
    return engine.texts_for(TeamKey(platform=PLATFORM, workspace=workspace, team=team))
