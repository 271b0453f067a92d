"""Benchmark: other chats' acks and edits on Telegram while one chat taps rapidly or gets 429s.

Run it from the project root::

    python -m benchmarks.latency_telegram                 # 60 samples per series
    python -m benchmarks.latency_telegram --samples 100
    python -m benchmarks.latency_telegram --database-url postgresql://user@host/throwaway

The real Telegram adapter polls the fake Bot API (``tests/fakes/telegram``) with
Telegram's own flood limits (one message a second per chat, twenty a minute per
group, thirty a second overall) on a fresh SQLite file (or the given empty
database). Thirty members of a round answer questions by pressing "++" in their
private chat, one press at a time, in turns, so none of them exceeds its own
chat's limit; each press is timed twice:

* ack: the press until answerCallbackQuery, which comes only after the engine
  committed the answer and queued the next question (handled before confirmed);
* edit: the press until the question was edited into the next one.

The loads, each compared with unloaded presses measured in alternating blocks
of ten in the same run (so a machine that gets busier slows both alike):

* 429: the team group answers every sendMessage with 429 (retry_after 1 s)
  while three posts wait for it, and the dispatcher keeps trying;
* tapping: another member presses an old button ten times a second; each press
  is answered (its notice) and the current question sent again, far more than
  that member's chat may receive, so its own messages queue up behind its limit.

The figures block at the end is what the issue asks for: each loaded p95 within
0.25 s of its unloaded one. ``tests/test_telegram_latency.py`` runs the same
measurement (SQLite and PostgreSQL) and asserts exactly that.

Figures, ``--samples 100``, on a 2-CPU container that was also running other
test suites (load average about 5, so every figure is inflated alike)::

    SQLite (a file in a temporary directory)
    scenario                  presses   series      p50     p95     max
    429 on the team group     unloaded  ack        29ms    67ms   134ms
    429 on the team group     unloaded  edit       40ms    84ms   150ms
    429 on the team group     loaded    ack        29ms    71ms    98ms
    429 on the team group     loaded    edit       40ms    92ms   142ms
    one member tapping 10/s   unloaded  ack        28ms    66ms    88ms
    one member tapping 10/s   unloaded  edit       34ms    74ms    96ms
    one member tapping 10/s   loaded    ack        39ms    80ms   429ms
    one member tapping 10/s   loaded    edit       52ms   100ms   518ms
    429 on the team group: p95 +8 ms vs unloaded (within 250 ms)
    one member tapping 10/s: p95 +26 ms vs unloaded (within 250 ms)

    PostgreSQL (a throwaway server started like the tests' set-up)
    scenario                  presses   series      p50     p95     max
    429 on the team group     unloaded  ack        37ms    77ms   102ms
    429 on the team group     unloaded  edit       46ms    88ms   128ms
    429 on the team group     loaded    ack        38ms    79ms   253ms
    429 on the team group     loaded    edit       50ms    97ms   268ms
    one member tapping 10/s   unloaded  ack        65ms   113ms   200ms
    one member tapping 10/s   unloaded  edit       81ms   129ms   229ms
    one member tapping 10/s   loaded    ack        87ms   158ms   499ms
    one member tapping 10/s   loaded    edit      104ms   173ms   534ms
    429 on the team group: p95 +9 ms vs unloaded (within 250 ms)
    one member tapping 10/s: p95 +45 ms vs unloaded (within 250 ms)

Before the outbox (issue 10) the per-chat pacing slept inside the update
handlers, which PTB ran one update at a time: while two members tapped quickly,
everyone else's acks went from 0.06 s to p50 0.67 s / p95 1.2 s.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from adapters.telegram.settings import TelegramLimits
from benchmarks.latency_series import Figures, Series
from bot.delivery.outbox import Outbox
from conversations.core.messages import Destination, Outbound
from storage.delivery.outbox import OutboxStore
from tests.conftest import FakeClock
from tests.fakes.telegram import (
    BOT_ID,
    BotUnderTest,
    FakeMessage,
    FakeTelegram,
    RunningClock,
    running_bot,
)

GROUP = -100555000
COORDINATOR = 1000
TAPPER = 1001
FIRST_MEMBER = 2000
MEMBERS = 30  # pressing in turns, each member presses about once a second at most
MEMBER_SPACING_S = 1.1  # a member's own chat takes one message a second
BLOCK = 10  # presses per block; unloaded and loaded blocks alternate
TAP_INTERVAL_S = 0.1  # ten presses a second: faster than anyone taps
WAIT_S = 60.0
BUDGET_S = 0.25  # the bound on a loaded p95 over the unloaded one
RATE_LIMITED = "429 on the team group"
TAPPING = "one member tapping 10/s"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One load's presses and the unloaded ones measured between them."""

    name: str
    unloaded: Figures
    loaded: Figures

    def excess(self) -> float:
        """How far the loaded p95 (ack or edit, the worse) is above the unloaded one."""
        return max(
            self.loaded.acks.percentile(0.95) - self.unloaded.acks.percentile(0.95),
            self.loaded.edits.percentile(0.95) - self.unloaded.edits.percentile(0.95),
        )


class Presser:
    """The measured members, pressing "++" in turns and timing the answers."""

    def __init__(self, fake: FakeTelegram, members: Sequence[int]) -> None:
        self._fake = fake
        self._members = members
        self._next = 0
        # Everyone was just sent question 1: their chats' next message is a second away.
        self._last = dict.fromkeys(members, time.monotonic())

    def press(self) -> tuple[float, float]:
        """One press by the next member: (ack, edit) in seconds."""
        fake = self._fake
        user = self._members[self._next % len(self._members)]
        self._next += 1
        pause = self._last.get(user, 0.0) + MEMBER_SPACING_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # the benchmark's own pace, not the bot's
        prompt = fake.prompt(user)
        if prompt is None:
            raise RuntimeError(f"member {user} has no question on screen")
        edits = prompt.edits
        began = time.monotonic()
        query = fake.press(user, prompt, label="++")
        acked = fake.wait_for(lambda: fake.answered_at(query), timeout=WAIT_S)
        fake.wait_for(lambda: prompt.edits > edits, timeout=WAIT_S)
        edited = max(
            call.at
            for call in fake.calls_of("editMessageText", chat_id=user)
            if call.error_code is None and int(call.params["message_id"]) == prompt.message_id
        )
        self._last[user] = time.monotonic()
        return acked - began, edited - began

    def series(self, count: int) -> tuple[list[float], list[float]]:
        """``count`` presses: their acks and edits."""
        acks: list[float] = []
        edits: list[float] = []
        for _ in range(count):
            ack, edit = self.press()
            acks.append(ack)
            edits.append(edit)
        return acks, edits


def compare(
    presser: Presser, name: str, load: Callable[[], AbstractContextManager[None]], samples: int
) -> Comparison:
    """``samples`` presses unloaded and as many under ``load``, in alternating blocks."""
    unloaded: tuple[list[float], list[float]] = ([], [])
    loaded: tuple[list[float], list[float]] = ([], [])
    for _ in range(math.ceil(samples / BLOCK)):
        for target, loading in ((unloaded, False), (loaded, True)):
            count = min(BLOCK, samples - len(target[0]))
            if count <= 0:
                continue
            with load() if loading else _nothing():
                acks, edits = presser.series(count)
            target[0].extend(acks)
            target[1].extend(edits)
    return Comparison(
        name=name,
        unloaded=Figures(acks=Series(unloaded[0]), edits=Series(unloaded[1])),
        loaded=Figures(acks=Series(loaded[0]), edits=Series(loaded[1])),
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def group_rate_limited(
    fake: FakeTelegram, bot: BotUnderTest, clock: RunningClock
) -> Iterator[None]:
    """The team group answers 429 to every message while three posts wait for it."""
    refused = len([c for c in fake.calls_of("sendMessage", chat_id=GROUP) if c.error_code])
    fake.fail_next(
        "sendMessage",
        chat_id=GROUP,
        code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=10**6,
    )
    posts = [
        Outbound(destination=Destination.team_channel(team=str(GROUP)), text=f"Herinnering {n}")
        for n in range(3)
    ]
    Outbox(store=OutboxStore(engine=bot.store.engine), clock=clock).enqueue(
        posts, platform="telegram", workspace=str(BOT_ID), origin={}
    )
    fake.wait_for(
        lambda: (
            len([c for c in fake.calls_of("sendMessage", chat_id=GROUP) if c.error_code]) > refused
        ),
        timeout=WAIT_S,
    )
    try:
        yield
    finally:
        fake.clear_failures()


@contextmanager
def tapping(fake: FakeTelegram, *, message: FakeMessage, data: str) -> Iterator[None]:
    """The tapper keeps pressing an old button of ``message``, ten times a second."""
    stop = threading.Event()
    taps = [0]

    def tap() -> None:
        while not stop.is_set():
            fake.press(TAPPER, message, data=data)
            taps[0] += 1
            stop.wait(TAP_INTERVAL_S)

    thread = threading.Thread(target=tap, name="tapper", daemon=True)
    thread.start()
    try:
        fake.wait_for(lambda: taps[0] >= 3, timeout=WAIT_S)
        yield
    finally:
        stop.set()
        thread.join(timeout=WAIT_S)


def run(
    *,
    samples: int,
    database_url: str,
    directory: Path,
    on_progress: Callable[[str], None] = lambda name: None,
) -> list[Comparison]:
    """Both loads in one world, each against its own interleaved unloaded presses."""
    members = [FIRST_MEMBER + n for n in range(MEMBERS)]
    clock = RunningClock(FakeClock(start=FakeClock.default_start()))
    with FakeTelegram() as fake:
        fake.add_user(COORDINATOR, "Coordinator", started=True)
        for user in (*members, TAPPER):
            fake.add_user(user, f"Lid{user}", started=True)
        fake.add_group(GROUP, title="Team", admins=(COORDINATOR,), members=(*members, TAPPER))
        with running_bot(
            fake=fake,
            database_url=database_url,
            clock=clock,
            output_dir=directory,
            limits=TelegramLimits(),  # Telegram's own figures
        ) as bot:
            old, old_data = _open_round(fake, [*members, TAPPER])
            presser = Presser(fake, members)
            on_progress(RATE_LIMITED)
            comparisons = [
                compare(
                    presser, RATE_LIMITED, lambda: group_rate_limited(fake, bot, clock), samples
                )
            ]
            on_progress(TAPPING)
            comparisons.append(
                compare(
                    presser, TAPPING, lambda: tapping(fake, message=old, data=old_data), samples
                )
            )
            return comparisons


def _open_round(fake: FakeTelegram, users: Sequence[int]) -> tuple[FakeMessage, str]:
    """Everyone is invited and on question 1; the tapper's old "++" is kept for tapping."""
    for user in users:
        fake.send_private(user, "/start")
        fake.send_group(user, GROUP, "Hallo")
    for user in users:
        # Each private chat is handled on its own: a "/start" still unhandled when the
        # round opens would be read as the member starting the quickscan.
        fake.wait_for(partial(fake.last_message, user), timeout=WAIT_S)
    fake.send_group(COORDINATOR, GROUP, "/quickscan start")
    for user in users:
        intro = fake.wait_for(partial(fake.prompt, user), timeout=WAIT_S)
        fake.press(user, intro, label="start")
    for user in users:
        fake.wait_for(partial(_shows, fake, user, "vraag 1 van 48"), timeout=WAIT_S)
    old = fake.prompt(TAPPER)
    if old is None:
        raise RuntimeError("the tapper has no question")
    data = str(old.button("++")["callback_data"])
    query = fake.press(TAPPER, old, label="++")  # the tapper moves on; that "++" is stale now
    fake.wait_for(lambda: fake.answered_at(query), timeout=WAIT_S)
    fake.wait_for(lambda: "vraag 2 van 48" in fake.last_text(TAPPER), timeout=WAIT_S)
    return old, data


def _shows(fake: FakeTelegram, user: int, text: str) -> bool:
    return text in fake.last_text(user)


def render(comparisons: Sequence[Comparison]) -> str:
    """The figures block: p50, p95 and max per series in milliseconds, and the verdicts."""
    lines = [f"{'scenario':<26}{'presses':<10}{'series':<7}{'p50':>8}{'p95':>8}{'max':>8}"]
    for comparison in comparisons:
        for label, figures in (("unloaded", comparison.unloaded), ("loaded", comparison.loaded)):
            for series_name, series in (("ack", figures.acks), ("edit", figures.edits)):
                values = (series.percentile(0.5), series.percentile(0.95), max(series.samples))
                cells = "".join(f"{value * 1000:>6.0f}ms" for value in values)
                lines.append(f"{comparison.name:<26}{label:<10}{series_name:<7}{cells}")
    for comparison in comparisons:
        excess = comparison.excess()
        verdict = "within" if excess <= BUDGET_S else "OVER"
        lines.append(
            f"{comparison.name}: p95 {excess * 1000:+.0f} ms vs unloaded ({verdict} 250 ms)"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=60, help="presses per series")
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="latency-telegram-") as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'latency.sqlite3'}"
        comparisons = run(
            samples=args.samples,
            database_url=url,
            directory=Path(directory),
            on_progress=lambda name: print(f"measuring: {name}", flush=True),
        )
    print()
    print(render(comparisons))


if __name__ == "__main__":
    main()
