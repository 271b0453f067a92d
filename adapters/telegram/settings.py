"""The Telegram adapter's configuration, read from the environment once at start.

Everything is injectable (an ``environ`` mapping, a :class:`TelegramLimits`) so
tests point the adapter at a fake Bot API server and speed up its rate limits
without touching the process environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conversations.core.limits import (
    TELEGRAM_GLOBAL_PER_SECOND,
    TELEGRAM_GROUP_PER_MINUTE,
    TELEGRAM_PER_CHAT_INTERVAL_S,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
INSTRUMENTS_DIR_ENV = "QUICKSCAN_INSTRUMENTS_DIR"  # the engine's, see instrument_dirs
DEFAULT_WEBHOOK_PORT = 8443
# A webhook sits behind the TLS proxy that Telegram calls; it must be reachable from
# that proxy, which is usually another host or container. The secret token guards it.
DEFAULT_WEBHOOK_LISTEN = "0.0.0.0"  # noqa: S104 - see the comment above
WEBHOOK_SECRET_BYTES = 32  # 43 URL-safe characters; Telegram allows 1-256 of [A-Za-z0-9_-]


class TelegramConfigError(ValueError):
    """A TELEGRAM_* variable is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramLimits:
    """How fast the bot may send, so Telegram never has to throttle it.

    The delivery dispatcher keeps to them with token buckets (see
    ``TelegramSender.limits``); a 429 that still comes pauses only the chat's
    bucket for Telegram's ``retry_after``. 0 switches a limit off (tests).

    Attributes:
        overall_per_second: Messages per second over all chats (Telegram: about 30).
        group_per_minute: Messages per minute in one group (Telegram: about 20).
        per_chat_interval_s: Seconds between two messages in one chat (about 1).
    """

    overall_per_second: float = TELEGRAM_GLOBAL_PER_SECOND
    group_per_minute: float = TELEGRAM_GROUP_PER_MINUTE
    per_chat_interval_s: float = TELEGRAM_PER_CHAT_INTERVAL_S


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramSettings:
    """The TELEGRAM_* variables, validated.

    Attributes:
        token: TELEGRAM_BOT_TOKEN.
        api_base_url: TELEGRAM_API_BASE_URL: another Bot API server (a local
            ``telegram-bot-api`` or a test fake), without ``/bot<token>``.
        webhook_url: TELEGRAM_WEBHOOK_URL; None means long polling.
        webhook_port: TELEGRAM_WEBHOOK_PORT, the local port the webhook listens on.
        webhook_listen: TELEGRAM_WEBHOOK_LISTEN, the local address to listen on.
        webhook_secret: TELEGRAM_WEBHOOK_SECRET, generated when absent, so an
            unauthenticated webhook is never served.
        instrument_dirs: QUICKSCAN_INSTRUMENTS_DIR, the extra instrument
            directories the engine loads too: their open questions' titles are
            shown in italics (see ``catalogue_markup``). Read here because the
            adapter may not import the start-up code that reads it for the engine.
    """

    token: str
    api_base_url: str = DEFAULT_API_BASE_URL
    webhook_url: str | None = None
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    webhook_secret: str = ""
    instrument_dirs: tuple[Path, ...] = ()

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to, taken from the public webhook URL."""
        if self.webhook_url is None:
            return ""
        return urlsplit(self.webhook_url).path.rstrip("/") or "/"

    @property
    def bot_base_url(self) -> str:
        """The base URL PTB appends the token to (``.../bot<token>/method``)."""
        return f"{self.api_base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """The base URL for file downloads on the same server."""
        return f"{self.api_base_url}/file/bot"

    @classmethod
    def from_environ(cls, *, environ: Mapping[str, str]) -> TelegramSettings:
        """Read and check the variables; fail with the variable's name when one is wrong."""
        token = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise TelegramConfigError("TELEGRAM_BOT_TOKEN is not set")
        base = (environ.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL).strip().rstrip("/")
        if urlsplit(base).scheme not in {"http", "https"}:
            raise TelegramConfigError("TELEGRAM_API_BASE_URL must be an http(s) URL")
        webhook_url = (environ.get("TELEGRAM_WEBHOOK_URL") or "").strip() or None
        if webhook_url is not None and urlsplit(webhook_url).scheme not in {"http", "https"}:
            raise TelegramConfigError("TELEGRAM_WEBHOOK_URL must be an http(s) URL")
        raw_port = (environ.get("TELEGRAM_WEBHOOK_PORT") or str(DEFAULT_WEBHOOK_PORT)).strip()
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise TelegramConfigError("TELEGRAM_WEBHOOK_PORT must be a port number")
        secret = (environ.get("TELEGRAM_WEBHOOK_SECRET") or "").strip()
        if secret and not _valid_secret(secret):
            raise TelegramConfigError(
                "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        return cls(
            token=token,
            api_base_url=base,
            webhook_url=webhook_url,
            webhook_port=int(raw_port),
            webhook_listen=(environ.get("TELEGRAM_WEBHOOK_LISTEN") or "").strip()
            or DEFAULT_WEBHOOK_LISTEN,
            webhook_secret=secret or secrets.token_urlsafe(WEBHOOK_SECRET_BYTES),
            instrument_dirs=tuple(
                Path(part)
                for part in environ.get(INSTRUMENTS_DIR_ENV, "").split(os.pathsep)
                if part
            ),
        )


def _valid_secret(secret: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 0 < len(secret) <= 256 and set(secret) <= allowed
