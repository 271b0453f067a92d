"""The Slack adapter's parts, built the same way whichever transport brings the events.

Socket Mode and the small HTTP server (:mod:`adapters.slack.runner`) and the
ASGI endpoint of ``quickscan serve`` (:mod:`adapters.slack.asgi`) differ only in
how a request reaches Bolt. What stands behind it is one thing, built here
once: the Web API client, the roster registered with the engine, the sender and
its delivery dispatcher, and the Bolt app with the listeners. A change to any of
them (a new listener, a rate setting) thus reaches every transport at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from adapters.environment import revealed
from adapters.slack.app import Listeners
from adapters.slack.client import make_web_client
from adapters.slack.config import PLATFORM, SlackConfig, SlackMode
from adapters.slack.rates import SlackRates
from adapters.slack.roster import Directory, SlackRoster
from adapters.slack.sender import SlackSender
from adapters.slack.texts import team_texts
from bot.core.engine import Engine
from bot.core.logging_setup import cap_library_loggers
from bot.core.ports import RosterRegistry
from bot.delivery.dispatcher import Dispatcher
from conversations.core.i18n import Catalogue

DELIVERY_WORKERS = 8
SHUTDOWN_GRACE_S = 15.0  # the sends in flight get this long to finish on stop


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackParts:
    """Everything a Slack transport hands requests to, and the dispatcher it runs.

    Attributes:
        client: The Web API client (one per process).
        sender: Sends the outbox's Slack rows.
        dispatcher: Runs ``sender`` over the outbox; the transport starts and stops it.
        app: The Bolt app; a request becomes an acknowledgement through ``app.dispatch``.
        listeners: The app's listeners; closing them stops intake.
    """

    client: WebClient
    sender: SlackSender
    dispatcher: Dispatcher
    app: App
    listeners: Listeners


def assemble(
    *,
    engine: Engine,
    rosters: RosterRegistry,
    config: SlackConfig,
    rates: SlackRates | None = None,
    workers: int = DELIVERY_WORKERS,
) -> SlackParts:
    """Build the parts and register the Slack roster; nothing listens or sends yet.

    Bolt checks the bot token (auth.test) while the app is built, so a wrong
    token fails here, at start, not at the first event.

    Args:
        engine: The shared engine.
        rosters: Where the Slack roster is registered.
        config: The Slack configuration.
        rates: Slack's limits as token buckets (tests raise them); by default
            Slack's figures, with ``SLACK_MESSAGES_PER_SECOND`` if set.
        workers: Sends at once (the dispatcher's threads).
    """
    cap_library_loggers("slack_sdk", "slack_bolt", "urllib3", "websocket")
    client = make_web_client(config=config)
    directory = Directory(client=client)
    rosters.register(platform=PLATFORM, roster=SlackRoster(client=client, directory=directory))

    def texts(workspace: str, team: str) -> Catalogue:
        return team_texts(engine=engine, workspace=workspace, team=team)

    if rates is None and config.messages_per_second is not None:
        rates = SlackRates(workspace_messages=config.messages_per_second)
    sender = SlackSender(
        client=client,
        mentions=directory.known,
        texts=texts,
        rates=rates,
        api_url=config.api_url,
    )
    dispatcher = engine.dispatcher(sender=sender, workers=workers)
    http = config.mode is SlackMode.HTTP
    app = App(
        client=client,
        signing_secret=revealed(config.signing_secret),
        # Every transport: the listener handles the event (committing it and its
        # replies) before Bolt answers Slack; that answer is the acknowledgement.
        process_before_response=True,
        request_verification_enabled=http,
        logger=logging.getLogger("slack_bolt.App"),
    )
    listeners = Listeners(engine=engine, client=client, directory=directory)
    listeners.register(app)
    return SlackParts(
        client=client, sender=sender, dispatcher=dispatcher, app=app, listeners=listeners
    )
