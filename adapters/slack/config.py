"""The Slack adapter's configuration, read from the environment once at start.

Two transports exist. Socket Mode (bot token + app-level token) needs no public
URL, which suits a school without its own web server, so it is the default
whenever an app token is present. HTTP mode (bot token + signing secret) serves
Slack's request URL and verifies every request's signature.

The tokens and the signing secret are ``SecretStr``: only the SDK calls get their
value, so a repr or a log line of the configuration never carries them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.environment import EnvSettings, shown, stripped, whole_number, wrong

PLATFORM = "slack"
DEFAULT_PORT = 3000
DEFAULT_HOST = "127.0.0.1"
EVENTS_PATH = "/slack/events"
MAX_MESSAGES_PER_SECOND = 100.0  # far above anything Slack grants one app
MAX_PORT = 65535


class SlackMode(enum.StrEnum):
    """How Slack reaches the bot."""

    SOCKET = "socket"  # the bot dials out over a WebSocket (SLACK_APP_TOKEN)
    HTTP = "http"  # Slack POSTs to the bot's request URL (SLACK_SIGNING_SECRET)


class SlackConfigError(ValueError):
    """The Slack variables are incomplete or contradictory; the message says which."""


class SlackConfig(EnvSettings):
    """Everything the Slack adapter reads from its environment.

    Attributes:
        bot_token: ``xoxb-`` token for the Web API (SLACK_BOT_TOKEN).
        mode: Socket Mode or HTTP mode (SLACK_MODE; chosen from the tokens when unset).
        app_token: ``xapp-`` app-level token (Socket Mode only; SLACK_APP_TOKEN).
        signing_secret: Verifies Slack's requests (HTTP mode only; SLACK_SIGNING_SECRET).
        host: Address the HTTP server binds to (SLACK_HOST); loopback unless a
            reverse proxy on another host needs more.
        port: HTTP port (SLACK_PORT); 0 picks a free one (tests).
        api_url: Base URL of the Web API (SLACK_API_URL); only the tests' fake changes it.
        messages_per_second: New messages the bot may post per second across the
            workspace (``SLACK_MESSAGES_PER_SECOND``); a round's invitations go out
            at this pace. None keeps Slack's conservative default.
    """

    bot_token: SecretStr = Field(validation_alias="SLACK_BOT_TOKEN")
    mode: SlackMode = Field(validation_alias="SLACK_MODE")
    app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    host: str = Field(default=DEFAULT_HOST, validation_alias="SLACK_HOST")
    port: int = Field(default=DEFAULT_PORT, validation_alias="SLACK_PORT")
    api_url: str | None = Field(default=None, validation_alias="SLACK_API_URL")
    messages_per_second: float | None = Field(
        default=None, validation_alias="SLACK_MESSAGES_PER_SECOND"
    )

    @classmethod
    def from_environ(cls, *, environ: Mapping[str, str]) -> SlackConfig:
        """Read ``SLACK_*`` variables; fail with a message naming what is missing.

        Raises:
            SlackConfigError: when neither transport is fully configured, a value
                is malformed, or ``SLACK_MODE`` asks for a transport whose
                variables are missing.
        """
        return cls.read(environ=environ, error=SlackConfigError)

    @model_validator(mode="before")
    @classmethod
    def _transport(cls, data: Any) -> Any:
        """Choose the transport and keep only its credential (the other one is unused)."""
        if not isinstance(data, dict):
            return data
        values = dict(data)
        if not stripped(values.get("SLACK_BOT_TOKEN")):
            raise wrong("Slack is not configured: SLACK_BOT_TOKEN (xoxb-...) is empty.")
        app_token = stripped(values.get("SLACK_APP_TOKEN")) or None
        secret = stripped(values.get("SLACK_SIGNING_SECRET")) or None
        mode = _choose_mode(stripped(values.get("SLACK_MODE")), app_token=app_token, secret=secret)
        if (
            mode is SlackMode.SOCKET
            and app_token is not None
            and not app_token.startswith("xapp-")
        ):
            raise wrong(
                "SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' "
                "(Basic Information > App-Level Tokens, scope connections:write)."
            )
        values["SLACK_MODE"] = mode
        values["SLACK_APP_TOKEN"] = app_token if mode is SlackMode.SOCKET else None
        values["SLACK_SIGNING_SECRET"] = secret if mode is SlackMode.HTTP else None
        return values

    @field_validator("bot_token", mode="before")
    @classmethod
    def _bot_token(cls, raw: Any) -> str:
        return stripped(raw)

    @field_validator("host", mode="before")
    @classmethod
    def _host(cls, raw: Any) -> str:
        return stripped(raw) or DEFAULT_HOST

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, raw: Any) -> int:
        if not stripped(raw):
            return DEFAULT_PORT
        return whole_number(raw, low=0, high=MAX_PORT)

    @field_validator("api_url", mode="before")
    @classmethod
    def _api_url(cls, raw: Any) -> str | None:
        url = stripped(raw)
        if not url:
            return None
        return url if url.endswith("/") else url + "/"  # slack_sdk joins method names on

    @field_validator("messages_per_second", mode="before")
    @classmethod
    def _rate(cls, raw: Any) -> float | None:
        text = stripped(raw)
        if not text:
            return None
        message = f"must be a number above 0 and at most {MAX_MESSAGES_PER_SECOND:g}"
        try:
            rate = float(text)
        except ValueError:
            raise wrong(f"{message} (got {shown(text)})") from None
        if math.isnan(rate) or not 0.0 < rate <= MAX_MESSAGES_PER_SECOND:
            raise wrong(f"{message} (got {shown(text)})")
        return rate


def _choose_mode(wanted: str, *, app_token: str | None, secret: str | None) -> SlackMode:
    """Socket Mode when an app token is there, else HTTP; SLACK_MODE decides when both are."""
    wanted = wanted.lower()
    if wanted and wanted not in {mode.value for mode in SlackMode}:
        raise wrong(f"SLACK_MODE must be 'socket' or 'http' (got {shown(wanted)}).")
    if wanted == SlackMode.HTTP or (not wanted and app_token is None):
        if secret is None:
            raise wrong(
                f"Slack needs a transport: set SLACK_APP_TOKEN (xapp-..., Socket Mode, no "
                f"public URL needed) or SLACK_SIGNING_SECRET (HTTP mode, Slack posts to "
                f"https://<your host>{EVENTS_PATH})."
            )
        return SlackMode.HTTP
    if app_token is None:
        raise wrong("SLACK_MODE=socket needs SLACK_APP_TOKEN (xapp-...).")
    return SlackMode.SOCKET
