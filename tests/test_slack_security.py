"""Requests the Slack adapter must refuse or handle once: bad signatures, retries, forgeries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conversations.instrument import Quickscan, load_instruments
from storage.keys import TeamKey
from storage.quickscan.records import Participation, ParticipationState
from tests.conftest import FakeClock
from tests.fakes.slack import CHANNEL, WORKSPACE, SlackWorld, sign, slack_world

NAMES = ("anna", "bram", "chris")
TEAM = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[SlackWorld, list[str]]]:
    """The adapter on SQLite with three members in the channel."""
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(database_url=url, clock=clock, output_dir=tmp_path, names=NAMES) as made:
        yield made


def web_api_calls(world: SlackWorld) -> list[str]:
    """Every Web API call after start-up (auth.test)."""
    return [call.method for call in world.fake.calls if call.method != "auth.test"]


def test_bad_signature_and_expired_timestamp_are_rejected(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, *_) = world
    body = slack.team.command_body(anna, "start")
    forged = slack.team.post(body, signature="v0=" + "0" * 64)
    assert forged.status == 401
    other_secret = slack.team.post(
        body,
        signature=sign(body, timestamp=int(time.time()), secret="wrong"),  # noqa: S106 - a wrong secret on purpose
    )
    assert other_secret.status == 401
    old = int(time.time()) - 6 * 60  # correctly signed, but more than 5 minutes old
    expired = slack.team.post(body, timestamp=old, signature=sign(body, timestamp=old))
    assert expired.status == 401
    # Nothing happened: no call to Slack, no team, no round.
    assert web_api_calls(slack) == []
    assert slack.store.get_team(key=TEAM) is None
    # The same body, properly signed and fresh, is accepted.
    assert slack.team.post(body).status == 200
    assert slack.store.current_round(key=TEAM) is not None


def test_the_request_url_check_is_answered_only_when_signed(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, _ids = world
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"})
    reply = slack.team.post(body, content_type="application/json")
    assert (reply.status, json.loads(reply.body)) == (200, {"challenge": "abc123"})
    forged = slack.team.post(body, content_type="application/json", signature="v0=00")
    assert forged.status == 401


def test_a_redelivered_command_click_and_event_are_handled_once(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, bram, _chris) = world
    fake, team = slack.fake, slack.team
    body = team.command_body(anna, "start")
    assert team.post(body).status == 200
    assert team.post(body, retry=1).status == 200  # Slack's retry: same trigger_id
    assert len(fake.messages_in(CHANNEL)) == 1
    assert len(fake.calls_to("conversations.open")) == len(NAMES)
    assert "al een quickscan-ronde" not in " ".join(fake.ephemerals_for(anna))

    team.click(bram, "start")
    prompt = fake.prompt(bram)
    click = team.action_body(bram, prompt, prompt.button("++"))
    team.post(click)
    team.post(click, retry=1)
    updates = prompt.updates
    assert "vraag 2 van 48" in fake.prompt(bram).body
    participation = participation_of(slack, bram)
    assert slack.store.answers(participation_id=participation.id) == {first_question(slack): "++"}
    assert updates == 2  # start + one answer; the retry changed nothing

    typed = team.event_body(bram, "+")
    team.post(typed, content_type="application/json")
    team.post(typed, content_type="application/json", retry=1)
    assert len(slack.store.answers(participation_id=participation.id)) == 2
    assert "vraag 3 van 48" in fake.prompt(bram).body


def test_forged_button_values_change_nothing(world: tuple[SlackWorld, list[str]]) -> None:
    slack, (anna, bram, _chris) = world
    fake, team = slack.fake, slack.team
    team.command(anna, "start")
    team.click(anna, "start")
    team.click(bram, "start")
    team.click(bram, "+")
    anna_prompt, bram_prompt = fake.prompt(anna), fake.prompt(bram)
    anna_answer = anna_prompt.button("++")["value"]  # qs:<anna's participation>:a:0:0
    own = bram_prompt.button("+")["value"]  # qs:<bram's participation>:a:1:1
    before = snapshot(slack, anna, bram)
    forged = [
        anna_answer,  # another member's button
        "qs:999999:a:1:1",  # a participation that does not exist
        own.rsplit(":", 1)[0] + ":99",  # an option index that does not exist
        own.rsplit(":", 1)[0] + ":x",  # a non-numeric tail
        "qs:" + own.split(":")[1] + ":zz:1",  # an unknown verb
        "something else entirely",
    ]
    for value in forged:
        button = {**bram_prompt.button("+"), "value": value}
        assert team.post(team.action_body(bram, bram_prompt, button)).status == 200
        reply = fake.dm(bram)[-1]
        assert "niet (meer) geldig" in reply.body, value
    assert snapshot(slack, anna, bram) == before
    assert anna_prompt.updates == 1  # anna's DM was never touched by bram's clicks
    assert fake.prompt(bram).body == bram_prompt.body


def participation_of(slack: SlackWorld, user: str) -> Participation:
    round_ = slack.store.current_round(key=TEAM)
    assert round_ is not None
    found = slack.store.participation(key=TEAM.member(user), round_id=round_.id)
    assert found is not None
    return found


def first_question(slack: SlackWorld) -> str:
    instrument = load_instruments()["quickscan-po"]
    assert isinstance(instrument, Quickscan)
    return instrument.questions[0].id


def snapshot(
    slack: SlackWorld, *users: str
) -> list[tuple[ParticipationState, int, dict[str, str]]]:
    """State, position and answers of each member: what a forgery must not change."""
    result = []
    for user in users:
        participation = participation_of(slack, user)
        answers = slack.store.answers(participation_id=participation.id)
        result.append((participation.state, participation.position, answers))
    return result
