"""Is this person in that group? Asked from Telegram (getChatMember) before a join link works.

A round's "Doe mee" link can be forwarded to anyone. Whoever opens it would be
invited and counted, so a few extra accounts could pad a round to its minimum and
expose the one real colleague. The adapter therefore asks Telegram about the
person's standing in the round's group first and refuses everyone who is not in
it. When Telegram cannot say (an error, the bot removed from the group), the
answer is "unknown" and the join is refused as well, with a different text:
joining is for members only, so doubt means no.
"""

from __future__ import annotations

import enum
import logging

from telegram import Bot, ChatMember, ChatMemberRestricted
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.core.logging_setup import log_failure

_LOG = logging.getLogger(__name__)
_IN_GROUP = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER})
# Telegram's answers for "this user is nobody in this chat" (no standing at all).
_NOT_A_PARTICIPANT = ("user not found", "participant_id_invalid", "user_not_participant")


class Standing(enum.Enum):
    """What Telegram says about a user in a group."""

    MEMBER = "member"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"


def standing_of(member: ChatMember) -> Standing:
    """Creator, administrator, member, or restricted while still in the group: a member."""
    if member.status in _IN_GROUP:
        return Standing.MEMBER
    if isinstance(member, ChatMemberRestricted) and member.is_member:
        return Standing.MEMBER
    return Standing.NOT_MEMBER  # left, kicked, or restricted after leaving


async def group_standing(*, bot: Bot, chat_id: int, user_id: int) -> Standing:
    """Ask Telegram (getChatMember); an unknown user is no member, any other failure unknown.

    Raises:
        RetryAfter: Telegram asks to wait; the caller asks again later (nothing
            here waits).
    """
    try:
        member = await bot.get_chat_member(chat_id=chat_id, user_id=user_id)
    except RetryAfter:
        raise
    except BadRequest as error:
        if any(reason in error.message.lower() for reason in _NOT_A_PARTICIPANT):
            return Standing.NOT_MEMBER
        _LOG.warning("getChatMember for chat %s refused: %s", chat_id, type(error).__name__)
        return Standing.UNKNOWN
    except TelegramError as error:
        _LOG.warning("getChatMember for chat %s failed: %s", chat_id, type(error).__name__)
        return Standing.UNKNOWN
    except (TypeError, ValueError, KeyError) as error:
        # An answer PTB cannot read (a Bot API change): doubt means no.
        log_failure(_LOG, "reading getChatMember's answer", error, chat=chat_id)
        return Standing.UNKNOWN
    return standing_of(member)
