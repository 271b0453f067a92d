"""What a failed Web API call means for the message: wait, try again, or give up.

The sender never sleeps or loops; it turns each failure into a
:data:`~bot.delivery.api.SendResult` and the dispatcher acts on it:

- HTTP 429: :class:`Retry` after Slack's ``Retry-After``, naming the bucket that
  is exhausted (the conversation for chat.postMessage, whose limit is per
  channel; the method for tiered methods), so only that bucket pauses.
- Slack's own trouble (5xx, ``internal_error``...), network errors: a transient
  :class:`Retry`; the dispatcher backs off exponentially.
- A bad token or a missing scope: :class:`Retry` much later; an administrator can
  fix it and no message is lost meanwhile.
- Anything else (the member left, the bot is not in the channel, Slack refuses
  the blocks): :class:`Permanent` with Slack's error code, reported once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError

from adapters.slack.hooks import HookError
from adapters.slack.logs import api_error_code
from adapters.slack.rates import METHOD_TIERS, conversation_key, method_key
from bot.delivery.api import Delivery, Permanent, Retry, SendResult
from conversations.core.messages import DestinationKind, Outbound

logger = logging.getLogger(__name__)

# A DM that fails with one of these will not succeed by trying again.
UNREACHABLE_ERRORS = frozenset(
    {
        "cannot_dm_bot",
        "user_not_found",
        "user_not_visible",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
    }
)
# Slack's own hiccups: the same call may well work a little later.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# The app's token or scopes are wrong: an administrator can fix it, so keep the
# messages and try again now and then instead of failing every one of them.
CONFIGURATION_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "missing_scope"}
)
CONFIGURATION_RETRY_S = 300.0
DEFAULT_RETRY_AFTER_S = 1.0  # Slack always sends Retry-After; this is for a proxy that does not
MAX_RETRY_AFTER_S = 3600.0


def api_failure(delivery: Delivery, error: SlackApiError) -> SendResult:
    """The outcome of a Web API error (a 429 included: the client does not retry)."""
    response = error.response
    code = api_error_code(error)
    status = status_of(error)
    if status == 429:
        method = _method_of(response)
        after = retry_after(getattr(response, "headers", None))
        logger.info("slack %s rate limited; again in %.1f s", method or "call", after)
        return Retry(after=after, reason="ratelimited", limit_key=bucket_of(delivery, method))
    if code in TRANSIENT_ERRORS or status >= 500:
        return transient(delivery, code)
    if code in CONFIGURATION_ERRORS:
        logger.error("slack refused the bot's token or scopes: %s", code)
        return Retry(after=CONFIGURATION_RETRY_S, reason=code)
    _log_failed(delivery, code)
    return Permanent(reason=code)


def hook_failure(delivery: Delivery, error: HookError) -> SendResult:
    """The outcome of a response URL that did not take the reply."""
    if error.status == 429:
        return Retry(after=retry_after(error.headers), reason="ratelimited")
    if error.status >= 500:
        return transient(delivery, f"response_url_{error.status}")
    _log_failed(delivery, error.code)
    return Permanent(reason=error.code)


def transient(delivery: Delivery, reason: str) -> Retry:
    """Try again; the dispatcher's back-off (exponential, capped) says when."""
    logger.info("slack delivery %d failed (%s); to be tried again", delivery.outbox_id, reason)
    return Retry(after=0.0, reason=reason)


def unreachable(delivery: Delivery, result: SendResult) -> bool:
    """Whether ``result`` says the member's DM can no longer be reached."""
    return (
        isinstance(result, Permanent)
        and delivery.message.destination.kind is DestinationKind.DM
        and result.reason in UNREACHABLE_ERRORS
    )


def bucket_of(delivery: Delivery, method: str) -> str | None:
    """The bucket a 429 on ``method`` exhausted: the conversation's or the method tier's."""
    workspace = delivery.workspace
    if method == "chat.postMessage":
        return conversation_key(workspace=workspace, key=conversation_of(delivery.message))
    if method in METHOD_TIERS:
        return method_key(workspace=workspace, method=method)
    return None


def conversation_of(message: Outbound) -> str:
    """The conversation a message goes to: the channel, or ``dm:<user>`` for a DM.

    A DM is named by its member: its channel id is only known after
    conversations.open, and the bucket must be the same before and after.
    """
    destination = message.destination
    if destination.kind is DestinationKind.DM:
        return f"dm:{destination.user or ''}"
    return destination.team


def retry_after(headers: Mapping[str, object] | None) -> float:
    """Slack's ``Retry-After`` in seconds (any header case); a second when absent or odd."""
    for name, value in (headers or {}).items():
        if name.lower() != "retry-after":
            continue
        raw = value[0] if isinstance(value, list) and value else value
        try:
            seconds = float(str(raw))
        except ValueError:
            break
        if seconds != seconds:  # NaN
            break
        return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
    return DEFAULT_RETRY_AFTER_S


def status_of(error: SlackApiError) -> int:
    """The HTTP status of a Web API error (0 when there was no response)."""
    return int(getattr(error.response, "status_code", 0) or 0)


def _method_of(response: object) -> str:
    url = str(getattr(response, "api_url", "") or "")
    return url.rstrip("/").rsplit("/", 1)[-1]


def _log_failed(delivery: Delivery, code: str) -> None:
    destination = delivery.message.destination
    logger.warning(
        "slack delivery %d (%s %s/%s) failed for good: %s",
        delivery.outbox_id,
        destination.kind.value,
        destination.team or "-",
        destination.user or "-",
        code,
    )
