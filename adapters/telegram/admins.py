"""Group administrators count as coordinators: asked from Telegram, cached briefly.

One getChatAdministrators per group every few minutes instead of one per command
keeps a busy group within the flood limits; a promotion or demotion shows up
after at most ``ttl_s`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Bot
from telegram.error import RetryAfter, TelegramError

from adapters.telegram.roster import TelegramRoster

ADMIN_CACHE_SECONDS = 300.0
_LOG = logging.getLogger(__name__)


class AdminCache:
    """The administrators per group, refreshed when older than ``ttl_s``."""

    def __init__(
        self,
        *,
        roster: TelegramRoster,
        ttl_s: float = ADMIN_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._roster = roster
        self._ttl = ttl_s
        self._monotonic = monotonic
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}

    async def is_admin(self, *, bot: Bot, chat_id: int, user_id: int) -> bool:
        """Whether ``user_id`` administers ``chat_id``; False when Telegram cannot say.

        Raises:
            RetryAfter: Telegram asks to wait; the caller asks again later.
        """
        now = self._monotonic()
        cached = self._admins.get(chat_id)
        if cached is None or now - cached[0] > self._ttl:
            try:
                members = await bot.get_chat_administrators(chat_id=chat_id)
            except RetryAfter:
                raise
            except TelegramError as error:
                _LOG.warning(
                    "getChatAdministrators failed for chat %s: %s", chat_id, type(error).__name__
                )
                return False
            for member in members:
                # Administrators are in the group by definition: invite them too (a
                # database upsert, so off the event loop).
                await asyncio.to_thread(self._roster.seen, group=str(chat_id), user=member.user)
            cached = (now, frozenset(member.user.id for member in members))
            self._admins[chat_id] = cached
        return user_id in cached[1]

    def forget(self, *, chat_id: int) -> None:
        """A group moved to a new chat id: its old entry serves nobody."""
        self._admins.pop(chat_id, None)
