"""The Slack configuration, the app manifest, and building the runner in either mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from slack_sdk.errors import SlackApiError

from adapters.slack.config import SlackConfig, SlackConfigError, SlackMode
from adapters.slack.runner import SlackRunner
from adapters.startup.config import load_settings
from bot.commands.parse import COMMAND_WORD
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from bot.delivery.api import Delivery
from conversations.core.clock import SystemClock
from conversations.core.messages import Destination, Outbound
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.fakes.slack import BOT_TOKEN, CHANNEL, WORKSPACE, FakeSlack, add_school

MANIFEST = Path(__file__).resolve().parents[1] / "adapters" / "slack" / "manifest.yml"
SOCKET = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
HTTP = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}


def test_an_app_token_means_socket_mode() -> None:
    config = SlackConfig.from_environ(environ=SOCKET)
    assert config.mode is SlackMode.SOCKET
    assert config.app_token is not None
    assert config.app_token.get_secret_value() == SOCKET["SLACK_APP_TOKEN"]
    assert config.signing_secret is None


def test_a_signing_secret_means_http_mode_on_port_3000() -> None:
    config = SlackConfig.from_environ(environ={**HTTP, "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert config.mode is SlackMode.HTTP
    assert (config.host, config.port) == ("127.0.0.1", 3000)
    assert config.api_url == "http://127.0.0.1:9/api/"


def test_the_workspace_message_rate_can_be_raised() -> None:
    """Slack's one message a second is conservative; some workspaces are granted more."""
    assert SlackConfig.from_environ(environ=HTTP).messages_per_second is None
    raised = {**HTTP, "SLACK_MESSAGES_PER_SECOND": "2.5"}
    assert SlackConfig.from_environ(environ=raised).messages_per_second == 2.5


def test_slack_mode_chooses_when_both_are_set() -> None:
    both = {**SOCKET, **HTTP}
    assert SlackConfig.from_environ(environ=both).mode is SlackMode.SOCKET
    chosen = SlackConfig.from_environ(environ={**both, "SLACK_MODE": "http", "SLACK_PORT": "8080"})
    assert (chosen.mode, chosen.port) == (SlackMode.HTTP, 8080)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN (xapp-..., Socket Mode"),
        ({**SOCKET, "SLACK_APP_TOKEN": "xoxb-wrong"}, "starting with 'xapp-'"),
        ({**HTTP, "SLACK_PORT": "web"}, "SLACK_PORT must be a whole number from 0 to 65535"),
        ({**HTTP, "SLACK_PORT": "70000"}, "SLACK_PORT must be a whole number from 0 to"),
        ({**HTTP, "SLACK_MESSAGES_PER_SECOND": "fast"}, "SLACK_MESSAGES_PER_SECOND must be a"),
        ({**HTTP, "SLACK_MESSAGES_PER_SECOND": "0"}, "above 0 and at most 100"),
        ({**HTTP, "SLACK_MESSAGES_PER_SECOND": "nan"}, "above 0 and at most 100"),
        ({**HTTP, "SLACK_MODE": "socket"}, "SLACK_MODE=socket needs SLACK_APP_TOKEN"),
        ({**HTTP, "SLACK_MODE": "websocket"}, "SLACK_MODE must be"),
    ],
)
def test_an_incomplete_configuration_says_what_is_missing(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SlackConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        SlackConfig.from_environ(environ=environ)


def test_the_bot_token_selects_the_slack_adapter() -> None:
    settings = load_settings(environ={"SLACK_BOT_TOKEN": "xoxb-1"})
    assert settings.platforms == ("slack",)


def test_the_manifest_matches_the_adapter() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND_WORD
    assert command["should_escape"] is True  # mentions arrive as <@U…>, i.e. user ids
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "channels:read",
        "groups:read",
        "users:read",
        "files:write",
        "pins:write",  # the team's agreed plan is pinned
    }
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["message.im"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_a_wrong_app_token_stops_socket_mode_at_start(
    engine: tuple[Engine, RosterRegistry],
) -> None:
    built, rosters = engine
    with FakeSlack() as fake:
        add_school(fake, ["anna"])
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-revoked"}
        runner = SlackRunner(
            engine=built, rosters=rosters, environ={**env, "SLACK_API_URL": fake.api_url}
        )
        with pytest.raises(SlackApiError, match="invalid_auth"):
            runner.run_forever()
        assert [call.method for call in fake.calls] == ["auth.test", "apps.connections.open"]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[Engine, RosterRegistry]]:
    rosters = RosterRegistry()
    store = Store.open(url=f"sqlite:///{tmp_path / 'q.sqlite3'}")
    try:
        yield (
            Engine(
                store=store,
                instruments=load_instruments(),
                roster=rosters,
                clock=SystemClock(),
                output_dir=tmp_path,
            ),
            rosters,
        )
    finally:
        store.close()


@pytest.mark.parametrize("environ", [SOCKET, HTTP], ids=["socket", "http"])
def test_the_runner_registers_the_slack_roster_in_either_mode(
    engine: tuple[Engine, RosterRegistry], environ: dict[str, str]
) -> None:
    built, rosters = engine
    with FakeSlack() as fake:
        ids = add_school(fake, ["anna", "bram"])
        env = {**environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}
        runner = SlackRunner(engine=built, rosters=rosters, environ=env)
        runner.stop()
        expected = SlackMode.SOCKET if "SLACK_APP_TOKEN" in env else SlackMode.HTTP
        assert runner.config.mode is expected
        assert [call.method for call in fake.calls] == ["auth.test"]  # the token was checked
        team = TeamKey(platform="slack", workspace=WORKSPACE, team=CHANNEL)
        assert [member.user for member in rosters.members(team=team)] == ids


def test_the_runner_paces_new_messages_at_the_configured_rate(
    engine: tuple[Engine, RosterRegistry],
) -> None:
    built, rosters = engine
    with FakeSlack() as fake:
        env = {**HTTP, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}
        runner = SlackRunner(
            engine=built, rosters=rosters, environ={**env, "SLACK_MESSAGES_PER_SECOND": "4"}
        )
        announcement = Outbound(destination=Destination.team_channel(team=CHANNEL), text="x")
        delivery = Delivery(
            outbox_id=1, workspace=WORKSPACE, message=announcement, origin={}, attempt=1
        )
        rates = {limit.key: limit.per_second for limit in runner.sender.limits(delivery)}
        assert rates[f"slack:{WORKSPACE}:messages"] == 4.0
