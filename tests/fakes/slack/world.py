"""The whole set-up: the fake Slack, an engine with its store, and the real adapter.

:func:`slack_world` runs the adapter in HTTP mode (or Socket Mode) against the
fake; after each request the team waits until the outbox is delivered, so tests
read the fake's state at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tests.fakes.slack.records import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    SIGNING_SECRET,
    WAIT_S,
)
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.team import SlackTeam

if TYPE_CHECKING:  # the world's parts are imported when a world is made (slack_world)
    from adapters.slack.rates import SlackRates
    from adapters.slack.runner import SlackRunner
    from bot.core.engine import Engine
    from conversations.core.clock import Clock
    from storage.delivery.outbox import OutboxStore
    from storage.quickscan.store import Store


@dataclass
class SlackWorld:
    """The fake Slack, the real adapter in HTTP mode, and the engine with its store."""

    fake: FakeSlack
    runner: SlackRunner
    engine: Engine
    store: Store
    outbox: OutboxStore
    team: SlackTeam

    def wait_delivered(self, *, timeout: float = WAIT_S) -> None:
        """Wait until the outbox holds nothing unsent for Slack (what is due later too)."""
        wait_delivered(self.outbox, timeout=timeout)


def wait_delivered(outbox: OutboxStore, *, timeout: float = WAIT_S) -> None:
    """Wait until ``outbox`` holds nothing unsent for Slack: sent, or failed for good."""
    wait_until(
        lambda: outbox.stats(platform="slack").pending == 0,
        what="the Slack outbox to be delivered",
        timeout=timeout,
    )


class RunningClock:
    """The test's clock, with real time running on top of it.

    The dispatcher writes ``not_before`` from the engine's clock: a message paced
    or rate limited for a second must come due a second later, also in a test
    whose fake clock otherwise stands still.
    """

    def __init__(self, base: Clock) -> None:
        self._base = base
        self._started = time.monotonic()

    def now(self) -> datetime:
        """The base clock's time plus the seconds since this clock was made."""
        return self._base.now() + timedelta(seconds=time.monotonic() - self._started)


def wait_until(check: Callable[[], bool], *, what: str, timeout: float = WAIT_S) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def add_school(
    fake: FakeSlack, names: Sequence[str], *, channel: str = CHANNEL, bot: bool = True
) -> list[str]:
    """Members ``names`` in a team channel, plus Slackbot, a bot and a leaver.

    The bot is a member of the channel unless ``bot`` is False.
    """
    ids = [f"U0{name.upper()[:6]:<06}".replace(" ", "X") for name in names]
    for user, name in zip(ids, names, strict=True):
        fake.add_user(user, name)
    fake.add_user(BOT_USER, "quickscan", is_bot=True)
    fake.add_user("USLACKBOT", "Slackbot")
    fake.add_user("U0OTHERBT", "otherbot", is_bot=True)
    fake.add_user("U0LEAVER1", "leaver", deleted=True)
    ours = [BOT_USER] if bot else []
    fake.channels[channel] = [ids[0], *ours, "USLACKBOT", *ids[1:], "U0OTHERBT", "U0LEAVER1"]
    return ids


@contextmanager
def slack_world(
    *,
    database_url: str,
    clock: Clock,
    output_dir: Path,
    names: Sequence[str],
    prepare: Callable[[FakeSlack], None] | None = None,
    rates: SlackRates | None = None,
    socket_mode: bool = False,
) -> Iterator[tuple[SlackWorld, list[str]]]:
    """Start the fake, an engine on ``database_url`` and the adapter; stop them all after.

    The adapter runs in HTTP mode on a free port, or with ``socket_mode`` in
    Socket Mode connected to the fake's WebSocket. After each request the team
    waits until the outbox is delivered, so tests read the fake's state at once.
    """
    from adapters.slack.rates import SlackRates
    from adapters.slack.runner import SlackRunner
    from bot.core.engine import Engine
    from bot.core.ports import RosterRegistry
    from conversations.instrument import load_instruments
    from storage.delivery.outbox import OutboxStore
    from storage.quickscan.store import Store

    with FakeSlack() as fake:
        ids = add_school(fake, names)
        if prepare is not None:
            prepare(fake)
        store = Store.open(url=database_url)
        rosters = RosterRegistry()
        engine = Engine(
            store=store,
            instruments=load_instruments(),
            roster=rosters,
            clock=RunningClock(clock),
            output_dir=output_dir,
        )
        environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}
        if socket_mode:
            environ["SLACK_APP_TOKEN"] = APP_TOKEN
        else:
            environ.update({"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_PORT": "0"})
        runner = SlackRunner(
            engine=engine,
            rosters=rosters,
            environ=environ,
            rates=rates or SlackRates.generous(),
            shutdown_grace_s=WAIT_S,
        )
        outbox = OutboxStore(engine=store.engine, cipher=store.cipher)
        thread = threading.Thread(target=runner.run_forever, name="slack-runner")
        thread.start()
        try:
            assert runner.wait_ready(timeout=WAIT_S)
            team = SlackTeam(
                fake=fake,
                address=None if socket_mode else runner.address,
                wait_idle=lambda: wait_delivered(outbox),
                socket=socket_mode,
            )
            world = SlackWorld(
                fake=fake, runner=runner, engine=engine, store=store, outbox=outbox, team=team
            )
            yield world, ids
        finally:
            runner.stop()
            thread.join(timeout=WAIT_S)
            store.close()
