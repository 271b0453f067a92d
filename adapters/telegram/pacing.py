"""Telegram's flood limits as the dispatcher's token buckets.

Telegram asks bots to send about one message a second per chat, at most twenty
a minute per group and about thirty a second overall. Each send takes a token
from the buckets :meth:`Pacing.limits` names; the dispatcher holds a message
back (in the outbox, not in a sleeping thread) until every one of them has a
token, so a busy chat waits alone. A 429 that comes all the same pauses the
bucket :meth:`Pacing.exhausted` names: the chat's, or for a group the group's.
"""

from __future__ import annotations

from adapters.telegram.settings import TelegramLimits
from bot.delivery.api import Limit


class Pacing:
    """The buckets of one bot's sends."""

    def __init__(self, *, limits: TelegramLimits) -> None:
        """Pace by ``limits``; a limit set to 0 is left out (tests)."""
        self._limits = limits

    def limits(self, *, workspace: str, chat: int | None) -> list[Limit]:
        """Overall, the target chat (about one a second) and, for a group, 20 a minute."""
        settings = self._limits
        found: list[Limit] = []
        if settings.overall_per_second > 0:
            rate = settings.overall_per_second
            found.append(
                Limit(key=f"telegram:{workspace}:all", per_second=rate, burst=max(int(rate), 1))
            )
        if chat is None:
            return found
        if settings.per_chat_interval_s > 0:
            found.append(
                Limit(key=chat_key(workspace, chat), per_second=1 / settings.per_chat_interval_s)
            )
        if chat < 0 and settings.group_per_minute > 0:
            per_minute = settings.group_per_minute
            found.append(
                Limit(
                    key=group_key(workspace, chat),
                    per_second=per_minute / 60,
                    burst=max(int(per_minute), 1),
                )
            )
        return found

    @staticmethod
    def exhausted(*, workspace: str, chat: int) -> str:
        """The bucket a 429 for ``chat`` pauses: a group's own, else the chat's."""
        return group_key(workspace, chat) if chat < 0 else chat_key(workspace, chat)


def chat_key(workspace: str, chat: int) -> str:
    """The bucket of one chat (about one message a second); groups are chats too."""
    return f"telegram:{workspace}:chat:{chat}"


def group_key(workspace: str, chat: int) -> str:
    """The bucket of one group (about twenty messages a minute)."""
    return f"telegram:{workspace}:group:{chat}"
