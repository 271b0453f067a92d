"""A round in a channel the bot cannot post in is refused before anything starts.

In a public channel conversations.members works without the bot, so a round
would open and invite everyone while its announcement and result fail with
``not_in_channel``. The roster checks conversations.info first; the engine answers
the coordinator privately (through the command's response URL, since the bot
cannot post ephemerally there either) with what to do: invite the bot.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.slack import BOT_USER, CHANNEL, WORKSPACE, FakeSlack, SlackWorld, slack_world

PUBLIC = "C0PUBLIC1"  # public, the bot never invited
PRIVATE = "G0PRIVAT1"  # private, the bot never invited
MEMBERS = ("anna", "bram", "chris")


def _channels(fake: FakeSlack) -> None:
    members = [user for user in fake.channels[CHANNEL] if user != BOT_USER]
    fake.channels[PUBLIC] = list(members)
    fake.channels[PRIVATE] = list(members)
    fake.private_channels.add(PRIVATE)


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[SlackWorld, list[str]]]:
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(
        database_url=url, clock=clock, output_dir=tmp_path, names=MEMBERS, prepare=_channels
    ) as made:
        yield made


def key(channel: str) -> TeamKey:
    return TeamKey(platform="slack", workspace=WORKSPACE, team=channel)


def nothing_started(slack: SlackWorld, channel: str) -> None:
    assert slack.store.current_round(key=key(channel)) is None
    assert slack.fake.calls_to("conversations.open") == []
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.outbox.stats(platform="slack").pending == 0


def test_a_public_channel_without_the_bot_is_refused_with_the_fix(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *_) = world
    fake, team = slack.fake, slack.team
    reply = team.post(team.command_body(anna, "start", channel=PUBLIC))
    assert reply.status == 200
    (hook,) = fake.hooks  # only anna sees it, through the command's response URL
    assert hook["response_type"] == "ephemeral"
    assert "geen lid van dit kanaal" in hook["text"]
    assert "/invite @Quickscan" in hook["text"]
    nothing_started(slack, PUBLIC)
    (info,) = fake.calls_to("conversations.info")
    assert info.params["channel"] == PUBLIC
    assert fake.calls_to("conversations.members") == []  # refused before listing anyone

    # Once the bot is invited, the same command starts the round there.
    fake.channels[PUBLIC].append(BOT_USER)
    team.post(team.command_body(anna, "start", channel=PUBLIC))
    (announcement,) = fake.messages_in(PUBLIC)
    assert f"{len(MEMBERS)} teamleden" in announcement.body
    assert slack.store.current_round(key=key(PUBLIC)) is not None


def test_a_private_channel_without_the_bot_is_refused(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *_) = world
    team = slack.team
    team.post(team.command_body(anna, "start", channel=PRIVATE))
    (hook,) = slack.fake.hooks
    assert "Voeg de bot eerst toe aan het kanaal" in hook["text"]
    nothing_started(slack, PRIVATE)


def test_a_rate_limited_roster_starts_nothing_and_says_try_again(
    world: tuple[SlackWorld, list[str]],
) -> None:
    """A member skipped for a failed lookup would never be invited: no half rounds."""
    slack, (anna, *_) = world
    fake, team = slack.fake, slack.team
    fake.rate_limit_once("conversations.members", retry_after=30)
    team.command(anna, "start")
    assert "Probeer het over een minuut opnieuw" in fake.ephemerals_for(anna)[-1]
    assert slack.store.current_round(key=key(CHANNEL)) is None
    assert fake.calls_to("conversations.open") == []
    fake.rate_limit_once("users.info", retry_after=30)
    team.command(anna, "start")
    assert "Probeer het over een minuut opnieuw" in fake.ephemerals_for(anna)[-1]
    assert slack.store.current_round(key=key(CHANNEL)) is None
    team.command(anna, "start")  # Slack is fine again
    assert slack.store.current_round(key=key(CHANNEL)) is not None
    assert len(fake.calls_to("conversations.open")) == len(MEMBERS)
