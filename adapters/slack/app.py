"""Bolt listeners: translate, have the engine handle the event, THEN acknowledge.

"Handled before acknowledged": ``Engine.handle`` commits the event's changes and
queues every reply in the outbox in one transaction, and only then is Slack told
the event arrived. A crash in between leaves the event unacknowledged, so Slack
delivers it again (its delivery id makes the second delivery a no-op if the first
was committed after all). The replies go out later through the delivery
dispatcher, never from a listener, so no listener waits for a rate limit.

The reply context (channel, message ts, response URL) travels with the event as
``Inbound.origin`` and is stored with each reply, so the dispatcher can update the
pressed message in place or answer through the response URL, in any process.
Only opening the answer modal happens inline, because its trigger_id expires in
three seconds.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

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
from adapters.slack.roster import Directory
from adapters.slack.texts import team_texts
from bot.commands.parse import COMMAND_WORD
from bot.core.engine import Engine
from conversations.core.messages import Inbound

logger = logging.getLogger(__name__)

Body = dict[str, Any]


class Listeners:
    """The Slack side of the adapter: one listener per kind of interaction."""

    def __init__(self, *, engine: Engine, client: WebClient, directory: Directory) -> None:
        self._engine = engine
        self._client = client
        self._directory = directory
        self._open = True

    def register(self, app: App) -> None:
        """Attach the listeners (and the content-free error handler) to a Bolt app."""
        app.command(COMMAND_WORD)(self.on_command)
        app.action(ENGINE_BUTTON_ACTION)(self.on_button)
        app.action(TYPE_ANSWER_ACTION)(self.on_type_answer)
        app.view(OPEN_ANSWER_CALLBACK)(self.on_open_answer)
        app.event("message")(self.on_message)
        app.error(on_error)

    def close(self) -> None:
        """Stop intake: from now on nothing is handled or acknowledged (Slack redelivers)."""
        self._open = False

    # -------------------------------------------------------------- listeners

    def on_command(self, ack: Ack, body: Body) -> None:
        """``/quickscan <sub>`` in a channel; replies are ephemeral or via the response URL."""
        self._accepting()
        for user in mentioned_users(text_of(body, "text")):
            self._directory.learn(user)
        user = text_of(body, "user_id")
        name = self._directory.name(user, fallback=text_of(body, "user_name"))
        event = command_event(body, name=name)
        try:
            self._handle(event, origin=command_origin(body))
        except Exception as error:  # broad on purpose: the person still hears something
            log_failure(logger, "command", error, team=event.team, user=user)
            texts = team_texts(engine=self._engine, workspace=event.workspace, team=event.team)
            ack(text=texts.t("slack.failed"))  # Slack shows an ack's text only to them
            return
        ack()

    def on_button(self, ack: Ack, body: Body, action: Body) -> None:
        """A click on one of the engine's buttons (answers, navigation)."""
        self._accepting()
        user = text_of(body, "user", "id")
        name = self._directory.name(user, fallback=text_of(body, "user", "name"))
        event = button_event(body, value=text_of(action, "value"), name=name)
        self._handle(event, origin=button_origin(body))
        ack()

    def on_type_answer(self, ack: Ack, body: Body, action: Body) -> None:
        """Open the answer modal ("Typ je antwoord") now, while the trigger_id is valid.

        Nothing is stored, so there is nothing to handle before the ack.
        """
        self._accepting()
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
        self._accepting()
        values = view.get("state", {}).get("values", {})
        text = text_of(values, ANSWER_BLOCK_ID, ANSWER_ACTION_ID, "value")
        context = ModalContext.decode(text_of(view, "private_metadata"))
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
        ack()

    def on_message(self, ack: Ack, body: Body, event: Body) -> None:
        """A message typed in the bot's DM (Events API ``message.im``)."""
        self._accepting()
        if is_member_dm(event):
            user = text_of(event, "user")
            inbound = message_event(body, name=self._directory.name(user))
            if inbound is not None:
                channel = text_of(event, "channel") or None
                origin = Origin(workspace=inbound.workspace, user=user, channel=channel)
                self._handle(inbound, origin=origin)
        ack()

    # ---------------------------------------------------------------- helpers

    def _handle(self, event: Inbound, *, origin: Origin) -> None:
        """Handle and queue the replies (committed when this returns); nothing is sent here."""
        self._engine.handle(replace(event, origin=origin.as_mapping()))

    def _accepting(self) -> None:
        if not self._open:
            raise IntakeClosedError


class IntakeClosedError(RuntimeError):
    """The adapter is stopping: the event is left unacknowledged for Slack to redeliver."""

    def __init__(self) -> None:
        super().__init__("the Slack adapter is stopping")


def on_error(error: Exception) -> None:
    """Bolt's error handler: log without content and leave the event unacknowledged.

    The response stays a 500, so Slack redelivers an event and shows the person
    that a click did not go through; Bolt's own handler would log the exception's
    text, which can quote a statement's parameters.
    """
    if isinstance(error, IntakeClosedError):
        logger.info("a Slack event arrived while stopping; left for redelivery")
        return
    log_failure(logger, "Slack event", error)
