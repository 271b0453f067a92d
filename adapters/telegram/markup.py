"""Our neutral text and buttons as Telegram HTML and inline keyboards.

The engine writes plain text whose catalogue templates mark ``*bold*`` and
``_italic_``; Telegram's HTML parse mode is the only one where escaping everything
else is simple and complete (``<``, ``>`` and ``&``), which matters because open
answers, names and pupil codes are typed by people. Which markers are the
catalogue's, and so become tags, is decided in
:mod:`adapters.telegram.catalogue_markup`: markers typed by people stay visible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from adapters.telegram.catalogue_markup import Renderer
from conversations.core.limits import TELEGRAM_START_PARAM_MAX_CHARS, check_payload
from conversations.core.messages import Button

KEYBOARD_ROW_MAX = 6  # Telegram shows six short buttons in a row comfortably
LONG_LABEL_ROW_MAX = 3  # words like "« vorige" need more room
SHORT_LABEL_CHARS = 4  # "++", "+/-", "10": answer and grade buttons
_START_PARAM_RE = re.compile(rf"^[A-Za-z0-9_-]{{1,{TELEGRAM_START_PARAM_MAX_CHARS}}}$")
_RENDERER = Renderer()  # without instrument texts: for callers that have none


def to_html(text: str) -> str:
    """Escape ``text`` for Telegram HTML; the catalogue's ``*bold*``/``_italic_`` become tags.

    Markers never span lines, so text split at line boundaries converts chunk by
    chunk without breaking a tag. Markers typed by people are shown as typed.
    """
    return _RENDERER.html(text)


def plain(text: str) -> str:
    """The text without the catalogue's markers: the fallback when Telegram rejects HTML."""
    return _RENDERER.plain(text)


def keyboard(
    buttons: Sequence[Button], *, columns: int | None = None
) -> InlineKeyboardMarkup | None:
    """Choice buttons as an inline keyboard: short labels six to a row, words three.

    Every payload is checked against the 64-byte callback_data limit again here,
    so a payload built elsewhere can never reach Telegram oversize.
    """
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    current: list[InlineKeyboardButton] = []
    current_short: bool | None = None
    for button in buttons:
        short = len(button.label) <= SHORT_LABEL_CHARS
        limit = (columns or KEYBOARD_ROW_MAX) if short else LONG_LABEL_ROW_MAX
        if current and (short != current_short or len(current) >= limit):
            rows.append(current)
            current = []
        current_short = short
        current.append(
            InlineKeyboardButton(text=button.label, callback_data=check_payload(button.payload))
        )
    rows.append(current)
    return InlineKeyboardMarkup(rows)


def valid_start_parameter(value: str) -> bool:
    """Whether ``value`` may follow ``?start=`` in a deep link (1-64 of [A-Za-z0-9_-])."""
    return _START_PARAM_RE.fullmatch(value) is not None


def deep_link(*, bot_username: str, token: str) -> str:
    """``https://t.me/<bot>?start=<token>``: opens the private chat and sends /start <token>.

    Raises:
        ValueError: The token is not a valid start parameter (a bug to catch loudly).
    """
    if not valid_start_parameter(token):
        raise ValueError(f"join token is not a valid deep-link start parameter ({len(token)})")
    return f"https://t.me/{bot_username}?start={token}"


def url_button(*, label: str, url: str) -> InlineKeyboardMarkup:
    """One button that opens a URL (the join link, or the bot's private chat)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(text=label, url=url)]])
