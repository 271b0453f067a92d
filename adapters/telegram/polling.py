"""Long polling that confirms an update only after it was handled (see ``intake``).

While no update is in hand, getUpdates waits on Telegram's side for the next
one (long polling). While updates are being handled, the offset cannot pass
them, so Telegram would answer at once with those same updates: then the loop
asks again as soon as one of them is finished, or after a short moment, to
pick up other chats' updates without holding them up.

Telegram returns at most 100 unconfirmed updates at a time. An update that
waits long (Telegram asked for a pause on a lookup it needs) with a hundred
more behind it therefore holds up the intake of every chat until it is done;
the wait is Telegram's, and bounded (``intake.MAX_DEFERRALS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from adapters.telegram.delivery import retry_seconds
from adapters.telegram.intake import Intake

_LOG = logging.getLogger(__name__)
# Update types the bot asks for: messages, button presses, and membership changes
# (the bot's own, e.g. a user blocking it; others' where the bot is an administrator).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member", "chat_member")
REPOLL_S = 0.1  # updates in hand: ask again this soon at the latest for other chats'
FIRST_ERROR_WAIT_S = 1.0
MAX_ERROR_WAIT_S = 30.0


async def poll(*, bot: Bot, intake: Intake, stop: asyncio.Event, timeout_s: int) -> None:
    """Fetch updates and hand them to ``intake`` until ``stop`` is set."""
    failures = 0
    while not stop.is_set():
        busy, mark = intake.busy, intake.finished
        try:
            updates = await _until_stopped(
                bot.get_updates(
                    offset=intake.offset,
                    timeout=0 if busy else timeout_s,
                    allowed_updates=list(ALLOWED_UPDATES),
                ),
                stop,
            )
        except InvalidToken:
            raise
        except RetryAfter as error:
            await _wait(stop, retry_seconds(error))
            continue
        except TelegramError as error:
            failures += 1
            wait = min(FIRST_ERROR_WAIT_S * 2 ** (failures - 1), MAX_ERROR_WAIT_S)
            _LOG.warning("getUpdates failed (%s); again in %.0f s", type(error).__name__, wait)
            await _wait(stop, wait)
            continue
        if updates is None:
            return  # stopped
        failures = 0
        fresh = [update for update in updates if intake.offer(update)]
        if intake.busy and not fresh:
            await intake.progressed(since=mark, within_s=REPOLL_S)


async def confirm(*, bot: Bot, intake: Intake) -> None:
    """Tell Telegram which updates were handled (a last getUpdates that waits for nothing).

    What is not confirmed (still in hand at the stop, or this call failing) is
    sent again to the next process; the engine's redelivery claim catches what
    it had handled already.
    """
    offset = intake.offset
    if offset is None:
        return
    try:
        await bot.get_updates(offset=offset, timeout=0, limit=1)
    except TelegramError as error:
        _LOG.warning("confirming the handled updates failed: %s", type(error).__name__)


async def _until_stopped(
    request: Coroutine[Any, Any, tuple[Update, ...]], stop: asyncio.Event
) -> tuple[Update, ...] | None:
    """The request's answer, or None when ``stop`` comes first (the request is cancelled)."""
    fetch = asyncio.ensure_future(request)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not fetch.done():
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError, TelegramError):
            await fetch
        return None
    return fetch.result()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
