"""Flood control: PTB's AIORateLimiter plus Telegram's one-message-per-second per chat.

AIORateLimiter covers the overall limit (about 30 per second), the per-group limit
(about 20 per minute) and honours 429 ``retry_after`` up to ``max_retries``; it
has no per-chat limit for private chats, which a question-by-question walkthrough
would otherwise hit, so this subclass adds one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

from adapters.telegram.settings import TelegramLimits

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
_MAX_IDLE_LIMITERS = 512  # beyond this, limiters with full capacity are forgotten


class ChatRateLimiter(AIORateLimiter):
    """AIORateLimiter with an extra leaky bucket per chat id."""

    def __init__(self, *, limits: TelegramLimits) -> None:
        super().__init__(
            overall_max_rate=limits.overall_per_second,
            overall_time_period=1 if limits.overall_per_second else 0,
            group_max_rate=limits.group_per_minute,
            group_time_period=60 if limits.group_per_minute else 0,
            max_retries=limits.max_retries,
        )
        self._chat_interval = limits.per_chat_interval_s
        self._chat_limiters: dict[int | str, AsyncLimiter] = {}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        """Wait for the chat's turn, then let AIORateLimiter apply the other limits."""
        chat_id = data.get("chat_id")
        limiter = self._chat_limiter(chat_id) if chat_id is not None else None
        async with limiter or contextlib.nullcontext():
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

    def _chat_limiter(self, chat_id: int | str) -> AsyncLimiter | None:
        if self._chat_interval <= 0:
            return None
        if len(self._chat_limiters) > _MAX_IDLE_LIMITERS:
            for key, limiter in list(self._chat_limiters.items()):
                if key != chat_id and limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[key]
        known = self._chat_limiters.get(chat_id)
        if known is None:
            known = AsyncLimiter(max_rate=1, time_period=self._chat_interval)
            self._chat_limiters[chat_id] = known
        return known
