"""The Web API client: one per process, retrying rate limits instead of failing.

Slack answers HTTP 429 with a Retry-After header when a method's tier is
exhausted; slack_sdk's retry handler sleeps that long and tries again, a bounded
number of times, so a burst never loses a message and never loops forever.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from adapters.slack.config import SlackConfig

# Bounded: after this many 429s in a row the call fails and is logged, not retried.
RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2
REQUEST_TIMEOUT_S = 30


def make_web_client(*, config: SlackConfig) -> WebClient:
    """A WebClient on the bot token, pointed at ``SLACK_API_URL`` when set."""
    handlers = [
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    if config.api_url is not None:
        return WebClient(
            token=config.bot_token,
            base_url=config.api_url,
            timeout=REQUEST_TIMEOUT_S,
            retry_handlers=handlers,
        )
    return WebClient(token=config.bot_token, timeout=REQUEST_TIMEOUT_S, retry_handlers=handlers)
