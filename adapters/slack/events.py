"""Slack payloads -> neutral ``Inbound`` events, plus what a reply may update.

Every event carries a stable delivery id so a Slack retry (``X-Slack-Retry-Num``,
same payload) is handled once: the engine records the id in the database.
Slash commands have no event id, so their ``trigger_id`` serves; clicks use the
action's ``trigger_id``; modal submissions the view id; Events API deliveries
their ``event_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.config import PLATFORM
from bot.commands.parse import COMMAND_WORD
from conversations.core.messages import Inbound, Sender, Where

# With should_escape on, Slack sends "@anna" as "<@U123|anna>" (or "<@U123>").
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_UNESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where an event came from, for delivering its replies.

    Attributes:
        workspace: The Slack team id.
        user: Who acted.
        channel: Where the event happened: the channel of a command, the DM a
            button was on or a message was typed in.
        message_ts: That message, which a ``replace_previous`` reply updates.
        response_url: A slash command's reply URL (fallback for ephemeral replies).
    """

    workspace: str
    user: str
    channel: str | None = None
    message_ts: str | None = None
    response_url: str | None = None

    def as_mapping(self) -> dict[str, str]:
        """As ``Inbound.origin``: stored with every message the event causes.

        The workspace is left out: every outbox row carries its own.
        """
        fields = {
            "user": self.user,
            "channel": self.channel,
            "message_ts": self.message_ts,
            "response_url": self.response_url,
        }
        return {name: value for name, value in fields.items() if value}

    @classmethod
    def from_mapping(cls, *, workspace: str, data: Mapping[str, str]) -> Origin:
        """Read a stored origin back; anything missing or not a string is absent."""

        def field(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) and value else None

        return cls(
            workspace=workspace,
            user=field("user") or "",
            channel=field("channel"),
            message_ts=field("message_ts"),
            response_url=field("response_url"),
        )


def text_of(payload: Mapping[str, Any], *path: str) -> str:
    """A nested string field, or "" when any step is missing or not what Slack sends."""
    node: Any = payload
    for name in path:
        if not isinstance(node, Mapping):
            return ""
        node = node.get(name)
    return node if isinstance(node, str) else ""


def unescape(text: str) -> str:
    """Undo Slack's escaping of ``& < >`` in typed text, so answers are stored as typed."""
    for escaped, plain in _UNESCAPES:
        text = text.replace(escaped, plain)
    return text


def mentioned_users(text: str) -> list[str]:
    """User ids of the ``<@U…>`` mentions in a command."""
    return _USER_MENTION.findall(text)


def command_text(text: str) -> str:
    """``/quickscan`` plus the typed arguments, mentions as ``@U…`` (the engine's ids)."""
    arguments = unescape(_USER_MENTION.sub(lambda match: f"@{match[1]}", text)).strip()
    return f"{COMMAND_WORD} {arguments}".strip()


def command_event(body: Mapping[str, Any], *, name: str) -> Inbound:
    """``/quickscan <sub>`` in a channel (the team)."""
    trigger = text_of(body, "trigger_id")
    return Inbound(
        platform=PLATFORM,
        workspace=text_of(body, "team_id"),
        team=text_of(body, "channel_id"),
        where=Where.TEAM,
        sender=Sender(user=text_of(body, "user_id"), display_name=name),
        text=command_text(text_of(body, "text")),
        event_id=f"command:{trigger}" if trigger else None,
    )


def command_origin(body: Mapping[str, Any]) -> Origin:
    """A command's replies: ephemeral in its channel, or via its response URL."""
    return Origin(
        workspace=text_of(body, "team_id"),
        user=text_of(body, "user_id"),
        channel=text_of(body, "channel_id") or None,
        response_url=text_of(body, "response_url") or None,
    )


def button_event(body: Mapping[str, Any], *, value: str, name: str) -> Inbound:
    """A click on one of the engine's buttons; the engine resolves the payload's owner."""
    channel = text_of(body, "container", "channel_id") or text_of(body, "channel", "id")
    trigger = text_of(body, "trigger_id")
    in_dm = channel.startswith("D")
    return Inbound(
        platform=PLATFORM,
        workspace=workspace_of(body),
        team="" if in_dm else channel,
        where=Where.DM if in_dm else Where.TEAM,
        sender=Sender(user=text_of(body, "user", "id"), display_name=name),
        payload=value,
        event_id=f"action:{trigger}" if trigger else None,
    )


def button_origin(body: Mapping[str, Any]) -> Origin:
    """A click's replies may update the message the button was on."""
    return Origin(
        workspace=workspace_of(body),
        user=text_of(body, "user", "id"),
        channel=text_of(body, "container", "channel_id") or None,
        message_ts=text_of(body, "container", "message_ts") or None,
    )


def answer_event(body: Mapping[str, Any], *, team: str, text: str, name: str) -> Inbound:
    """A submitted open-answer modal: typed text in the member's DM."""
    view_id = text_of(body, "view", "id")
    return Inbound(
        platform=PLATFORM,
        workspace=workspace_of(body),
        team=team,
        where=Where.DM,
        sender=Sender(user=text_of(body, "user", "id"), display_name=name),
        text=text,
        event_id=f"view:{view_id}" if view_id else None,
    )


def message_event(body: Mapping[str, Any], *, name: str) -> Inbound | None:
    """A message typed in the bot's DM (``message.im``); None for anything else.

    Edits, joins, bot messages (the bot's own included) and thread replies in
    channels are not answers and are ignored.
    """
    event = body.get("event")
    if not isinstance(event, Mapping) or not is_member_dm(event):
        return None
    event_id = text_of(body, "event_id")
    return Inbound(
        platform=PLATFORM,
        workspace=text_of(body, "team_id"),
        team="",
        where=Where.DM,
        sender=Sender(user=text_of(event, "user"), display_name=name),
        text=unescape(text_of(event, "text")),
        event_id=f"event:{event_id}" if event_id else None,
    )


def is_member_dm(event: Mapping[str, Any]) -> bool:
    """A person's own new message in a DM with the bot."""
    return (
        text_of(event, "channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(text_of(event, "user"))
    )


def workspace_of(body: Mapping[str, Any]) -> str:
    """The Slack team id of an interaction payload."""
    return text_of(body, "team", "id") or text_of(body, "user", "team_id")
