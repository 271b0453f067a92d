"""What the fake Slack keeps and checks: calls, messages, uploads, Block Kit limits."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BOT_TOKEN = "xoxb-test-token"  # noqa: S105 - the fake's own token, not a credential
APP_TOKEN = "xapp-test-token"  # noqa: S105 - the fake's Socket Mode token
SIGNING_SECRET = "test-signing-secret"  # noqa: S105 - signs test requests only
WORKSPACE = "T0SCHOOL1"
CHANNEL = "C0TEAM001"
BOT_USER = "U0QSBOT01"
WAIT_S = 30.0
# The bot scopes the app manifest asks for: what an installed app's token carries.
MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yml"
BOT_SCOPES = frozenset(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])

# Slack's Block Kit limits, checked like Slack checks them (invalid_blocks).
_MAX_BLOCKS = 50
_MAX_SECTION = 3000
_MAX_ACTIONS = 25
_MAX_BUTTON_TEXT = 75
_MAX_VALUE = 2000


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received it."""

    method: str
    params: Mapping[str, Any]
    at: float
    status: int


@dataclass
class Message:
    """A message the bot posted (its latest version after chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button element, in order."""
        return [
            element
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        ]

    @property
    def body(self) -> str:
        """The texts of its section blocks (what a reader sees), else its text."""
        sections = [
            block["text"]["text"] for block in self.blocks if block.get("type") == "section"
        ]
        return "\n\n".join(sections) if sections else self.text

    def button(self, label: str) -> dict[str, Any]:
        """The button labelled ``label``."""
        for element in self.buttons:
            if element["text"]["text"] == label:
                return element
        labels = [element["text"]["text"] for element in self.buttons]
        raise AssertionError(f"no button {label!r} in {labels}")


@dataclass
class Upload:
    """A file uploaded through files.getUploadURLExternal and the upload URL."""

    file_id: str
    filename: str
    length: int
    data: bytes = b""
    channel: str | None = None
    thread_ts: str | None = None
    comment: str | None = None
    completed: bool = False


@dataclass
class RateRule:
    """Answer matching calls with HTTP 429 (``remaining`` None: until cleared)."""

    method: str
    retry_after: int
    channel: str | None = None
    remaining: int | None = 1
    after: int = 0  # matching calls let through before the first 429

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if method != self.method:
            return False
        channel = params.get("channel") or params.get("channel_id")
        return self.channel is None or channel == self.channel


@dataclass
class Hold:
    """Let ``after`` matching calls through, then hold each further one until released."""

    method: str
    prefix: str
    after: int
    released: threading.Event = field(default_factory=threading.Event)
    passed: int = 0
    held: int = 0


def check_blocks(blocks: Sequence[dict[str, Any]], text: object) -> str | None:
    """Slack's own validation, in short: the error Slack would answer, or None."""
    if not blocks and not text:
        return "no_text"
    if len(blocks) > _MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if block.get("type") == "section":
            body = block.get("text", {}).get("text", "")
            if not body or len(body) > _MAX_SECTION:
                return "invalid_blocks"
        if block.get("type") == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > _MAX_ACTIONS:
                return "invalid_blocks"
    action_ids = [
        element.get("action_id")
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]
    if len(action_ids) != len(set(action_ids)):
        return "invalid_blocks"
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if len(element["text"]["text"]) > _MAX_BUTTON_TEXT:
                return "invalid_blocks"
            if len(element.get("value", "")) > _MAX_VALUE:
                return "invalid_blocks"
    return None
