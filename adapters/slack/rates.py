"""Slack's rate limits, as the token buckets the dispatcher checks before each send.

Slack limits new messages to about one per second per conversation (chat.postMessage's
special tier) and the Web API per method and workspace in tiers (Tier 2: 20+ calls a
minute, Tier 3: 50+, Tier 4: 100+). The dispatcher (``bot/delivery``) takes a token from every
bucket a send names, so a busy conversation or an exhausted method waits on its own
bucket while everything else goes on. Nothing here sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery.api import Limit
from conversations.core.limits import (
    SLACK_PER_CHANNEL_INTERVAL_S,
    SLACK_WORKSPACE_MESSAGES_PER_SECOND,
)

# Calls per minute of Slack's documented method tiers (per method, per workspace).
TIER_PER_MINUTE = {2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "conversations.open": 3,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "pins.add": 2,  # pinning the team's agreed plan
}
UPLOAD_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackRates:
    """The rates a Slack sender asks for; the defaults are Slack's published figures.

    Attributes:
        per_conversation: Sends per second into one channel or DM.
        conversation_burst: Sends one conversation may make at once after a quiet spell
            (Slack tolerates short bursts).
        workspace_messages: New messages per second across the workspace (a round's
            invitations go out at this pace).
        workspace_burst: New messages the workspace may send at once.
        tier_scale: Multiplies every method tier (tests raise it; Slack grants some apps
            more).
    """

    per_conversation: float = 1.0 / SLACK_PER_CHANNEL_INTERVAL_S
    conversation_burst: int = 2
    workspace_messages: float = SLACK_WORKSPACE_MESSAGES_PER_SECOND
    workspace_burst: int = 1
    tier_scale: float = 1.0

    @classmethod
    def generous(cls, *, workspace_messages: float = 1000.0) -> SlackRates:
        """Rates no test reaches (the fake Slack has no limits of its own)."""
        return cls(
            per_conversation=1000.0,
            conversation_burst=1000,
            workspace_messages=workspace_messages,
            workspace_burst=1,
            tier_scale=1000.0,
        )

    # ------------------------------------------------------------------ buckets

    def conversation(self, *, workspace: str, key: str) -> Limit:
        """One channel (``C…``) or one member's DM (``dm:U…``)."""
        return Limit(
            key=conversation_key(workspace=workspace, key=key),
            per_second=self.per_conversation,
            burst=self.conversation_burst,
        )

    def messages(self, *, workspace: str) -> Limit:
        """New messages workspace-wide."""
        return Limit(
            key=f"slack:{workspace}:messages",
            per_second=self.workspace_messages,
            burst=self.workspace_burst,
        )

    def method(self, *, workspace: str, method: str) -> Limit:
        """A tiered Web API method; a minute's allowance may go at once."""
        per_minute = TIER_PER_MINUTE[METHOD_TIERS[method]] * self.tier_scale
        return Limit(
            key=method_key(workspace=workspace, method=method),
            per_second=per_minute / 60.0,
            burst=max(1, int(per_minute)),
        )


def conversation_key(*, workspace: str, key: str) -> str:
    """The bucket key of one conversation (shared by every send into it)."""
    return f"slack:{workspace}:conversation:{key}"


def method_key(*, workspace: str, method: str) -> str:
    """The bucket key of one tiered method in one workspace."""
    return f"slack:{workspace}:method:{method}"
