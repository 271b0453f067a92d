"""On Slack only the team channel's members are invited; nobody else gets in by a side door.

The roster is ``conversations.members`` of the channel the round was started in
(humans only). There is no join link on Slack, so a workspace member outside the
channel, or one who left it, is not invited when a round starts, and writing to
the bot privately does not invite them either: they get a private answer and
nothing is stored about them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.slack import CHANNEL, WORKSPACE, FakeSlack, SlackWorld, slack_world

OUTSIDER, LEAVER = "U0OUTSID1", "U0LEAVES1"
TEAM = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)


def _outsiders(fake: FakeSlack) -> None:
    fake.add_user(OUTSIDER, "Otto")  # in the workspace, never in the channel
    fake.add_user(LEAVER, "Lies")
    fake.channels[CHANNEL].append(LEAVER)


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[SlackWorld, list[str]]]:
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(
        database_url=url,
        clock=clock,
        output_dir=tmp_path,
        names=("anna", "bram"),
        prepare=_outsiders,
    ) as made:
        yield made


def test_only_channel_members_are_invited(world: tuple[SlackWorld, list[str]]) -> None:
    slack, (anna, bram) = world
    fake, team = slack.fake, slack.team
    fake.channels[CHANNEL].remove(LEAVER)  # left the channel before the round
    assert team.command(anna, "start").status == 200
    round_ = slack.store.current_round(key=TEAM)
    assert round_ is not None
    invited = {p.key.user for p in slack.store.participations(key=TEAM, round_id=round_.id)}
    assert invited == {anna, bram}
    opened = {call.params.get("users") for call in fake.calls_to("conversations.open")}
    assert OUTSIDER not in opened
    assert LEAVER not in opened

    # Writing to the bot privately is no way in: a private answer, nothing stored.
    posts_in_channel = len(fake.messages_in(CHANNEL))
    for user in (OUTSIDER, LEAVER):
        assert team.say_in_dm(user, "start").status == 200
        assert team.say_in_dm(user, "++").status == 200
        assert fake.dm(user), "the person hears something, privately"
    invited = {p.key.user for p in slack.store.participations(key=TEAM, round_id=round_.id)}
    assert invited == {anna, bram}
    assert len(fake.messages_in(CHANNEL)) == posts_in_channel
