"""Bolt listeners: acknowledge at once, translate, and hand the work to the worker.

Slack gives a slash command or click three seconds for its acknowledgement.
Every listener acks first and queues the real work (the engine, the Web API
calls) on the worker, keyed so one member's events run in order. Only opening
the answer modal happens inline, because its trigger_id expires in three seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from adapters.slack.delivery import Delivery
from adapters.slack.events import (
    Origin,
    answer_event,
    button_event,
    button_origin,
    command_event,
    command_origin,
    is_member_dm,
    mentioned_users,
    message_event,
    text_of,
    workspace_of,
)
from adapters.slack.logs import api_error_code, log_failure
from adapters.slack.render import (
    ANSWER_ACTION_ID,
    ANSWER_BLOCK_ID,
    ENGINE_BUTTON_ACTION,
    OPEN_ANSWER_CALLBACK,
    TYPE_ANSWER_ACTION,
    ModalContext,
    open_answer_view,
)
from adapters.slack.roster import Directory, RosterUnavailableError
from adapters.slack.texts import team_texts
from adapters.slack.worker import Worker
from bot.commands.parse import COMMAND_WORD
from bot.core.engine import Engine
from conversations.core.messages import Destination, DestinationKind, Inbound, Outbound

logger = logging.getLogger(__name__)

Body = dict[str, Any]


class Listeners:
    """The Slack side of the adapter: one listener per kind of interaction."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: WebClient,
        delivery: Delivery,
        directory: Directory,
        worker: Worker,
    ) -> None:
        self._engine = engine
        self._client = client
        self._delivery = delivery
        self._directory = directory
        self._worker = worker

    def register(self, app: App) -> None:
        """Attach the listeners to a Bolt app."""
        app.command(COMMAND_WORD)(self.on_command)
        app.action(ENGINE_BUTTON_ACTION)(self.on_button)
        app.action(TYPE_ANSWER_ACTION)(self.on_type_answer)
        app.view(OPEN_ANSWER_CALLBACK)(self.on_open_answer)
        app.event("message")(self.on_message)

    # -------------------------------------------------------------- listeners

    def on_command(self, ack: Ack, body: Body) -> None:
        """``/quickscan <sub>`` in a channel."""
        ack()
        channel = text_of(body, "channel_id")
        key = f"channel:{text_of(body, 'team_id')}:{channel}"
        self._worker.submit(key=key, job=partial(self._command, body))

    def on_button(self, ack: Ack, body: Body, action: Body) -> None:
        """A click on one of the engine's buttons (answers, navigation)."""
        ack()
        value = text_of(action, "value")
        self._worker.submit(key=_user_key(body), job=partial(self._button, body, value))

    def on_type_answer(self, ack: Ack, body: Body, action: Body) -> None:
        """Open the answer modal ("Typ je antwoord") now, while the trigger_id is valid."""
        ack()
        value = text_of(action, "value")
        team = "" if value == "-" else value
        context = ModalContext(
            team=team,
            channel=text_of(body, "container", "channel_id"),
            message_ts=text_of(body, "container", "message_ts"),
        )
        texts = team_texts(engine=self._engine, workspace=workspace_of(body), team=team)
        question = text_of(body, "message", "text") or None
        view = open_answer_view(texts=texts, context=context, question=question)
        try:
            self._client.views_open(trigger_id=text_of(body, "trigger_id"), view=view)
        except (SlackClientError, OSError) as error:
            logger.warning("views.open failed: %s", api_error_code(error))

    def on_open_answer(self, ack: Ack, body: Body, view: Body) -> None:
        """The modal was submitted: the typed text is the open answer."""
        ack()
        values = view.get("state", {}).get("values", {})
        text = text_of(values, ANSWER_BLOCK_ID, ANSWER_ACTION_ID, "value")
        context = ModalContext.decode(text_of(view, "private_metadata"))
        self._worker.submit(key=_user_key(body), job=partial(self._answer, body, text, context))

    def on_message(self, body: Body, event: Body) -> None:
        """A message typed in the bot's DM (Events API ``message.im``); Bolt acks events."""
        if not is_member_dm(event):
            return
        key = f"user:{text_of(body, 'team_id')}:{text_of(event, 'user')}"
        self._worker.submit(key=key, job=partial(self._message, body))

    # ------------------------------------------------------------------- jobs

    def _command(self, body: Body) -> None:
        for user in mentioned_users(text_of(body, "text")):
            self._directory.learn(user)
        user = text_of(body, "user_id")
        name = self._directory.name(user, fallback=text_of(body, "user_name"))
        event = command_event(body, name=name)
        origin = command_origin(body)
        try:
            messages = self._engine.handle(event)
        except RosterUnavailableError as error:
            logger.warning("roster of %s unavailable: %s", error.channel, error.code)
            messages = [self._notice(event, "slack.roster_failed")]
        except Exception as error:  # broad on purpose: the person still hears something went wrong
            log_failure(logger, "command", error, team=event.team, user=user)
            messages = [self._notice(event, "slack.failed")]
        direct, fan_out = split_fan_out(messages)
        self._delivery.deliver(direct, origin=origin)
        if fan_out:
            key = f"fan-out:{event.workspace}:{event.team}"
            self._worker.submit(
                key=key, job=partial(self._delivery.deliver, fan_out, origin=origin)
            )

    def _button(self, body: Body, value: str) -> None:
        user = text_of(body, "user", "id")
        name = self._directory.name(user, fallback=text_of(body, "user", "name"))
        self._handle(button_event(body, value=value, name=name), origin=button_origin(body))

    def _answer(self, body: Body, text: str, context: ModalContext) -> None:
        user = text_of(body, "user", "id")
        name = self._directory.name(user, fallback=text_of(body, "user", "name"))
        event = answer_event(body, team=context.team, text=text, name=name)
        origin = Origin(
            workspace=event.workspace,
            user=user,
            channel=context.channel or None,
            message_ts=context.message_ts or None,
        )
        self._handle(event, origin=origin)

    def _message(self, body: Body) -> None:
        user = text_of(body, "event", "user")
        event = message_event(body, name=self._directory.name(user))
        if event is None:
            return
        channel = text_of(body, "event", "channel") or None
        self._handle(event, origin=Origin(workspace=event.workspace, user=user, channel=channel))

    def _handle(self, event: Inbound, *, origin: Origin) -> None:
        try:
            messages = self._engine.handle(event)
        except Exception as error:  # broad on purpose: the member still hears something went wrong
            log_failure(logger, "DM event", error, user=event.sender.user)
            messages = [self._notice(event, "slack.failed")]
        self._delivery.deliver(messages, origin=origin)

    def _notice(self, event: Inbound, key: str) -> Outbound:
        """An adapter text for the person who acted (in the channel, or their DM)."""
        texts = team_texts(engine=self._engine, workspace=event.workspace, team=event.team)
        user = event.sender.user
        if event.team and not event.team.startswith("D"):
            destination = Destination.ephemeral(team=event.team, user=user)
        else:
            destination = Destination.dm(team=event.team, user=user)
        return Outbound(destination=destination, text=texts.t(key))


def split_fan_out(messages: Sequence[Outbound]) -> tuple[list[Outbound], list[Outbound]]:
    """Split off a fan-out: DMs to several members (a round's invitations).

    The fan-out is paced and may take a while, so it runs as its own job and the
    channel's next command is not held up behind it.
    """
    dms = [m for m in messages if m.destination.kind is DestinationKind.DM]
    if len({m.destination.user for m in dms}) < 2:
        return list(messages), []
    return [m for m in messages if m.destination.kind is not DestinationKind.DM], dms


def _user_key(body: Mapping[str, Any]) -> str:
    return f"user:{workspace_of(body)}:{text_of(body, 'user', 'id')}"
