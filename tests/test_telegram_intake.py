"""Durable intake: the getUpdates offset passes an update only once it was handled.

One chat's updates are handled in order, different chats' side by side; an
update whose handler fails or is asked to wait stays unconfirmed, and so does
everything after it, until it is done. The handlers here are stand-ins that
wait for the test's say-so, so nothing depends on timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from adapters.telegram.intake import MAX_FAILURES, Intake, UpdateDeferred

ANNA, BRAM = 11, 12


def _update(update_id: int, chat: int) -> Update:
    data: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat, "type": "private", "first_name": "X"},
            "from": {"id": chat, "is_bot": False, "first_name": "X"},
            "text": f"update {update_id}",
        },
    }
    update = Update.de_json(data, None)
    assert update is not None
    return update


class Gates:
    """A handler that records the updates it sees and waits for a gate per update."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self._gates: dict[int, asyncio.Event] = {}

    def gate(self, update_id: int) -> asyncio.Event:
        return self._gates.setdefault(update_id, asyncio.Event())

    async def handle(self, update: Update) -> None:
        self.started.append(update.update_id)
        await self.gate(update.update_id).wait()
        self.finished.append(update.update_id)


async def _until(condition: Callable[[], bool], *, turns: int = 10_000) -> None:
    """Let the loop run until ``condition`` holds (a bounded number of turns)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never true: {condition}")


async def _nothing(update: Update) -> None:
    return None


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_the_offset_waits_for_the_oldest_update_still_in_hand() -> None:
    async def scenario() -> None:
        gates = Gates()
        intake = Intake(handle=gates.handle, give_up=_nothing)
        assert intake.offset is None  # nothing seen: getUpdates without an offset
        assert intake.offer(_update(100, ANNA))
        assert intake.offer(_update(101, BRAM))
        assert intake.offer(_update(102, ANNA))
        await _until(lambda: gates.started == [100, 101])  # Anna's second waits its turn
        # getUpdates returns the updates in hand again: they are not handled twice.
        assert not intake.offer(_update(100, ANNA))
        assert not intake.offer(_update(101, BRAM))

        gates.gate(101).set()
        await _until(lambda: gates.finished == [101])
        assert intake.offset == 100  # Bram's is done, but Anna's older one is not
        assert not intake.offer(_update(101, BRAM))  # done: not handled again either

        gates.gate(100).set()
        await _until(lambda: gates.started == [100, 101, 102])
        assert intake.offset == 102
        gates.gate(102).set()
        await _until(lambda: not intake.busy)
        assert gates.finished == [101, 100, 102]
        assert intake.offset == 103  # everything handled is confirmed by the next poll

    _run(scenario)


def test_an_update_telegram_asks_to_wait_for_holds_only_its_chat() -> None:
    async def scenario() -> None:
        handled: list[int] = []
        deferred: list[int] = []
        release = asyncio.Event()

        async def handle(update: Update) -> None:
            if update.update_id == 200:
                if not deferred:
                    deferred.append(update.update_id)
                    raise UpdateDeferred(after=0.0)  # Telegram: "retry after"
                await release.wait()  # the second try waits for the test
            handled.append(update.update_id)

        intake = Intake(handle=handle, give_up=_nothing)
        intake.offer(_update(200, ANNA))
        intake.offer(_update(201, ANNA))
        intake.offer(_update(202, BRAM))
        await _until(lambda: handled == [202])
        assert intake.offset == 200  # Anna's first is not confirmed while it waits
        release.set()
        await _until(lambda: not intake.busy)
        assert handled == [202, 200, 201]  # Anna's in order, after the wait
        assert intake.offset == 203

    _run(scenario)


def test_an_update_that_keeps_failing_is_given_up_with_a_notice() -> None:
    async def scenario() -> None:
        attempts: list[int] = []
        given_up: list[int] = []

        async def handle(update: Update) -> None:
            attempts.append(update.update_id)
            raise RuntimeError("the database is away")

        async def give_up(update: Update) -> None:
            given_up.append(update.update_id)

        intake = Intake(handle=handle, give_up=give_up, first_backoff_s=0.0)
        intake.offer(_update(300, ANNA))
        await _until(lambda: not intake.busy)
        assert attempts == [300] * MAX_FAILURES
        assert given_up == [300]
        assert intake.offset == 301

    _run(scenario)


def test_a_stop_leaves_unfinished_updates_unconfirmed() -> None:
    async def scenario() -> None:
        gates = Gates()

        async def handle(update: Update) -> None:
            if update.update_id == 401:
                raise UpdateDeferred(after=3600)  # Telegram asked for a long wait
            await gates.handle(update)

        intake = Intake(handle=handle, give_up=_nothing)
        intake.offer(_update(400, ANNA))
        intake.offer(_update(401, BRAM))
        intake.offer(_update(402, BRAM))
        await _until(lambda: gates.started == [400])
        closing = asyncio.create_task(intake.close(grace_s=5))
        await asyncio.sleep(0)
        assert not intake.offer(_update(403, ANNA))  # nothing new once stopping
        gates.gate(400).set()  # the update in hand is finished ...
        await closing
        assert gates.finished == [400]
        assert intake.offset == 401  # ... the waiting ones are sent again after a restart
        assert not await intake.process(_update(404, ANNA))  # the webhook answers 503

    _run(scenario)


def test_a_webhook_update_is_answered_after_it_was_handled() -> None:
    async def scenario() -> None:
        gates = Gates()
        intake = Intake(handle=gates.handle, give_up=_nothing)
        answer = asyncio.create_task(intake.process(_update(500, ANNA)))
        await _until(lambda: gates.started == [500])
        assert not answer.done()  # no 200 while it is being handled
        gates.gate(500).set()
        assert await answer

    _run(scenario)
