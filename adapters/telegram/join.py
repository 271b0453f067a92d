"""A round's "Doe mee" link works only for members of the round's group.

The link can be forwarded to anyone. Before the engine invites whoever opened
it, the adapter asks Telegram about that person's standing in the round's group
(``adapters.telegram.membership``) and refuses everyone who is not in it,
privately, without storing anything about them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, User

from adapters.telegram.membership import Standing, group_standing
from adapters.telegram.origin import chat_id_of
from adapters.telegram.roster import PLATFORM, TelegramRoster
from bot.core.engine import Engine
from conversations.core.messages import Destination, Outbound

_LOG = logging.getLogger(__name__)
Run = Callable[..., Awaitable[Any]]


class JoinCheck:
    """Decides whether a join link may invite the person who opened it."""

    def __init__(self, *, engine: Engine, roster: TelegramRoster, run: Run) -> None:
        """``run`` calls a blocking engine function off the event loop."""
        self._engine = engine
        self._roster = roster
        self._run = run

    async def refusal(self, *, bot: Bot, user: User, token: str) -> Outbound | None:
        """A private refusal when ``user`` is not in the group of the round ``token`` opens.

        An unknown token passes (the engine answers it). When Telegram cannot say
        (an error, the bot removed from the group), the join is refused too, with
        another text: joining is for members only, so doubt means no.

        Raises:
            RetryAfter: Telegram asks to wait before it answers.
        """
        found = await self._run(
            self._engine.store.round_by_token,
            platform=PLATFORM,
            workspace=self._roster.workspace,
            token=token,
        )
        if found is None:
            return None
        key, _round = found
        group = chat_id_of(key.team)
        standing = (
            Standing.UNKNOWN
            if group is None
            else await group_standing(bot=bot, chat_id=group, user_id=user.id)
        )
        if standing is Standing.MEMBER:
            return None
        _LOG.info(
            "join link of group %s refused for user %s: %s", key.team, user.id, standing.value
        )
        texts = await self._run(self._engine.texts_for, key)
        text_key = (
            "platform.join_not_member"
            if standing is Standing.NOT_MEMBER
            else "platform.join_check_failed"
        )
        return Outbound(
            destination=Destination.dm(team="", user=str(user.id)), text=texts.t(text_key)
        )
