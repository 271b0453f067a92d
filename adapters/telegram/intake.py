"""Durable intake: an update is confirmed to Telegram only after it was handled.

Telegram forgets an update once the bot confirms it: by asking getUpdates for a
higher ``offset``, or by answering the webhook POST with 200. PTB's Updater
confirms every update it fetched with its next getUpdates, before the handlers
ran, so a crash in between lost a button press for good. Here the offset only
passes an update once the handler finished with it (the engine committed the
event and queued its replies), and the webhook answers after the handler.

Updates of one chat are handled one after the other, in order; updates of
different chats side by side, so one busy or waiting chat never holds up the
others. Telegram can ask the bot to wait (a 429 on a lookup the handler needs):
then only that chat's updates wait, on a timer, never a sleeping thread.

Because the offset cannot pass an update still in hand, getUpdates keeps
returning the updates being handled; they are recognised by id and not handled
twice. A restart may see an update again that was handled but not confirmed
yet: the engine's redelivery claim makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Update

from bot.core.logging_setup import log_failure

_LOG = logging.getLogger(__name__)
MAX_FAILURES = 5  # a handler failing this often for one update gives up on it
MAX_DEFERRALS = 10  # Telegram asking to wait this often for one update: give up too
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0

Handler = Callable[[Update], Awaitable[None]]


class UpdateDeferred(Exception):
    """Telegram asked to wait ``after`` seconds before what this update needs can be done.

    Raised by a handler before anything was committed; the update is handled
    again after the wait, and the chat's later updates wait behind it.
    """

    def __init__(self, *, after: float) -> None:
        super().__init__(f"deferred for {after:.1f} s")
        self.after = after


@dataclass(eq=False)
class _Lane:
    """One chat's updates, handled in order by one task."""

    queue: deque[tuple[Update, asyncio.Future[bool]]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class Intake:
    """Hands updates to the handler and knows which of them may be confirmed.

    Lives on the bot's event loop; none of its methods may be called elsewhere.
    """

    def __init__(
        self, *, handle: Handler, give_up: Handler, first_backoff_s: float = FIRST_BACKOFF_S
    ) -> None:
        """Handle updates with ``handle``; ``give_up`` tells the person when it keeps failing.

        ``handle`` raises :class:`UpdateDeferred` when Telegram asks it to wait,
        and any other exception when it failed before committing anything; the
        next try then comes after ``first_backoff_s``, doubling up to a cap.
        """
        self._handle = handle
        self._give_up = give_up
        self._first_backoff_s = first_backoff_s
        self._lanes: dict[str, _Lane] = {}
        self._pending: set[int] = set()
        self._done: set[int] = set()
        self._highest: int | None = None
        self._finished = 0
        self._progress = asyncio.Event()
        self._closing = asyncio.Event()

    # ------------------------------------------------------------------ offer

    def offer(self, update: Update) -> bool:
        """A polled update: start handling it unless it is in hand or done already."""
        update_id = update.update_id
        if update_id in self._pending or update_id in self._done or self._closing.is_set():
            return False
        self._submit(update)
        return True

    async def process(self, update: Update) -> bool:
        """A POSTed update: handle it now; True once handled, False when it was not.

        False means the bot is stopping (or gave the update up only because it
        stopped), so the webhook answers with an error and Telegram sends it again.
        """
        if self._closing.is_set():
            return False
        return await self._submit(update)

    def _submit(self, update: Update) -> asyncio.Future[bool]:
        update_id = update.update_id
        self._pending.add(update_id)
        self._highest = update_id if self._highest is None else max(self._highest, update_id)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        key = lane_of(update)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.queue.append((update, future))
        if lane.task is None:
            lane.task = asyncio.create_task(self._drain(key, lane), name=f"telegram-lane-{key}")
        return future

    # ------------------------------------------------------------------ state

    @property
    def offset(self) -> int | None:
        """The getUpdates offset that confirms exactly the updates handled so far."""
        if self._pending:
            low = min(self._pending)
        elif self._highest is not None:
            low = self._highest + 1
        else:
            return None
        self._done = {update_id for update_id in self._done if update_id >= low}
        return low

    @property
    def busy(self) -> bool:
        """Whether updates are in hand (getUpdates returns them again: no long poll)."""
        return bool(self._pending)

    @property
    def finished(self) -> int:
        """How many updates were finished so far (a mark for :meth:`progressed`)."""
        return self._finished

    async def progressed(self, *, since: int, within_s: float) -> None:
        """Wait until more than ``since`` updates are finished (or ``within_s`` seconds pass)."""
        if self._finished != since:
            return
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), within_s)

    async def close(self, *, grace_s: float) -> None:
        """Take nothing new; let the handlers running finish; updates waiting stay unconfirmed.

        Handlers still running after ``grace_s`` seconds are cancelled: their
        updates stay unconfirmed too.
        """
        self._closing.set()
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if not tasks:
            return
        _done, late = await asyncio.wait(tasks, timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            _LOG.warning("%d chats' updates were still being handled at the stop", len(late))

    # ------------------------------------------------------------------ lanes

    async def _drain(self, key: str, lane: _Lane) -> None:
        try:
            while lane.queue and not self._closing.is_set():
                update, future = lane.queue[0]
                handled = await self._attempt(update)
                lane.queue.popleft()
                if handled:
                    self._finish(update.update_id)
                if not future.done():
                    future.set_result(handled)
        finally:
            for _update, future in lane.queue:
                if not future.done():
                    future.set_result(False)
            lane.queue.clear()
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _attempt(self, update: Update) -> bool:
        """Handle ``update`` until it is done, waiting when asked or after a failure.

        False only when the bot stops meanwhile: the update stays unconfirmed.
        """
        failures = deferrals = 0
        while True:
            try:
                await self._handle(update)
                return True
            except UpdateDeferred as deferred:
                deferrals += 1
                delay = deferred.after
                _LOG.info("update %s waits %.1f s (Telegram asked)", update.update_id, delay)
                exhausted = deferrals >= MAX_DEFERRALS
            except Exception as error:  # broad on purpose: retried, then given up with a notice
                failures += 1
                log_failure(_LOG, "handling an update", error, update=update.update_id)
                delay = min(self._first_backoff_s * 2 ** (failures - 1), MAX_BACKOFF_S)
                exhausted = failures >= MAX_FAILURES
            if exhausted:
                await self._abandon(update)
                return True
            if await self._stopping_within(delay):
                return False

    async def _abandon(self, update: Update) -> None:
        _LOG.error("update %s given up after repeated failures", update.update_id)
        try:
            await self._give_up(update)
        except Exception as error:  # broad on purpose: nothing more can be done
            log_failure(_LOG, "telling that an update failed", error, update=update.update_id)

    async def _stopping_within(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the bot stops first; True if it does."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), max(seconds, 0.0))
        return self._closing.is_set()

    def _finish(self, update_id: int) -> None:
        self._pending.discard(update_id)
        self._done.add(update_id)
        self._finished += 1
        self._progress.set()


def lane_of(update: Update) -> str:
    """The chat an update belongs to (a private chat's id is its user's id)."""
    chat = update.effective_chat
    if chat is not None:
        return str(chat.id)
    user = update.effective_user
    if user is not None:
        return str(user.id)
    return f"update:{update.update_id}"
