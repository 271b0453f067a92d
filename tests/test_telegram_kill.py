"""A button press interrupted by SIGKILL is handled after the restart, once.

The bot runs in a child process against the fake Bot API and kills itself
(SIGKILL: no clean-up at all) while handling one press: before the engine saw
it, or after the engine committed it but before the press was answered and
before getUpdates confirmed it. A second process then starts on the same
database. Telegram serves the unconfirmed press again; it is handled (or, when
it was committed already, recognised) exactly once, and the member's answer and
next question arrive. Run as ``python -m tests.test_telegram_kill`` the module
is that child.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from storage.quickscan.store import Store
from tests.fakes.telegram import FakeTelegram

GROUP = -100661
ANNA, BRAM = 11, 12
WAIT_S = 60.0
RECEIVED, COMMITTED = "received", "committed"
RESTART_AFTER_MIN = 5  # the dispatcher's claims hold for two minutes


@contextmanager
def _bot_process(
    *,
    fake: FakeTelegram,
    database_url: str,
    tmp_path: Path,
    kill_at: str,
    marker: Path,
    minutes_later: int = 0,
) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "bot.log").open("ab")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "QUICKSCAN_"))},
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
    }
    output = str(tmp_path / "output")
    arguments = [database_url, output, kill_at, str(marker), str(minutes_later)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.test_telegram_kill", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=WAIT_S)
        log.close()


@pytest.mark.parametrize("kill_at", [RECEIVED, COMMITTED])
def test_a_press_interrupted_by_sigkill_is_handled_after_the_restart(
    kill_at: str, database_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    with FakeTelegram() as fake:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_user(BRAM, "Bram", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,), members=(BRAM,))
        bot_process = functools.partial(
            _bot_process, fake=fake, database_url=database_url, tmp_path=tmp_path, marker=marker
        )
        with bot_process(kill_at=kill_at) as process:
            fake.send_private(BRAM, "/start")
            fake.send_group(BRAM, GROUP, "Hallo")
            # Handled first: a "/start" read after the round opened would start his quickscan.
            fake.wait_for(lambda: fake.last_message(BRAM), timeout=WAIT_S)
            fake.send_group(ANNA, GROUP, "/quickscan start")
            intro = fake.wait_for(lambda: fake.prompt(BRAM), timeout=WAIT_S)
            fake.press(BRAM, intro, label="start")
            fake.wait_for(lambda: "vraag 1 van 48" in fake.last_text(BRAM), timeout=WAIT_S)
            question = fake.prompt(BRAM)
            assert question is not None
            press = fake.press(BRAM, question, label="++")
            assert process.wait(timeout=WAIT_S) == -signal.SIGKILL
        assert marker.exists()
        assert fake.answer_of(press) is None  # the dead process never answered it
        assert fake.pending_updates() >= 1  # ... nor confirmed it

        # The restart comes after the outbox lease of the dead process ran out, so
        # a message it had claimed but not sent goes out from the new one.
        with bot_process(kill_at="", minutes_later=RESTART_AFTER_MIN) as process:
            fake.wait_for(lambda: "vraag 2 van 48" in fake.last_text(BRAM), timeout=WAIT_S)
            fake.wait_for(lambda: fake.answer_of(press), timeout=WAIT_S)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT_S) == 0
        assert fake.pending_updates() == 0

        shown = [
            call
            for call in fake.calls_of("editMessageText", chat_id=BRAM)
            if call.error_code is None and "vraag 2 van 48" in call.params["text"]
        ]
        assert len(shown) == 1  # the next question, once, in place of the first
        assert int(shown[0].params["message_id"]) == question.message_id
        participation = int(question.buttons[0]["callback_data"].split(":")[1])
        assert len(_answers(database_url, participation)) == 1  # stored once


def _answers(database_url: str, participation: int) -> dict[str, str]:
    """The participation's stored answers, read in this (the test's) process."""
    store = Store.open(url=database_url)
    try:
        return store.answers(participation_id=participation)
    finally:
        store.close()


# ------------------------------------------------------------------ the child


def _child(database_url: str, output_dir: str, kill_at: str, marker: str, minutes: str) -> None:
    """Run the real adapter; SIGKILL itself at ``kill_at`` on the first answer press.

    The bot's clock stands still at the tests' usual start plus ``minutes``.
    """
    from adapters.telegram.runner import TelegramRunner
    from bot.core.engine import Engine
    from bot.core.ports import RosterRegistry
    from conversations.core.messages import Inbound, Outbound
    from conversations.instrument import load_instruments
    from tests.conftest import FakeClock
    from tests.fakes.telegram import FAST_LIMITS

    logging.basicConfig(level=logging.INFO)  # into bot.log, for a failing test's report
    store = Store.open(url=database_url)
    rosters = RosterRegistry()
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=rosters,
        clock=FakeClock(start=FakeClock.default_start() + timedelta(minutes=int(minutes))),
        output_dir=Path(output_dir),
    )
    handle = engine.handle
    once = Path(marker)

    def handle_then_maybe_die(event: Inbound) -> list[Outbound]:
        armed = bool(kill_at) and ":a:" in (event.payload or "") and not once.exists()
        if armed and kill_at == RECEIVED:
            once.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        replies = handle(event)
        if armed and kill_at == COMMITTED:
            once.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return replies

    engine.handle = handle_then_maybe_die  # type: ignore[method-assign]
    runner = TelegramRunner(
        engine=engine,
        rosters=rosters,
        environ=os.environ,
        limits=FAST_LIMITS,
        poll_timeout_s=1,
        handle_signals=True,
    )
    try:
        runner.run_forever()
    finally:
        store.close()


if __name__ == "__main__":
    _child(*sys.argv[1:6])
