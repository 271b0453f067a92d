"""Delivery under pressure: rate limits, unreachable members, pacing, Slack's size limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.slack.app import split_fan_out
from adapters.slack.pacing import Pacer, PacingIntervals
from adapters.slack.render import (
    ACTIONS_MAX_ELEMENTS,
    prompt_messages,
    section_blocks,
    to_mrkdwn,
)
from adapters.slack.worker import Worker
from conversations.core.limits import SLACK_MAX_BLOCKS, SLACK_SECTION_MAX_CHARS
from conversations.core.messages import Button, Destination, Outbound
from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fake_slack import CHANNEL, WORKSPACE, FakeSlack, SlackWorld, slack_world

NAMES = ("anna", "bram", "chris", "dewi")
TEAM = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[SlackWorld, list[str]]]:
    """The adapter on SQLite with four members in the channel."""
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(database_url=url, clock=clock, output_dir=tmp_path, names=NAMES) as made:
        yield made


def test_a_429_is_retried_after_retry_after_and_succeeds(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *others) = world
    slack.fake.rate_limit_once("chat.postMessage", retry_after=1)
    slack.team.command(anna, "start")
    first, second, *_rest = slack.fake.calls_to("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert first.params["channel"] == second.params["channel"] == CHANNEL
    assert second.at - first.at >= 1.0
    (announcement,) = slack.fake.messages_in(CHANNEL)
    assert "4 teamleden" in announcement.body
    assert all(len(slack.fake.dm(user)) == 1 for user in [anna, *others])


def test_an_unreachable_member_is_reported_to_the_opener_once(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, bram, chris, dewi) = world
    fake, team = slack.fake, slack.team
    fake.fail_dm(chris, error="cannot_dm_bot")  # conversations.open fails
    fake.fail_posts(fake.dm_channel(dewi), error="is_archived")  # chat.postMessage fails
    team.command(anna, "start")
    notes = [m.body for m in fake.dm(anna) if "kon geen privébericht" in m.body]
    assert len(notes) == 2
    assert any(note.startswith("chris kon geen") for note in notes)
    assert any(note.startswith("dewi kon geen") for note in notes)
    # Tried once each, never again.
    opens = [c for c in fake.calls_to("conversations.open") if c.params["users"] == chris]
    assert len(opens) == 1
    dewi_dm = fake.dm_channel(dewi)
    posts = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == dewi_dm]
    assert len(posts) == 1
    assert len(fake.dm(bram)) == 1  # the others got their invitation as usual
    # The coordinator sees who could not be reached in the status.
    team.command(anna, "status")
    assert "Niet bereikbaar via een privébericht: chris, dewi" in fake.ephemerals_for(anna)[-1]
    # A second report of the same member (another failed attempt) says nothing new.
    calls = len(fake.calls)
    assert slack.engine.report_unreachable(team=TEAM, user=chris) == []
    assert len(fake.calls) == calls


def test_a_mentioned_coordinator_is_stored_by_user_id(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, bram, *_) = world
    fake, team = slack.fake, slack.team
    team.command(anna, "start")  # the first to start a round is the first coordinator
    team.command(anna, "sluit")
    team.command(anna, f"coordinator <@{bram}|bram>")  # how Slack escapes "@bram"
    assert fake.messages_in(CHANNEL)[-1].body == f"<@{bram}> is nu coördinator van dit team."
    assert slack.store.is_coordinator(key=TEAM, user=bram)
    team.command(bram, "start")
    assert "bram heeft de quickscan" in fake.messages_in(CHANNEL)[-1].body
    team.command(bram, "help")
    assert f"Coördinatoren: <@{anna}>, <@{bram}>" in fake.ephemerals_for(bram)[-1]


def test_messages_without_an_event_are_delivered_for_a_team(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *_) = world
    reminder = Outbound(destination=Destination.team_channel(team=CHANNEL), text="Herinnering")
    private = Outbound(destination=Destination.dm(team=CHANNEL, user=anna), text="Nog 2 dagen")
    slack.runner.deliver(TEAM, [reminder, private])
    slack.team.wait_idle()
    assert slack.fake.messages_in(CHANNEL)[-1].body == "Herinnering"
    assert slack.fake.dm(anna)[-1].body == "Nog 2 dagen"


def test_a_user_id_typed_in_an_open_answer_pings_nobody_in_the_team_result(
    world: tuple[SlackWorld, list[str]],
) -> None:
    """The result thread quotes open answers; a colleague's id typed there stays text."""
    slack, (anna, bram, *_) = world
    slack.team.command(anna, "start")  # the roster lookup makes every member a known id
    result = Outbound(
        destination=Destination.team_channel(team=CHANNEL),
        text=f"Teamresultaat\n{bram} staat in de samenvatting",
        details=f"Open antwoorden:\n- {bram} doet nooit mee",
    )
    slack.runner.deliver(TEAM, [result])
    slack.team.wait_idle()
    head = slack.fake.messages_in(CHANNEL)[-1]
    (thread,) = slack.fake.messages_in(CHANNEL, thread_ts=head.ts)
    assert f"{bram} doet nooit mee" in thread.body
    assert f"{bram} staat in de samenvatting" in head.body
    assert "<@" not in head.body + thread.body


def test_outside_a_channel_the_bot_is_in_replies_go_through_the_response_url(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *_) = world
    fake, team = slack.fake, slack.team
    elsewhere = "C0ELSEWHR"  # a private channel the bot was not invited to
    body = team.command_body(anna, "start", channel=elsewhere)
    assert team.post(body).status == 200
    (hook,) = fake.hooks
    assert hook["response_type"] == "ephemeral"
    assert "Voeg de bot eerst toe aan het kanaal" in hook["text"]
    key = TeamKey(platform="slack", workspace=WORKSPACE, team=elsewhere)
    assert slack.store.current_round(key=key) is None  # nothing was started
    assert fake.calls_to("conversations.open") == []


def test_the_fan_out_is_paced_after_the_ack(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    pacing = PacingIntervals(per_channel=0.0, workspace=0.15)
    with slack_world(
        database_url=url, clock=clock, output_dir=tmp_path, names=NAMES, pacing=pacing
    ) as (slack, ids):
        began = time.monotonic()
        reply = slack.team.post(slack.team.command_body(ids[0], "start"), wait=False)
        acked = time.monotonic() - began
        assert reply.status == 200
        assert acked < 0.5  # the ack does not wait for five paced messages
        slack.team.wait_idle()
        posts = slack.fake.calls_to("chat.postMessage")
        assert len(posts) == 1 + len(NAMES)
        # Slots are 0.15 s apart; arrival times jitter a little around them.
        assert posts[-1].at - posts[0].at >= 0.15 * (len(posts) - 1) - 0.05


def test_pacer_spaces_messages_per_conversation_and_workspace() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(
        intervals=PacingIntervals(per_channel=1.0, workspace=0.25),
        monotonic=lambda: now[0],
        sleep=sleep,
    )
    for channel in ("D1", "D2", "D3", "D4"):
        pacer.wait(channel=channel)
    assert slept == [0.25, 0.25, 0.25]  # a steady workspace rate for different DMs
    pacer.wait(channel="D4")
    assert slept[-1] == pytest.approx(1.0)  # one message per second per conversation
    now[0] += 10
    assert pacer.reserve(channel="D1") == 0.0  # idle: no delay at all


def test_default_pacing_comes_from_bot_limits() -> None:
    from conversations.core.limits import (
        SLACK_PER_CHANNEL_INTERVAL_S,
        SLACK_WORKSPACE_MESSAGES_PER_SECOND,
    )

    defaults = PacingIntervals()
    assert defaults.per_channel == SLACK_PER_CHANNEL_INTERVAL_S
    assert defaults.workspace == pytest.approx(1 / SLACK_WORKSPACE_MESSAGES_PER_SECOND)


def test_worker_keeps_order_per_key_and_runs_keys_side_by_side() -> None:
    worker = Worker(threads=2, name="test-worker")
    worker.start()
    release = threading.Event()
    order: list[str] = []

    def blocked() -> None:
        release.wait(5)
        order.append("a1")

    worker.submit(key="a", job=blocked)
    worker.submit(key="a", job=lambda: order.append("a2"))
    worker.submit(key="b", job=lambda: order.append("b1"))
    deadline = time.monotonic() + 5
    while "b1" not in order and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order == ["b1"]  # "b" did not wait behind the blocked "a"
    release.set()
    assert worker.wait_idle(timeout=5)
    assert order == ["b1", "a1", "a2"]
    assert worker.close(timeout=5)
    with pytest.raises(RuntimeError):
        worker.submit(key="c", job=lambda: None)


def test_long_texts_fit_slack_limits() -> None:
    line = "x" * 120
    text = "\n".join([line] * 2000)  # 242 000 characters in one paragraph
    blocks = section_blocks(text)
    assert all(len(block["text"]["text"]) <= SLACK_SECTION_MAX_CHARS for block in blocks)
    buttons = tuple(Button(label=str(n), payload=f"qs:1:g:0:{n}") for n in range(30))
    messages = prompt_messages(text, buttons)
    assert all(len(message) <= SLACK_MAX_BLOCKS for message in messages)
    assert len(messages) > 1
    rows = [block for block in messages[-1] if block["type"] == "actions"]
    assert [len(row["elements"]) for row in rows] == [ACTIONS_MAX_ELEMENTS, 5]
    assert all(block["type"] == "section" for message in messages[:-1] for block in message)


def test_mrkdwn_escapes_and_mentions_only_known_users() -> None:
    shown = to_mrkdwn("<!channel> & U0ANNA00, U0NOBODY1 *vet*", mentions={"U0ANNA00"})
    assert shown == "&lt;!channel&gt; &amp; <@U0ANNA00>, U0NOBODY1 *vet*"


def test_invitations_to_several_members_are_a_separate_fan_out() -> None:
    channel = Outbound(destination=Destination.team_channel(team="C1"), text="gestart")
    dms = [Outbound(destination=Destination.dm(team="C1", user=u), text="hoi") for u in "ab"]
    assert split_fan_out([channel, *dms]) == ([channel], dms)
    assert split_fan_out([channel, dms[0]]) == ([channel, dms[0]], [])


def test_the_fake_refuses_blocks_slack_would_refuse() -> None:
    with FakeSlack() as fake:
        fake.channels["C1"] = []
        too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        assert fake._post({"channel": "C1", "text": "t", "blocks": too_long}) == {
            "ok": False,
            "error": "invalid_blocks",
        }
