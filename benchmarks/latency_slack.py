"""Benchmark: other chats' acks and edits on Slack while one chat is rate limited or busy.

Run it from the project root::

    python -m benchmarks.latency_slack                   # 60 samples per series
    python -m benchmarks.latency_slack --samples 100 --flood
    python -m benchmarks.latency_slack --database-url postgresql://user@host/throwaway

The real Slack adapter runs in HTTP mode against the fake Slack (``tests/fakes/slack``)
on a fresh SQLite file (or the given empty database), with rate limits no run
reaches, so only head-of-line blocking shows. Members of a round answer
questions by clicking in their DM, one click at a time, in turns; each click is
timed twice:

* ack: the signed HTTP request until the adapter's answer, which comes only after
  the engine committed the answer and queued the next question (handled before
  acknowledged);
* edit: the click until Slack received the chat.update of that member's DM.

The scenarios, each with its own clicks:

* unloaded: nothing else happens;
* 429: the team channel answers every chat.postMessage with 429 (Retry-After 1 s)
  while three channel posts wait for it, and the dispatcher keeps trying;
* tapping: another member presses an old button ten times a second (each press
  is answered with two new messages in that member's DM).

The figures block at the end is what the issue asks for: each loaded p95 within
0.25 s of the unloaded one. ``tests/test_slack_latency.py`` runs the same
measurement (60 samples, SQLite and PostgreSQL) and asserts exactly that for the
429 and the 10/s tapper. ``--flood`` adds a member pressing flat out (about 60
presses a second, far beyond a person): shown for honesty, not in the test.

Figures, ``--samples 100 --flood``, on a 2-CPU container that was also running
other test suites (load average about 7), so every figure is inflated alike::

    SQLite (a file in a temporary directory)
    scenario                          series      p50     p95     max
    unloaded                          ack        14ms    53ms    61ms
    unloaded                          edit       19ms    61ms    83ms
    429 on the team channel           ack        16ms    68ms   104ms
    429 on the team channel           edit       25ms    80ms   104ms
    one member tapping 10/s           ack        18ms    72ms   142ms
    one member tapping 10/s           edit       27ms    83ms   147ms
    one member tapping flat out       ack        27ms   242ms   705ms
    one member tapping flat out       edit      104ms   479ms  1073ms
    429 on the team channel: p95 +18 ms vs unloaded (within 250 ms)
    one member tapping 10/s: p95 +21 ms vs unloaded (within 250 ms)
    one member tapping flat out: p95 +418 ms vs unloaded (OVER 250 ms)

    PostgreSQL (the test set-up's throwaway server)
    scenario                          series      p50     p95     max
    unloaded                          ack        47ms    85ms   311ms
    unloaded                          edit       65ms   100ms   380ms
    429 on the team channel           ack        56ms   113ms   193ms
    429 on the team channel           edit       71ms   161ms   355ms
    one member tapping 10/s           ack        48ms   108ms   163ms
    one member tapping 10/s           edit       67ms   131ms   182ms
    one member tapping flat out       ack        63ms   163ms   332ms
    one member tapping flat out       edit       88ms   215ms   347ms
    429 on the team channel: p95 +61 ms vs unloaded (within 250 ms)
    one member tapping 10/s: p95 +31 ms vs unloaded (within 250 ms)
    one member tapping flat out: p95 +116 ms vs unloaded (within 250 ms)

Before the outbox (issue 10) a 429 on chat.update held an unrelated
``/quickscan help`` for 8.9 s, because the SDK slept in the shared worker
threads. The flat-out flood on SQLite is bounded by SQLite's one writer: every
press, claim and delivery record is a write transaction, and waiting writers
back off in SQLite's busy handler; PostgreSQL, with row locks, stays within.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from adapters.slack.rates import SlackRates
from benchmarks.latency_series import Figures, Series
from bot.delivery.outbox import Outbox
from conversations.core.messages import Destination, Outbound
from tests.conftest import FakeClock
from tests.fakes.slack import CHANNEL, WORKSPACE, Message, SlackWorld, slack_world, wait_until

Button = dict[str, Any]

MIN_MEASURED = 4
TAPPER = "tapper"
TAP_INTERVAL_S = 0.1  # ten presses a second: faster than anyone taps through Slack
RATE_LIMITED = "429 on the team channel"
TAPPING = "one member tapping 10/s"
FLOODING = "one member tapping flat out"
QUESTIONS_PER_MEMBER = 48
BUDGET_S = 0.25  # the bound on a loaded p95 over the unloaded one


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named scenario's figures."""

    name: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class Report:
    """The unloaded figures and those of each load, measured in one world."""

    unloaded: Figures
    loaded: Sequence[Scenario]

    def excess(self, scenario: Scenario) -> float:
        """How far the scenario's worst p95 (ack or edit) is above the unloaded one."""
        return max(
            scenario.figures.acks.percentile(0.95) - self.unloaded.acks.percentile(0.95),
            scenario.figures.edits.percentile(0.95) - self.unloaded.edits.percentile(0.95),
        )


def measure(world: SlackWorld, users: Sequence[str], *, samples: int) -> Figures:
    """``samples`` clicks by ``users`` in turns, each waited for before the next."""
    fake, team = world.fake, world.team
    acks: list[float] = []
    edits: list[float] = []
    for index in range(samples):
        user = users[index % len(users)]
        prompt = fake.prompt(user)
        before = prompt.updates
        body = team.action_body(user, prompt, prompt.button("++"))
        began = time.monotonic()
        reply = team.post(body, wait=False)
        acked = time.monotonic()
        if reply.status != 200:
            raise RuntimeError(f"the click was answered {reply.status}")
        wait_until(partial(edited_since, prompt, before), what=f"the edit of {user}'s question")
        edited = max(
            call.at for call in fake.calls_to("chat.update") if call.params.get("ts") == prompt.ts
        )
        acks.append(acked - began)
        edits.append(edited - began)
    return Figures(acks=Series(acks), edits=Series(edits))


def edited_since(message: Message, updates: int) -> bool:
    """Whether ``message`` was updated more than ``updates`` times."""
    return message.updates > updates


@contextmanager
def channel_rate_limited(world: SlackWorld, clock: FakeClock) -> Iterator[None]:
    """The team channel answers 429 to every post while three posts wait for it."""
    world.fake.rate_limit("chat.postMessage", retry_after=1, channel=CHANNEL)
    posts = [
        Outbound(destination=Destination.team_channel(team=CHANNEL), text=f"Herinnering {n}")
        for n in range(3)
    ]
    Outbox(store=world.outbox, clock=clock).enqueue(
        posts, platform="slack", workspace=WORKSPACE, origin={}
    )
    wait_until(
        lambda: any(c.status == 429 for c in world.fake.calls_to("chat.postMessage")),
        what="the first 429",
    )
    try:
        yield
    finally:
        world.fake.clear_rate_limits()


@contextmanager
def tapping(
    world: SlackWorld, user: str, *, message: Message, button: Button, interval: float
) -> Iterator[None]:
    """``user`` keeps pressing an old button, every ``interval`` seconds (0: flat out).

    Every press is a new request (a new trigger id), answered with "that button
    belongs to an earlier message" and the current question: two new messages in
    the member's own DM each time.
    """
    team = world.team
    stop = threading.Event()
    taps = [0]

    def tap() -> None:
        while not stop.is_set():
            team.post(team.action_body(user, message, button), wait=False)
            taps[0] += 1
            stop.wait(interval)

    thread = threading.Thread(target=tap, name="tapper", daemon=True)
    thread.start()
    try:
        wait_until(lambda: taps[0] >= 5, what="the tapper to get going")
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def run(
    *,
    samples: int,
    database_url: str,
    directory: Path,
    flood: bool = False,
    on_progress: Callable[[str], None] = lambda name: None,
) -> Report:
    """Every scenario in one world; enough members that none runs out of questions.

    Args:
        samples: Clicks measured per scenario.
        database_url: An empty database (SQLite file or PostgreSQL).
        directory: For the bot's output files.
        flood: Also measure while the tapper presses flat out (as fast as the
            adapter answers, far beyond what a person can do).
        on_progress: Told each scenario's name as it starts.
    """
    scenarios = 4 if flood else 3
    measured = [f"lid{n:02d}" for n in range(1, members_for(samples, scenarios) + 1)]
    clock = FakeClock(start=FakeClock.default_start())
    with slack_world(
        database_url=database_url,
        clock=clock,
        output_dir=directory,
        names=(*measured, TAPPER),
        rates=SlackRates.generous(),
    ) as (world, ids):
        fake, team = world.fake, world.team
        members, tapper = ids[:-1], ids[-1]
        team.command(ids[0], "start")
        for user in ids:
            team.click(user, "start")
        old = fake.prompt(tapper)
        old_button = dict(old.button("++"))  # question 1's button, kept after it changes
        team.click(tapper, "++")
        on_progress("unloaded")
        unloaded = measure(world, members, samples=samples)
        loaded: list[Scenario] = []
        on_progress(RATE_LIMITED)
        with channel_rate_limited(world, clock):
            loaded.append(Scenario(RATE_LIMITED, measure(world, members, samples=samples)))
        tappers = [(TAPPING, TAP_INTERVAL_S)] + ([(FLOODING, 0.0)] if flood else [])
        for name, interval in tappers:
            on_progress(name)
            with tapping(world, tapper, message=old, button=old_button, interval=interval):
                loaded.append(Scenario(name, measure(world, members, samples=samples)))
            world.wait_delivered(timeout=600)  # the tapper's backlog, before the next one
        return Report(unloaded=unloaded, loaded=loaded)


def members_for(samples: int, scenarios: int) -> int:
    """Members to measure so every scenario's clicks fit in their 48 questions each."""
    return max(MIN_MEASURED, math.ceil(scenarios * samples / (QUESTIONS_PER_MEMBER - 2)))


def render(report: Report) -> str:
    """The figures block: p50, p95 and max per series in milliseconds, and the verdicts."""
    lines = [f"{'scenario':<34}{'series':<7}{'p50':>8}{'p95':>8}{'max':>8}"]
    rows = [("unloaded", report.unloaded)]
    rows += [(scenario.name, scenario.figures) for scenario in report.loaded]
    for name, figures in rows:
        for label, series in (("ack", figures.acks), ("edit", figures.edits)):
            values = (series.percentile(0.5), series.percentile(0.95), max(series.samples))
            cells = "".join(f"{value * 1000:>6.0f}ms" for value in values)
            lines.append(f"{name:<34}{label:<7}{cells}")
    for scenario in report.loaded:
        excess = report.excess(scenario)
        verdict = "within" if excess <= BUDGET_S else "OVER"
        lines.append(
            f"{scenario.name}: p95 {excess * 1000:+.0f} ms vs unloaded ({verdict} 250 ms)"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run the scenarios and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60, help="clicks per scenario")
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    parser.add_argument(
        "--flood", action="store_true", help="also measure a member tapping flat out"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="latency-slack-") as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'latency.sqlite3'}"
        report = run(
            samples=args.samples,
            database_url=url,
            directory=Path(directory),
            flood=args.flood,
            on_progress=lambda name: print(f"measuring: {name}", flush=True),
        )
    print()
    print(render(report))


if __name__ == "__main__":
    main()
