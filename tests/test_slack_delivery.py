"""Delivery through the outbox: rate limits, unreachable members, Slack's size limits.

The adapter in HTTP mode against the fake Slack: every reply is an outbox row
first, sent by the dispatcher with the Slack sender (tests/test_slack_sender.py
has the sender's own cases).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.slack.rates import SlackRates
from adapters.slack.render import (
    ACTIONS_MAX_ELEMENTS,
    prompt_messages,
    section_blocks,
    to_mrkdwn,
)
from bot.delivery.outbox import Outbox
from conversations.core.limits import SLACK_MAX_BLOCKS, SLACK_SECTION_MAX_CHARS
from conversations.core.messages import Button, Destination, Outbound
from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.slack import (
    BOT_USER,
    CHANNEL,
    WORKSPACE,
    FakeSlack,
    SlackWorld,
    slack_world,
)

NAMES = ("anna", "bram", "chris", "dewi")
TEAM = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[SlackWorld, list[str]]]:
    """The adapter on SQLite with four members in the channel."""
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(database_url=url, clock=clock, output_dir=tmp_path, names=NAMES) as made:
        yield made


def test_a_429_on_the_channel_holds_up_nothing_else(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *others) = world
    slack.fake.rate_limit("chat.postMessage", retry_after=1, channel=CHANNEL, times=1)
    slack.team.command(anna, "start")  # the announcement is rate limited once
    posts = slack.fake.calls_to("chat.postMessage")
    into_channel = [c for c in posts if c.params["channel"] == CHANNEL]
    assert [c.status for c in into_channel] == [429, 200]
    # The invitations did not wait for the channel: they went out in between.
    retried = posts.index(into_channel[1])
    assert (
        sum(1 for c in posts[:retried] if c.params["channel"].startswith("D")) == len(others) + 1
    )
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
    slack.engine.report_undeliverable(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        kind="dm",
        user=chris,
        reason="unreachable",
    )
    team.wait_idle()
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


def queue(slack: SlackWorld, clock: FakeClock, *messages: Outbound) -> None:
    """Queue rows as another process would (a scheduler's ping): no engine, no wake-up."""
    Outbox(store=slack.outbox, clock=clock).enqueue(
        messages, platform="slack", workspace=WORKSPACE, origin={}
    )
    slack.team.wait_idle()


def test_messages_queued_elsewhere_are_delivered_for_a_team(
    world: tuple[SlackWorld, list[str]], clock: FakeClock
) -> None:
    slack, (anna, *_) = world
    reminder = Outbound(destination=Destination.team_channel(team=CHANNEL), text="Herinnering")
    private = Outbound(destination=Destination.dm(team=CHANNEL, user=anna), text="Nog 2 dagen")
    queue(slack, clock, reminder, private)
    assert slack.fake.messages_in(CHANNEL)[-1].body == "Herinnering"
    assert slack.fake.dm(anna)[-1].body == "Nog 2 dagen"


def test_a_user_id_typed_in_an_open_answer_pings_nobody_in_the_team_result(
    world: tuple[SlackWorld, list[str]], clock: FakeClock
) -> None:
    """The result thread quotes open answers; a colleague's id typed there stays text."""
    slack, (anna, bram, *_) = world
    slack.team.command(anna, "start")  # the roster lookup makes every member a known id
    result = Outbound(
        destination=Destination.team_channel(team=CHANNEL),
        text=f"Teamresultaat\n{bram} staat in de samenvatting",
        details=f"Open antwoorden:\n- {bram} doet nooit mee",
    )
    queue(slack, clock, result)
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


def test_the_ack_does_not_wait_for_the_paced_fan_out(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    rates = SlackRates.generous(workspace_messages=4.0)  # five new messages take a second
    with slack_world(
        database_url=url, clock=clock, output_dir=tmp_path, names=NAMES, rates=rates
    ) as (slack, ids):
        reply = slack.team.post(slack.team.command_body(ids[0], "start"), wait=False)
        assert reply.status == 200
        # Handled (the round and its invitations are committed) but not yet all sent.
        key = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)
        round_ = slack.store.current_round(key=key)
        assert round_ is not None
        assert len(slack.store.participations(key=key, round_id=round_.id)) == len(NAMES)
        assert len(slack.fake.calls_to("chat.postMessage")) < 1 + len(NAMES)
        slack.team.wait_idle()
        assert len(slack.fake.calls_to("chat.postMessage")) == 1 + len(NAMES)


def test_default_rates_come_from_the_shared_limits() -> None:
    from conversations.core.limits import (
        SLACK_PER_CHANNEL_INTERVAL_S,
        SLACK_WORKSPACE_MESSAGES_PER_SECOND,
    )

    defaults = SlackRates()
    assert defaults.per_conversation == pytest.approx(1 / SLACK_PER_CHANNEL_INTERVAL_S)
    assert defaults.workspace_messages == SLACK_WORKSPACE_MESSAGES_PER_SECOND


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


def test_the_fake_refuses_blocks_slack_would_refuse() -> None:
    with FakeSlack() as fake:
        fake.channels["C1"] = [BOT_USER]
        too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        assert fake._post({"channel": "C1", "text": "t", "blocks": too_long}) == {
            "ok": False,
            "error": "invalid_blocks",
        }
