"""Platform limits in one place, checked where payloads are built.

Each adapter renders neutral messages within these bounds; the engine checks the
tightest of them when it builds button payloads and texts, so a message that fits
here fits everywhere.
"""

from __future__ import annotations

# Telegram: callback_data is 1-64 bytes. Slack's action value allows 2000 chars;
# the engine keeps to the smaller so one payload format serves every platform.
CALLBACK_DATA_MAX_BYTES = 64

# Telegram: a message text is at most 4096 characters after entity parsing.
MESSAGE_MAX_CHARS = 4096

# Slack: a section block's text is at most 3000 characters; a message at most 50 blocks.
SLACK_SECTION_MAX_CHARS = 3000
SLACK_MAX_BLOCKS = 50

# Slack: a button label is at most 75 characters; Telegram shows about 30 well.
BUTTON_LABEL_MAX_CHARS = 30

# Telegram: about one message per second per chat, 30 per second overall.
TELEGRAM_PER_CHAT_INTERVAL_S = 1.0
TELEGRAM_GLOBAL_PER_SECOND = 30

# Slack: chat.postMessage is about one message per second per conversation.
SLACK_PER_CHANNEL_INTERVAL_S = 1.0


class PayloadTooLargeError(ValueError):
    """A button payload would exceed the smallest platform limit."""


def check_payload(payload: str) -> str:
    """Return ``payload`` unchanged, or fail loudly when a platform would reject it.

    Raising at build time turns a silent platform error (Telegram answers
    BUTTON_DATA_INVALID) into a bug caught by the tests.
    """
    if not payload or len(payload.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        raise PayloadTooLargeError(f"button payload of {len(payload.encode())} bytes")
    return payload


def split_text(text: str, *, limit: int = MESSAGE_MAX_CHARS) -> list[str]:
    """Split ``text`` at line boundaries into chunks that each fit ``limit``.

    Long team results must arrive whole rather than be cut off by the platform.
    """
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current:
        chunks.append(current)
    return [chunk.rstrip("\n") for chunk in chunks]


# Telegram: a photo caption is at most 1024 characters; a group gets about 20
# messages per minute; a deep-link start parameter is 1-64 characters [A-Za-z0-9_-].
TELEGRAM_CAPTION_MAX_CHARS = 1024
TELEGRAM_GROUP_PER_MINUTE = 20
TELEGRAM_START_PARAM_MAX_CHARS = 64

# Slack: a slash command must be acknowledged within 3 seconds; a modal's
# plain-text input holds at most 3000 characters; a workspace gets a steady rate of
# roughly one chat.postMessage per second per channel (special tier), so DM
# fan-out is paced below it.
SLACK_ACK_SECONDS = 3.0
SLACK_MODAL_INPUT_MAX_CHARS = 3000
SLACK_WORKSPACE_MESSAGES_PER_SECOND = 1.0
