"""The Web API client: one per process, and it never retries or sleeps by itself.

slack_sdk's retry handlers sleep inside the call (a 429's Retry-After, a
connection error's back-off). A sleeping call holds a delivery thread and, worse,
an inbound listener, so every handler is off: a 429 or a network error comes back
to the caller at once, and the delivery dispatcher decides when to try again.
"""

from __future__ import annotations

from slack_sdk import WebClient

from adapters.slack.config import SlackConfig

REQUEST_TIMEOUT_S = 30


def make_web_client(*, config: SlackConfig) -> WebClient:
    """A WebClient on the bot token, pointed at ``SLACK_API_URL`` when set."""
    token = config.bot_token.get_secret_value()  # handed to the SDK, nowhere else
    if config.api_url is not None:
        return WebClient(
            token=token, base_url=config.api_url, timeout=REQUEST_TIMEOUT_S, retry_handlers=[]
        )
    return WebClient(token=token, timeout=REQUEST_TIMEOUT_S, retry_handlers=[])
