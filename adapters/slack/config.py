"""The Slack adapter's configuration, read from the environment once at start.

Two transports exist. Socket Mode (bot token + app-level token) needs no public
URL, which suits a school without its own web server, so it is the default
whenever an app token is present. HTTP mode (bot token + signing secret) serves
Slack's request URL and verifies every request's signature.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

PLATFORM = "slack"
DEFAULT_PORT = 3000
DEFAULT_HOST = "127.0.0.1"
EVENTS_PATH = "/slack/events"
MAX_MESSAGES_PER_SECOND = 100.0  # far above anything Slack grants one app


class SlackMode(enum.StrEnum):
    """How Slack reaches the bot."""

    SOCKET = "socket"  # the bot dials out over a WebSocket (SLACK_APP_TOKEN)
    HTTP = "http"  # Slack POSTs to the bot's request URL (SLACK_SIGNING_SECRET)


class SlackConfigError(ValueError):
    """The Slack variables are incomplete or contradictory; the message says which."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackConfig:
    """Everything the Slack adapter reads from its environment.

    Attributes:
        bot_token: ``xoxb-`` token for the Web API.
        mode: Socket Mode or HTTP mode.
        app_token: ``xapp-`` app-level token (Socket Mode only).
        signing_secret: Verifies Slack's requests (HTTP mode only).
        host: Address the HTTP server binds to; loopback unless a reverse proxy
            on another host needs more.
        port: HTTP port; 0 picks a free one (tests).
        api_url: Base URL of the Web API; only the tests' fake changes it.
        messages_per_second: New messages the bot may post per second across the
            workspace (``SLACK_MESSAGES_PER_SECOND``); a round's invitations go out
            at this pace. None keeps Slack's conservative default.
    """

    bot_token: str
    mode: SlackMode
    app_token: str | None = None
    signing_secret: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_url: str | None = None
    messages_per_second: float | None = None

    @classmethod
    def from_environ(cls, *, environ: Mapping[str, str]) -> SlackConfig:
        """Read ``SLACK_*`` variables; fail with a message naming what is missing.

        Raises:
            SlackConfigError: when neither transport is fully configured, a value
                is malformed, or ``SLACK_MODE`` asks for a transport whose
                variables are missing.
        """
        bot_token = environ.get("SLACK_BOT_TOKEN", "").strip()
        app_token = environ.get("SLACK_APP_TOKEN", "").strip() or None
        secret = environ.get("SLACK_SIGNING_SECRET", "").strip() or None
        if not bot_token:
            raise SlackConfigError("Slack is not configured: SLACK_BOT_TOKEN (xoxb-...) is empty.")
        mode = _choose_mode(environ.get("SLACK_MODE", ""), app_token=app_token, secret=secret)
        if (
            mode is SlackMode.SOCKET
            and app_token is not None
            and not app_token.startswith("xapp-")
        ):
            raise SlackConfigError(
                "SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' "
                "(Basic Information > App-Level Tokens, scope connections:write)."
            )
        api_url = environ.get("SLACK_API_URL", "").strip() or None
        if api_url is not None and not api_url.endswith("/"):
            api_url += "/"  # slack_sdk joins method names onto the base URL
        return cls(
            bot_token=bot_token,
            mode=mode,
            app_token=app_token if mode is SlackMode.SOCKET else None,
            signing_secret=secret if mode is SlackMode.HTTP else None,
            host=environ.get("SLACK_HOST", "").strip() or DEFAULT_HOST,
            port=_port(environ.get("SLACK_PORT", "")),
            api_url=api_url,
            messages_per_second=_rate(environ.get("SLACK_MESSAGES_PER_SECOND", "")),
        )


def _choose_mode(requested: str, *, app_token: str | None, secret: str | None) -> SlackMode:
    """Socket Mode when an app token is there, else HTTP; SLACK_MODE decides when both are."""
    wanted = requested.strip().lower()
    if wanted and wanted not in {mode.value for mode in SlackMode}:
        raise SlackConfigError(f"SLACK_MODE must be 'socket' or 'http', not {requested!r}.")
    if wanted == SlackMode.HTTP or (not wanted and app_token is None):
        if secret is None:
            raise SlackConfigError(
                "Slack needs a transport: set SLACK_APP_TOKEN (xapp-..., Socket Mode, no public "
                "URL needed) or SLACK_SIGNING_SECRET (HTTP mode, Slack posts to "
                f"https://<your host>{EVENTS_PATH})."
            )
        return SlackMode.HTTP
    if app_token is None:
        raise SlackConfigError("SLACK_MODE=socket needs SLACK_APP_TOKEN (xapp-...).")
    return SlackMode.SOCKET


def _port(raw: str) -> int:
    if not raw.strip():
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        raise SlackConfigError(f"SLACK_PORT must be a number, not {raw!r}.") from None
    if not 0 <= port <= 65535:
        raise SlackConfigError(f"SLACK_PORT must be between 0 and 65535, not {port}.")
    return port


def _rate(raw: str) -> float | None:
    if not raw.strip():
        return None
    try:
        rate = float(raw)
    except ValueError:
        raise SlackConfigError(
            f"SLACK_MESSAGES_PER_SECOND must be a number, not {raw!r}."
        ) from None
    if not 0.0 < rate <= MAX_MESSAGES_PER_SECOND:
        raise SlackConfigError(
            f"SLACK_MESSAGES_PER_SECOND must be above 0 and at most {MAX_MESSAGES_PER_SECOND:g}."
        )
    return rate
