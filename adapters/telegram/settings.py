"""The Telegram adapter's configuration, read from the environment once at start.

Everything is injectable (an ``environ`` mapping, a :class:`TelegramLimits`) so
tests point the adapter at a fake Bot API server and speed up its rate limits
without touching the process environment. The bot token and the webhook secret
are ``SecretStr``: only PTB's calls get their value, never a repr or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from adapters.environment import EnvSettings, shown, stripped, whole_number, wrong
from conversations.core.limits import (
    TELEGRAM_GLOBAL_PER_SECOND,
    TELEGRAM_GROUP_PER_MINUTE,
    TELEGRAM_PER_CHAT_INTERVAL_S,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
DEFAULT_WEBHOOK_PORT = 8443
# A webhook sits behind the TLS proxy that Telegram calls; it must be reachable from
# that proxy, which is usually another host or container. The secret token guards it.
DEFAULT_WEBHOOK_LISTEN = "0.0.0.0"  # noqa: S104 - see the comment above
# Telegram allows 1-256 of [A-Za-z0-9_-]; a derived secret is 43 of them (256 bits).
_DERIVED_SECRET_LABEL = b"quickscan-bot telegram webhook secret v1"
_SECRET_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


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


def derived_secret(*, token: SecretStr) -> SecretStr:
    """The webhook secret when none is configured: an HMAC of a fixed label under the token.

    Every replica of one bot derives the same value, so whichever replica registered
    the webhook, all of them accept Telegram's requests (a random secret per start
    made only the last replica to start accept them). It reveals nothing of the
    token, and a new token gives a new secret.
    """
    digest = hmac.new(token.get_secret_value().encode(), _DERIVED_SECRET_LABEL, hashlib.sha256)
    return SecretStr(base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("="))


class TelegramSettings(EnvSettings):
    """The TELEGRAM_* variables, validated.

    Attributes:
        token: TELEGRAM_BOT_TOKEN.
        api_base_url: TELEGRAM_API_BASE_URL: another Bot API server (a local
            ``telegram-bot-api`` or a test fake), without ``/bot<token>``.
        webhook_url: TELEGRAM_WEBHOOK_URL; None means long polling.
        webhook_port: TELEGRAM_WEBHOOK_PORT, the local port the webhook listens on.
        webhook_listen: TELEGRAM_WEBHOOK_LISTEN, the local address to listen on.
        configured_secret: TELEGRAM_WEBHOOK_SECRET; when absent, ``webhook_secret``
            is derived from the token, so an unauthenticated webhook is never served.
    """

    token: SecretStr = Field(validation_alias="TELEGRAM_BOT_TOKEN")
    api_base_url: str = Field(
        default=DEFAULT_API_BASE_URL, validation_alias="TELEGRAM_API_BASE_URL"
    )
    webhook_url: str | None = Field(default=None, validation_alias="TELEGRAM_WEBHOOK_URL")
    webhook_port: int = Field(
        default=DEFAULT_WEBHOOK_PORT, validation_alias="TELEGRAM_WEBHOOK_PORT"
    )
    webhook_listen: str = Field(
        default=DEFAULT_WEBHOOK_LISTEN, validation_alias="TELEGRAM_WEBHOOK_LISTEN"
    )
    configured_secret: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )

    @property
    def webhook_secret(self) -> SecretStr:
        """The secret Telegram sends with every update: configured, or derived from the token."""
        return self.configured_secret or derived_secret(token=self.token)

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
        return cls.read(environ=environ, error=TelegramConfigError)

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, raw: Any) -> str:
        token = stripped(raw)
        if not token:
            raise wrong("is not set")
        return token

    @field_validator("api_base_url", mode="before")
    @classmethod
    def _api_base_url(cls, raw: Any) -> str:
        base = (stripped(raw) or DEFAULT_API_BASE_URL).rstrip("/")
        if urlsplit(base).scheme not in {"http", "https"}:
            raise wrong(f"must be an http(s) URL (got {shown(base)})")
        return base

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, raw: Any) -> str | None:
        url = stripped(raw)
        if not url:
            return None
        if urlsplit(url).scheme not in {"http", "https"}:
            # Not echoed: the URL's path may be secret (it only needs to be unguessable).
            raise wrong("must be an http(s) URL, e.g. https://bot.school.nl/telegram")
        return url

    @field_validator("webhook_port", mode="before")
    @classmethod
    def _webhook_port(cls, raw: Any) -> int:
        if not stripped(raw):
            return DEFAULT_WEBHOOK_PORT
        return whole_number(raw, low=1, high=65535)

    @field_validator("webhook_listen", mode="before")
    @classmethod
    def _webhook_listen(cls, raw: Any) -> str:
        return stripped(raw) or DEFAULT_WEBHOOK_LISTEN

    @field_validator("configured_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, raw: Any) -> SecretStr | None:
        secret = stripped(raw)
        if not secret:
            return None
        if not (len(secret) <= 256 and set(secret) <= _SECRET_CHARACTERS):
            raise wrong("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return SecretStr(secret)
