"""Block Kit rendering of the engine's neutral messages: pure functions, no network.

Engine texts use ``*bold*`` and ``_italic_``, which is Slack mrkdwn already; only
``&``, ``<`` and ``>`` are escaped, so a member's open answer can never turn into
an ``@channel`` ping or a link. Long texts are split at line boundaries into
sections and messages that fit Slack's limits (``bot/limits.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from conversations.core.i18n import Catalogue
from conversations.core.limits import (
    SLACK_MAX_BLOCKS,
    SLACK_MODAL_INPUT_MAX_CHARS,
    SLACK_SECTION_MAX_CHARS,
    split_text,
)
from conversations.core.messages import Button

Block = dict[str, Any]

# Action and callback ids: how a Slack interaction finds its way back here.
ENGINE_BUTTON_PREFIX = "qs_btn_"
ENGINE_BUTTON_ACTION = re.compile(r"^qs_btn_\d{1,3}$")
TYPE_ANSWER_ACTION = "qs_type_answer"
OPEN_ANSWER_CALLBACK = "qs_open_answer"
ANSWER_BLOCK_ID = "qs_answer"
ANSWER_ACTION_ID = "qs_answer_text"

# Block Kit limits that only this adapter meets (the shared ones are in bot/limits.py).
ACTIONS_MAX_ELEMENTS = 25  # elements in one actions block
MODAL_TEXT_MAX_CHARS = 24  # a modal's title, submit and close labels
METADATA_MAX_CHARS = 3000  # a view's private_metadata

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True, slots=True)
class TypeAnswer:
    """The extra "type your answer" button of an open question (opens a modal)."""

    label: str
    team: str


@dataclass(frozen=True, slots=True)
class ModalContext:
    """What a modal remembers: the team, and the DM message its button was on."""

    team: str
    channel: str
    message_ts: str

    def encode(self) -> str:
        """As a view's private_metadata (Slack hands it back on submission)."""
        return json.dumps({"team": self.team, "channel": self.channel, "ts": self.message_ts})

    @classmethod
    def decode(cls, raw: str) -> ModalContext:
        """Read private_metadata back; anything malformed yields an empty context."""
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        values = [data.get(name) for name in ("team", "channel", "ts")]
        team, channel, ts = (value if isinstance(value, str) else "" for value in values)
        return cls(team=team, channel=channel, message_ts=ts)


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.translate(_ESCAPES)


def to_mrkdwn(text: str, *, mentions: Collection[str] = ()) -> str:
    """Engine text as mrkdwn; known Slack user ids become ``<@U…>`` mentions."""
    escaped = escape(text)
    if not mentions:
        return escaped
    pattern = "|".join(re.escape(user) for user in sorted(mentions, key=len, reverse=True))
    return re.sub(rf"(?<![\w@])(?:{pattern})(?!\w)", lambda m: f"<@{m[0]}>", escaped)


def section_blocks(text: str, *, mentions: Collection[str] = ()) -> list[Block]:
    """One section per paragraph, each split to fit ``SLACK_SECTION_MAX_CHARS``."""
    blocks: list[Block] = []
    for paragraph in to_mrkdwn(text, mentions=mentions).split("\n\n"):
        if not paragraph.strip():
            continue
        for chunk in split_text(paragraph, limit=SLACK_SECTION_MAX_CHARS):
            if chunk.strip():
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    return blocks


def fallback(text: str, *, mentions: Collection[str] = ()) -> str:
    """The message's plain ``text``: what notifications and screen readers show."""
    chunks = split_text(to_mrkdwn(text, mentions=mentions), limit=SLACK_SECTION_MAX_CHARS)
    return chunks[0] if chunks else ""


def engine_action_id(index: int) -> str:
    """The action id of the engine's ``index``-th button (unique within the message)."""
    return f"{ENGINE_BUTTON_PREFIX}{index}"


def button_rows(buttons: Sequence[Button], *, type_answer: TypeAnswer | None) -> list[Block]:
    """Actions blocks: the modal button first (if any), then the engine's buttons."""
    elements: list[Block] = []
    if type_answer is not None:
        elements.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": type_answer.label, "emoji": True},
                "action_id": TYPE_ANSWER_ACTION,
                "value": type_answer.team or "-",
                "style": "primary",
            }
        )
    for index, button in enumerate(buttons):
        elements.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": button.label, "emoji": True},
                "action_id": engine_action_id(index),
                "value": button.payload,
            }
        )
    return [
        {"type": "actions", "elements": elements[start : start + ACTIONS_MAX_ELEMENTS]}
        for start in range(0, len(elements), ACTIONS_MAX_ELEMENTS)
    ]


def chunk_messages(blocks: Sequence[Block]) -> list[list[Block]]:
    """Group blocks into messages of at most ``SLACK_MAX_BLOCKS``."""
    return [
        list(blocks[start : start + SLACK_MAX_BLOCKS])
        for start in range(0, len(blocks), SLACK_MAX_BLOCKS)
    ] or [[]]


def prompt_messages(
    text: str,
    buttons: Sequence[Button],
    *,
    type_answer: TypeAnswer | None = None,
    mentions: Collection[str] = (),
) -> list[list[Block]]:
    """A message's blocks, split over several messages only when too long.

    The buttons always go with the last message, under the text they answer.
    """
    sections = section_blocks(text, mentions=mentions)
    rows = button_rows(buttons, type_answer=type_answer)
    if len(sections) + len(rows) <= SLACK_MAX_BLOCKS:
        return [sections + rows]
    head = chunk_messages(sections)
    if len(head[-1]) + len(rows) > SLACK_MAX_BLOCKS:
        head.append([])
    head[-1] = head[-1] + rows
    return head


def first_text(blocks: Sequence[Block]) -> str:
    """The first section's text: the plain ``text`` of a message cut from a long one."""
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            return str(text["text"])
    return ""


def open_answer_view(
    *, texts: Catalogue, context: ModalContext, question: str | None
) -> dict[str, Any]:
    """The modal with one multi-line text field for an open question."""
    blocks: list[Block] = []
    if question:
        shown = question[:SLACK_SECTION_MAX_CHARS]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": shown}})
    blocks.append(
        {
            "type": "input",
            "block_id": ANSWER_BLOCK_ID,
            "label": {"type": "plain_text", "text": texts.t("slack.modal_label")},
            "element": {
                "type": "plain_text_input",
                "action_id": ANSWER_ACTION_ID,
                "multiline": True,
                "max_length": SLACK_MODAL_INPUT_MAX_CHARS,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": OPEN_ANSWER_CALLBACK,
        "title": _plain(texts.t("slack.modal_title")),
        "submit": _plain(texts.t("slack.modal_submit")),
        "close": _plain(texts.t("slack.modal_close")),
        "private_metadata": context.encode()[:METADATA_MAX_CHARS],
        "blocks": blocks,
    }


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text[:MODAL_TEXT_MAX_CHARS]}
