"""``quickscan run`` starts Telegram; Telegram runs beside other adapters in one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.startup.runners import build_runners, run_all
from adapters.telegram.runner import TelegramRunner
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from bot.delivery.outbox import Outbox
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import load_instruments
from storage.delivery.outbox import OutboxStore
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.fakes.telegram import BOT_ID, FakeTelegram

GROUP = -100321
ANNA = 11
WAIT_S = 60.0
DUTCH_COMMANDS = [
    {
        "command": "quickscan",
        "description": "Quickscan samenwerken met ouders: start, status, sluit, export, help",
    },
    {"command": "start", "description": "Open de bot om de quickscan in te vullen"},
    {"command": "help", "description": "Uitleg over de quickscan-bot"},
]


def _clean_environment(home: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "TELEGRAM_", "QUICKSCAN_"))
    }
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}


def test_quickscan_run_with_a_telegram_token_serves_telegram(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    with FakeTelegram() as fake, log.open("wb") as output:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        env = {
            **_clean_environment(tmp_path),
            "QUICKSCAN_DATABASE_URL": f"sqlite:///{tmp_path / 'quickscan.sqlite3'}",
            "QUICKSCAN_OUTPUT_DIR": str(tmp_path / "output"),
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.startup.cli", "run"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env=env,
        )
        try:
            fake.wait_for(lambda: fake.calls_of("getUpdates"), timeout=WAIT_S)
            assert fake.calls_of("getMe")
            assert fake.commands == DUTCH_COMMANDS
            fake.send_group(ANNA, GROUP, "/quickscan start")
            fake.wait_for(lambda: "Anna heeft de quickscan" in fake.last_text(GROUP))
            fake.wait_for(lambda: fake.prompt(ANNA))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT_S) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_S)
        assert fake.pending_updates() == 0  # everything handled was confirmed on the way out


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Engine, RosterRegistry]]:
    store = Store.open(url=f"sqlite:///{tmp_path / 'quickscan.sqlite3'}")
    rosters = RosterRegistry()
    try:
        yield (
            Engine(
                store=store,
                instruments=load_instruments(),
                roster=rosters,
                clock=clock,
                output_dir=tmp_path / "output",
            ),
            rosters,
        )
    finally:
        store.close()


class _Driver:
    """A stand-in adapter that drives Telegram, then ends (so run_all stops the others)."""

    def __init__(
        self, *, fake: FakeTelegram, telegram: TelegramRunner, engine: Engine, clock: FakeClock
    ) -> None:
        self.fake = fake
        self.telegram = telegram
        self.engine = engine
        self.clock = clock
        self.thread: threading.Thread | None = None

    def run_forever(self) -> None:
        assert self.telegram.wait_ready(timeout=WAIT_S)
        self.thread = next(t for t in threading.enumerate() if t.name == "adapter-0")
        self.fake.send_group(ANNA, GROUP, "/quickscan help")
        self.fake.wait_for(lambda: "opdrachten" in self.fake.last_text(ANNA))
        # A message queued by another part of the process (a scheduled ping) is
        # delivered by the Telegram runner's dispatcher.
        outbox = Outbox(store=OutboxStore(engine=self.engine.store.engine), clock=self.clock)
        # A catalogue text, so its *bold* markers become HTML and are not shown.
        text = Catalogue().t("review.header")
        ping = Outbound(destination=Destination.team_channel(team=str(GROUP)), text=text)
        outbox.enqueue([ping], platform="telegram", workspace=str(BOT_ID), origin={})
        self.fake.wait_for(lambda: self.fake.last_text(GROUP) == text.strip("*"))

    def stop(self) -> None:
        """Nothing to stop: run_forever returns by itself."""


def test_telegram_runs_in_a_background_thread_beside_another_adapter(
    engine: tuple[Engine, RosterRegistry], clock: FakeClock
) -> None:
    core, rosters = engine
    with FakeTelegram() as fake:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        (telegram,) = build_runners(
            platforms=("telegram",), engine=core, rosters=rosters, environ=env
        )
        assert isinstance(telegram, TelegramRunner)
        handlers_before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        driver = _Driver(fake=fake, telegram=telegram, engine=core, clock=clock)
        run_all([telegram, driver])  # each in a thread of its own; the driver ends it
        assert driver.thread is not None
        driver.thread.join(WAIT_S)
        assert not driver.thread.is_alive()
        # The background runner left the process's signal handlers alone.
        assert (
            signal.getsignal(signal.SIGTERM),
            signal.getsignal(signal.SIGINT),
        ) == handlers_before
        assert fake.calls_of("getMe")
        assert fake.pending_updates() == 0


def test_slack_and_telegram_side_by_side(engine: tuple[Engine, RosterRegistry]) -> None:
    slack_runner = pytest.importorskip("adapters.slack.runner")
    fake_slack = pytest.importorskip("tests.fakes.slack")
    core, rosters = engine
    with FakeTelegram() as fake, fake_slack.FakeSlack() as slack:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        (slack_anna, *_) = fake_slack.add_school(slack, ["anna", "bram"])
        env = {
            "SLACK_BOT_TOKEN": fake_slack.BOT_TOKEN,
            "SLACK_SIGNING_SECRET": fake_slack.SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SLACK_HOST": "127.0.0.1",
            "SLACK_PORT": "0",
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
        }
        runners = build_runners(
            platforms=("slack", "telegram"), engine=core, rosters=rosters, environ=env
        )
        outbox = OutboxStore(engine=core.store.engine)
        slack_adapter, telegram = runners
        assert isinstance(slack_adapter, slack_runner.SlackRunner)
        assert isinstance(telegram, TelegramRunner)
        problems: list[BaseException] = []

        def drive() -> None:
            try:
                assert slack_adapter.wait_ready(timeout=WAIT_S)
                assert telegram.wait_ready(timeout=WAIT_S)
                team = fake_slack.SlackTeam(
                    fake=slack,
                    address=slack_adapter.address,
                    wait_idle=lambda: fake_slack.wait_delivered(outbox),
                )
                assert team.command(slack_anna, "help").status == 200
                fake.send_group(ANNA, GROUP, "/quickscan help")
                fake.wait_for(lambda: "opdrachten" in fake.last_text(ANNA))
                fake_slack.wait_delivered(outbox)
                assert any("opdrachten" in text for text in slack.ephemerals_for(slack_anna))
            except BaseException as error:  # re-raised in the test's thread below
                problems.append(error)
            finally:
                telegram.stop()  # one adapter ending makes run_all stop the other

        driver = threading.Thread(target=drive, name="driver")
        driver.start()
        run_all(runners)  # both in threads of their own, until one ends
        driver.join(WAIT_S)
        slack_thread = next((t for t in threading.enumerate() if t.name == "adapter-0"), None)
        if slack_thread is not None:
            slack_thread.join(WAIT_S)
            assert not slack_thread.is_alive()
        if problems:
            raise problems[0]
