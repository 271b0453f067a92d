"""Pinning a team post in Slack: the step after the post went out, never part of it.

A pinned team post (the team's agreed plan, ``Outbound.pin``) is pinned with
pins.add once all of it went out (``adapters.slack.sender`` calls
:func:`pin_post` last). The pin is an extra, never part of the delivery: whatever
pins.add answers (``not_pinnable``, a missing ``pins:write`` scope, a 429 despite
the pins.add bucket the sender's limits name), the post counts as sent and is
never posted again; the failure is logged by its error code, without content.
It lives apart from the sender because its failures are handled the other way
round: the sender turns every error into a retry or a refusal, this step
swallows them all.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack.logs import api_error_code
from adapters.slack.outcomes import CONFIGURATION_ERRORS
from conversations.core.messages import DestinationKind, Outbound

logger = logging.getLogger(__name__)

PIN_METHOD = "pins.add"
_NOT_PINNED = "slack delivery %d posted in %s but not pinned: %s"


def wants_pin(message: Outbound) -> bool:
    """Whether the message is a post to pin: only a team channel has pins."""
    return message.pin and message.destination.kind is DestinationKind.TEAM


def pin_post(*, client: WebClient, outbox_id: int, channel: str, ts: str | None) -> None:
    """Pin a post's first message (``ts``); a refusal is logged and the post stays sent.

    Never raises for Slack's answer: the post already went out, and a Retry would
    post it again from another process (the sender's progress is this process's only).

    Args:
        client: The sender's Web API client.
        outbox_id: The outbox row, the only thing the log names besides the channel.
        channel: The team channel the post went to.
        ts: Its first top-level message; None when only a file went out (Slack
            cannot pin a file).
    """
    if not ts:
        logger.warning("slack delivery %d posted only a file: not pinned", outbox_id)
        return
    try:
        client.pins_add(channel=channel, timestamp=ts)
    except SlackApiError as error:
        code = api_error_code(error)
        if code == "already_pinned":  # an earlier attempt's pin whose answer was lost
            return
        # A missing scope is the administrator's to fix (reinstall with pins:write).
        level = logging.ERROR if code in CONFIGURATION_ERRORS else logging.WARNING
        logger.log(level, _NOT_PINNED, outbox_id, channel, code)
    except (SlackClientError, OSError) as error:  # network, timeouts
        logger.warning(_NOT_PINNED, outbox_id, channel, type(error).__name__)
