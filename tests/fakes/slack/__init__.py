"""A fake Slack for the Slack adapter's tests: its Web API, and Slack's signed requests.

- :mod:`.server`: :class:`FakeSlack`, the Web API on 127.0.0.1 (methods in
  :mod:`.methods`, records and Block Kit checks in :mod:`.records`);
- :mod:`.team`: :class:`SlackTeam`, Slack's other side (signed commands, clicks,
  modal submissions, events; HTTP or Socket Mode);
- :mod:`.world`: :func:`slack_world`, the fake plus an engine and the real adapter.

The real slack_sdk talks to the fake through ``SLACK_API_URL``; nothing is
monkeypatched and nothing leaves 127.0.0.1.
"""

from tests.fakes.slack.records import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    SIGNING_SECRET,
    WAIT_S,
    WORKSPACE,
    Call,
    Message,
    Upload,
)
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.team import Reply, SlackTeam, sign
from tests.fakes.slack.world import (
    RunningClock,
    SlackWorld,
    add_school,
    slack_world,
    wait_delivered,
    wait_until,
)

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "BOT_USER",
    "CHANNEL",
    "SIGNING_SECRET",
    "WAIT_S",
    "WORKSPACE",
    "Call",
    "FakeSlack",
    "Message",
    "Reply",
    "RunningClock",
    "SlackTeam",
    "SlackWorld",
    "Upload",
    "add_school",
    "sign",
    "slack_world",
    "wait_delivered",
    "wait_until",
]
