"""Frozen keys that scope every stored row, in the manner of aiogram's StorageKey."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TeamKey:
    """One team on one platform: a Slack channel or a Telegram group.

    Attributes:
        platform: "console", "slack" or "telegram".
        workspace: Slack team id, Telegram bot id or "console"; separates tenants.
        team: The team channel's id within the workspace.
    """

    platform: str
    workspace: str
    team: str

    def member(self, user: str) -> ConversationKey:
        """The key of one member's private conversation about this team."""
        return ConversationKey(
            platform=self.platform, workspace=self.workspace, team=self.team, user=user
        )


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """One member's private (DM) conversation about one team's round."""

    platform: str
    workspace: str
    team: str
    user: str

    @property
    def team_key(self) -> TeamKey:
        """The team this conversation belongs to."""
        return TeamKey(platform=self.platform, workspace=self.workspace, team=self.team)
