"""Handled before acknowledged: Slack hears "got it" only after the engine committed.

An event the engine could not handle (the database is away) is not acknowledged,
so Slack delivers it again and nothing is lost; a slash command, which Slack does
not redeliver, is answered with a private "try again" in its acknowledgement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from conversations.core.messages import Inbound, Outbound
from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.slack import CHANNEL, WORKSPACE, SlackWorld, slack_world

TEAM = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)
STATEMENT = "INSERT INTO answers VALUES (?)"
PARAMETER = "een open antwoord van bram"  # what a database error may quote


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[SlackWorld, list[str]]]:
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(
        database_url=url, clock=clock, output_dir=tmp_path, names=("anna", "bram")
    ) as made:
        yield made


def database_away_once(world: SlackWorld) -> list[Inbound]:
    """The engine's next ``handle`` fails as if the database were unreachable."""
    real: Callable[[Inbound], list[Outbound]] = world.engine.handle
    failed: list[Inbound] = []

    def handle(event: Inbound) -> list[Outbound]:
        if not failed:
            failed.append(event)
            raise OperationalError(STATEMENT, (PARAMETER,), Exception(PARAMETER))
        return real(event)

    world.engine.handle = handle  # type: ignore[method-assign]
    return failed


def test_an_unhandled_event_is_not_acknowledged_and_its_redelivery_is_handled(
    world: tuple[SlackWorld, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    slack, (anna, bram) = world
    team = slack.team
    team.command(anna, "start")
    team.click(bram, "later")
    failed = database_away_once(slack)
    typed = team.event_body(bram, "ik ga verder")
    assert team.post(typed, content_type="application/json").status == 500  # Slack retries
    assert len(failed) == 1
    assert "vraag 1 van 48" not in slack.fake.dm(bram)[-1].body
    assert PARAMETER not in caplog.text  # logged without the error's text
    retried = team.post(typed, content_type="application/json", retry=1)
    assert retried.status == 200
    assert "vraag 1 van 48" in slack.fake.dm(bram)[-1].body


def test_a_click_that_could_not_be_handled_is_not_acknowledged(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, bram) = world
    team = slack.team
    team.command(anna, "start")
    prompt = slack.fake.prompt(bram)
    database_away_once(slack)
    assert team.click(bram, "start").status == 500  # Slack shows bram it did not work
    assert prompt.updates == 0
    assert team.click(bram, "start").status == 200  # pressing again works
    assert "vraag 1 van 48" in slack.fake.prompt(bram).body


def test_a_command_that_could_not_be_handled_says_so_in_its_ack(
    world: tuple[SlackWorld, list[str]],
) -> None:
    slack, (anna, _bram) = world
    database_away_once(slack)
    reply = slack.team.command(anna, "start")
    assert reply.status == 200
    assert "Er ging iets mis" in reply.body  # Slack shows an ack's text only to anna
    assert slack.store.current_round(key=TEAM) is None
    assert slack.fake.calls_to("chat.postMessage") == []
