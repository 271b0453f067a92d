"""Metrics (issue 11): the counters move by exactly what a round does, the gauges read the outbox.

Driven through the shared ``testbot`` (SQLite and PostgreSQL); the answer latency
with an injected monotonic clock, never the wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.core.engine import Engine
from bot.core.metrics import DELIVERY_RESULTS, Metrics
from bot.delivery.api import Permanent, Retry
from conversations.core.messages import Inbound, Sender, Where
from conversations.instrument import load_instruments
from storage.conflicts import ConcurrentChangeError
from storage.delivery.outbox import NewOutboxRow, OutboxStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.fakes.delivery import FakeSender
from tests.testbot import MEMBERS, TestBot

Labels = tuple[tuple[str, str], ...]


def samples(metrics: Metrics, name: str) -> dict[Labels, float]:
    """Every sample of ``name`` that is not zero, by its labels."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == name and sample.value
    }


def labels(**values: str) -> Labels:
    return tuple(sorted(values.items()))


def events(bot: TestBot) -> dict[Labels, float]:
    return samples(bot.engine.metrics, "quickscan_events_total")


def latency_counts(bot: TestBot) -> dict[Labels, float]:
    return samples(bot.engine.metrics, "quickscan_answer_latency_seconds_count")


def event(kind: str, outcome: str) -> Labels:
    return labels(platform="console", kind=kind, outcome=outcome)


def start_round(bot: TestBot) -> int:
    """Anna opens a round; the number of messages it queued."""
    return len(bot.say("anna", "/quickscan start", where=Where.TEAM))


def redelivered(bot: TestBot, *, user: str, text: str, event_id: str) -> Inbound:
    return Inbound(
        platform=bot.team.platform,
        workspace=bot.team.workspace,
        team=bot.team.team,
        where=Where.DM,
        sender=Sender(user=user, display_name=user),
        text=text,
        event_id=event_id,
    )


# ------------------------------------------------------------------- events


def test_a_round_counts_every_routed_event_once(testbot: TestBot) -> None:
    assert events(testbot) == {}

    start_round(testbot)  # a command
    testbot.say("bram", "start")  # a DM answer: the walkthrough begins
    testbot.say("bram", "+")
    testbot.say("bram", "goedemorgen allemaal", where=Where.TEAM)  # chatter: no route
    testbot.say("bram", "/quickscan sluit", where=Where.TEAM)  # not a coordinator: refused
    again = redelivered(testbot, user="chris", text="start", event_id="ev-1")
    testbot.engine.handle(again)
    testbot.engine.handle(again)  # the platform's retry

    assert events(testbot) == {
        event("command", "handled"): 1,
        event("answer", "handled"): 3,
        event("command", "refused"): 1,
        event("answer", "duplicate"): 1,
    }
    assert latency_counts(testbot) == {
        labels(platform="console", kind="command"): 1,
        labels(platform="console", kind="answer"): 3,
    }


def test_a_pressed_button_counts_as_a_button(testbot: TestBot) -> None:
    start_round(testbot)
    testbot.press("bram", "garbage")  # a forged payload is still a pressed button

    assert events(testbot)[event("button", "handled")] == 1


def test_an_event_that_fails_counts_as_an_error_and_is_not_timed(
    testbot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away(**_: object) -> None:
        raise RuntimeError("the database is away")

    monkeypatch.setattr(testbot.store, "get_team", database_away)

    replies = testbot.say("anna", "/quickscan start", where=Where.TEAM)

    assert len(replies) == 1  # the engine's private failure notice
    assert events(testbot) == {event("command", "error"): 1}
    assert latency_counts(testbot) == {}


def test_a_lost_race_counts_as_a_conflict_and_its_redo_as_handled(
    testbot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_round(testbot)
    testbot.say("bram", "start")
    save_progress = testbot.store.save_progress
    lost = [ConcurrentChangeError("another replica saved first")]

    def first_loses(**arguments: Any) -> Any:
        if lost:
            raise lost.pop()
        return save_progress(**arguments)

    monkeypatch.setattr(testbot.store, "save_progress", first_loses)
    before = events(testbot)

    testbot.say("bram", "+")

    after = events(testbot)
    assert after[event("answer", "conflict")] == 1
    assert after[event("answer", "handled")] == before[event("answer", "handled")] + 1
    assert event("answer", "error") not in after


def test_labels_stay_bounded_whatever_an_adapter_passes() -> None:
    metrics = Metrics()
    metrics.event(platform="irc <script>", kind="anna's answer", outcome="weird")
    metrics.delivery(platform="console", result="exploded")

    assert samples(metrics, "quickscan_events_total") == {
        labels(platform="other", kind="other", outcome="other"): 1
    }
    assert samples(metrics, "quickscan_deliveries_total") == {
        labels(platform="console", result="other"): 1
    }


def test_every_engine_has_a_registry_of_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.event(platform="slack", kind="command", outcome="handled")

    assert first.registry is not second.registry
    assert samples(second, "quickscan_events_total") == {}


# ------------------------------------------------------------------ latency


class Ticker:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


class SlowRoster:
    """The platform takes ``delay`` seconds (on the ticker) to list a team's members."""

    def __init__(self, *, ticker: Ticker, delay: float, members: Sequence[str]) -> None:
        self._ticker = ticker
        self._delay = delay
        self._members = members

    def members(self, *, team: TeamKey) -> list[Sender]:
        self._ticker.seconds += self._delay
        return [Sender(user=name, display_name=name) for name in self._members]


def test_answer_latency_runs_from_entry_into_the_engine_to_commit(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    ticker = Ticker()
    engine = Engine(
        store=Store.open(url=database_url),
        instruments=load_instruments(),
        roster=SlowRoster(ticker=ticker, delay=0.3, members=MEMBERS),
        clock=clock,
        output_dir=tmp_path / "output",
        metrics=Metrics(monotonic=ticker),
    )
    bot = TestBot(engine=engine, clock=clock)
    try:
        # The roster is asked before the event's transaction: that wait is the member's too.
        start_round(bot)
        bot.say("bram", "start")  # nothing moves the ticker: zero seconds
    finally:
        bot.close()

    metrics = engine.metrics

    def bucket(kind: str, le: str) -> float | None:
        return metrics.registry.get_sample_value(
            "quickscan_answer_latency_seconds_bucket",
            {"platform": "console", "kind": kind, "le": le},
        )

    assert samples(metrics, "quickscan_answer_latency_seconds_sum") == {
        labels(platform="console", kind="command"): pytest.approx(0.3)
    }
    assert (bucket("command", "0.25"), bucket("command", "0.5")) == (0.0, 1.0)
    assert (bucket("answer", "0.01"), bucket("answer", "+Inf")) == (1.0, 1.0)


# --------------------------------------------------------------- deliveries


def deliveries(bot: TestBot) -> dict[Labels, float]:
    return samples(bot.engine.metrics, "quickscan_deliveries_total")


def result(name: str) -> Labels:
    return labels(platform="console", result=name)


def test_deliveries_count_each_attempt_by_result(testbot: TestBot) -> None:
    sender = FakeSender(
        platform="console",
        script={
            "dm:bram": [Permanent(reason="blocked")],
            "dm:chris": [Retry(after=30.0, reason="503")],
            "t1": [Retry(after=5.0, reason="429", limit_key="chat:t1")],
        },
    )
    dispatcher = testbot.engine.dispatcher(sender=sender)
    every_result = testbot.engine.metrics.registry.collect()
    shown = {
        sample.labels["result"]
        for family in every_result
        for sample in family.samples
        if sample.name == "quickscan_deliveries_total"
    }
    assert shown == set(DELIVERY_RESULTS)  # all at zero before the first attempt
    start_round(testbot)

    dispatcher.run_until_idle()
    testbot.clock.advance(seconds=60)
    dispatcher.run_until_idle()

    scripted = 3
    assert deliveries(testbot) == {
        result("sent"): len(sender.deliveries) - scripted,
        result("rate_limited"): 1,
        result("retry"): 1,
        result("undeliverable"): 1,
    }
    unreadable = NewOutboxRow(
        platform="console", workspace="w1", team="t1", kind="team", user=None, body="?"
    )
    outbox = OutboxStore(engine=testbot.store.engine, cipher=testbot.store.cipher)
    outbox.add(rows=[unreadable], now=testbot.clock.now())
    dispatcher.run_until_idle()

    assert deliveries(testbot)[result("failed")] == 1


# ------------------------------------------------------------------- outbox


def outbox_gauges(bot: TestBot) -> tuple[float | None, float | None]:
    registry = bot.engine.metrics.registry
    platform = {"platform": "console"}
    return (
        registry.get_sample_value("quickscan_outbox_pending", platform),
        registry.get_sample_value("quickscan_outbox_oldest_pending_age_seconds", platform),
    )


def test_outbox_gauges_after_queueing_and_after_delivering(testbot: TestBot) -> None:
    dispatcher = testbot.engine.dispatcher(sender=FakeSender(platform="console"))
    assert outbox_gauges(testbot) == (0.0, 0.0)

    queued = start_round(testbot)
    assert queued > 0
    testbot.clock.advance(seconds=90)
    assert outbox_gauges(testbot) == (float(queued), 90.0)

    dispatcher.run_until_idle()

    assert outbox_gauges(testbot) == (0.0, 0.0)


def test_a_scrape_without_the_database_still_shows_the_counters(
    testbot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    testbot.engine.dispatcher(sender=FakeSender(platform="console"))
    start_round(testbot)

    def database_away(self: OutboxStore, *, platform: str | None = None) -> None:
        raise RuntimeError("the database is away")

    monkeypatch.setattr(OutboxStore, "stats", database_away)

    assert outbox_gauges(testbot) == (None, None)  # absent, not a false zero
    assert events(testbot) == {event("command", "handled"): 1}
