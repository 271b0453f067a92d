"""The engine's front door: screen every event before a command or the database sees it.

Whatever an adapter passes on was typed or chosen by someone: a NUL byte, a lone
surrogate, a 100 kB line, a display name of control characters. Text the bot
cannot store or show is refused here, once, with a clear private answer, instead
of in every command; what is merely untidy (a display name) is cleaned. And when
something still fails deeper down, :func:`failure_reply` answers the sender
privately and :func:`log_failure` records what failed without a word of content.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.commands.parse import is_command
from bot.core import logging_setup
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound, Sender, Where
from conversations.core.text_input import INPUT_MAX_CHARS, clean_display_name, is_safe_text

_LOG = logging.getLogger("bot.core.engine")

# Platform ids, workspace and channel ids and delivery ids are short; anything
# longer or unprintable did not come from a platform and is dropped unanswered.
IDENTIFIER_MAX_CHARS = 255  # storage.models.quickscan.REF_LENGTH: the id columns
# A button payload is at most 64 bytes; a little slack so "too long" reads as forged.
PAYLOAD_MAX_CHARS = 256


def addressed(event: Inbound) -> bool:
    """Whether the event asks the bot for something (a DM, a command, a button).

    Team-channel chatter is not for the bot: it is neither screened nor answered.
    """
    return event.where is Where.DM or event.payload is not None or is_command(event.text)


def identifiers_usable(event: Inbound) -> bool:
    """Whether every id of the event can be stored and answered."""
    ids = [event.platform, event.workspace, event.team, event.sender.user]
    if event.event_id is not None:
        ids.append(event.event_id)
    return all(len(value) <= IDENTIFIER_MAX_CHARS and is_safe_text(value) for value in ids) and (
        bool(event.sender.user)
    )


def refusal_key(event: Inbound) -> str | None:
    """The catalogue key of the reason an addressed event is refused, or None if it is fine."""
    if event.payload is not None and (
        len(event.payload) > PAYLOAD_MAX_CHARS or not is_safe_text(event.payload)
    ):
        return "dm.invalid_button"
    if len(event.text) > INPUT_MAX_CHARS:
        return "input.too_long"
    if not is_safe_text(event.text):
        return "input.unsafe"
    return None


def clean_sender(sender: Sender) -> Sender:
    """The sender with a display name fit to show (no control characters, capped)."""
    name = clean_display_name(sender.display_name, fallback=sender.user)
    return sender if name == sender.display_name else Sender(user=sender.user, display_name=name)


def with_clean_sender(event: Inbound) -> Inbound:
    """The event with its sender's display name cleaned (see :func:`clean_sender`)."""
    sender = clean_sender(event.sender)
    return event if sender is event.sender else replace(event, sender=sender)


# A join token is what ``secrets.token_urlsafe`` writes, within a deep link's limit;
# on Telegram anyone can type ``/start <anything>`` by hand.
_JOIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


def usable_token(token: str) -> bool:
    """Whether a join token has the only form the bot ever hands out."""
    return _JOIN_TOKEN.fullmatch(token) is not None


def private_reply(event: Inbound, text: str) -> Outbound:
    """An answer only the sender sees: in their DM, or ephemeral in the channel."""
    if event.where is Where.DM:
        destination = Destination.dm(team=event.team, user=event.sender.user)
    else:
        destination = Destination.ephemeral(team=event.team, user=event.sender.user)
    return Outbound(destination=destination, text=text)


def refusal(event: Inbound, *, key: str, texts: Catalogue) -> Outbound:
    """The private answer to a refused event; nothing has changed."""
    return private_reply(event, texts.t(key, max=INPUT_MAX_CHARS))


def is_outage(error: BaseException) -> bool:
    """Whether the database could not be reached (as opposed to a bug)."""
    return isinstance(error, OperationalError | InterfaceError)


def failure_reply(event: Inbound, error: BaseException) -> Outbound:
    """The sender's private notice that their message was not handled; nothing is said
    about why beyond "database unreachable", since exception texts may carry content."""
    key = "input.database_down" if is_outage(error) else "input.failed"
    return private_reply(event, Catalogue().t(key))


def event_kind(event: Inbound) -> str:
    """What sort of event failed, for the log: never its text."""
    if event.payload is not None:
        return "button"
    if event.where is Where.DM:
        return "dm text"
    return "team command" if is_command(event.text) else "team text"


def log_failure(error: BaseException, event: Inbound) -> None:
    """Log an unexpected failure: event kind, platform, exception type and frames.

    No message: an exception's message can quote the input (an answer, a pupil
    code, an SQL parameter), and logs must never hold those. The one helper for
    that is :func:`bot.core.logging_setup.log_failure`.
    """
    platform = event.platform[:32] if is_safe_text(event.platform) else "?"
    logging_setup.log_failure(
        _LOG, f"handling a {event_kind(event)} event", error, platform=platform
    )


def log_dropped(event: Inbound) -> None:
    """Note an event whose ids no platform would send (too long or unprintable)."""
    _LOG.warning("dropped a %s event with unusable identifiers", event_kind(event))
