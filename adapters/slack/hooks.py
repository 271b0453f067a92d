"""A slash command's response URL: how a reply reaches someone where the bot cannot post.

chat.postEphemeral needs the bot in the channel. A slash command's ``response_url``
(valid for 30 minutes, a few uses) reaches the person anyway, which is how
"invite the bot first" gets through. The URL arrives in a request, so only
Slack's own hook host (and the configured API host, the tests' fake) is trusted:
the bot never POSTs to an address a payload chose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.webhook import WebhookClient

SLACK_HOOKS = "https://hooks.slack.com/"
REQUEST_TIMEOUT_S = 30
_CODE = re.compile(r"^[a-z_]{1,40}$")


class HookError(Exception):
    """The response URL answered, but not 200 (expired, used up, rate limited)."""

    def __init__(self, *, status: int, code: str, headers: Mapping[str, Any]) -> None:
        super().__init__(f"response_url answered {status}: {code}")
        self.status = status
        self.code = code
        self.headers = dict(headers)


class ResponseUrls:
    """Sends ephemeral replies to trusted response URLs, without retrying or sleeping."""

    def __init__(self, *, api_url: str | None) -> None:
        self._prefixes = (SLACK_HOOKS, *_origin_prefix(api_url))

    def trusted(self, url: str | None) -> bool:
        """Whether ``url`` is one of Slack's hooks (or the configured API host's)."""
        return url is not None and url.startswith(self._prefixes)

    def send(self, *, url: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """POST an ephemeral reply.

        Raises:
            HookError: unless Slack answered 200; the code is Slack's short error
                text (``expired_url``, ``used_url``) or the HTTP status.
        """
        client = WebhookClient(url=url, timeout=REQUEST_TIMEOUT_S, retry_handlers=[])
        response = client.send(text=text, blocks=blocks, response_type="ephemeral")
        if response.status_code == 200:
            return
        body = (response.body or "").strip()
        code = body if _CODE.match(body) else f"response_url_{response.status_code}"
        raise HookError(status=response.status_code, code=code, headers=response.headers or {})


def _origin_prefix(url: str | None) -> tuple[str, ...]:
    """``scheme://host:port/`` of a configured base URL."""
    if not url:
        return ()
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}/",)
