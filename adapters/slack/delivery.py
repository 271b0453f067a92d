"""Delivering the engine's messages with the Web API.

TEAM messages go to the channel (a team result as a short headline with its
details and chart in the headline's thread), EPHEMERAL ones to one person in the
channel, DMs through conversations.open. A prompt that replaces the previous one
updates the message whose button was pressed, so a member's DM shows one
message per sitting instead of 48. A DM that fails for good (the member left,
was deactivated, cannot be messaged) is reported to the engine once and never
retried; every other failure is logged and dropped, so nothing loops forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from adapters.files import remove_delivered
from adapters.slack.config import PLATFORM
from adapters.slack.events import Origin
from adapters.slack.logs import api_error_code
from adapters.slack.pacing import Pacer
from adapters.slack.render import (
    Block,
    TypeAnswer,
    chunk_messages,
    fallback,
    prompt_messages,
    section_blocks,
    to_mrkdwn,
)
from bot.core.engine import Engine
from conversations.core.i18n import Catalogue
from conversations.core.limits import SLACK_SECTION_MAX_CHARS
from conversations.core.messages import Destination, DestinationKind, Outbound
from storage.keys import TeamKey

logger = logging.getLogger(__name__)

# A DM that fails with one of these will not succeed by trying again.
UNREACHABLE_ERRORS = frozenset(
    {
        "cannot_dm_bot",
        "user_not_found",
        "user_not_visible",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
    }
)
# chat.postEphemeral fails like this when the bot is not in the channel; a slash
# command's response_url still reaches the person then.
EPHEMERAL_FALLBACK_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
SLACK_HOOKS = "https://hooks.slack.com/"


class Delivery:
    """Renders and sends outbound messages; thread-safe (one per runner)."""

    def __init__(
        self,
        *,
        client: WebClient,
        engine: Engine,
        pacer: Pacer,
        mentions: Callable[[], frozenset[str]],
        texts: Callable[[str, str], Catalogue],
        api_url: str | None = None,
    ) -> None:
        """Wire the delivery to its client and engine.

        Args:
            client: The Web API client.
            engine: Told about members who cannot be reached.
            pacer: Paces new messages (chat.postMessage and uploads).
            mentions: The user ids that may be rendered as mentions.
            texts: The catalogue of (workspace, team) for the adapter's own texts.
            api_url: The configured API base URL; response URLs on its host are
                trusted besides Slack's own hooks (the tests' fake).
        """
        self._client = client
        self._engine = engine
        self._pacer = pacer
        self._mentions = mentions
        self._texts = texts
        self._hook_prefixes = (SLACK_HOOKS, *_origin_prefix(api_url))
        self._lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}

    def deliver(self, messages: Sequence[Outbound], *, origin: Origin) -> None:
        """Send ``messages`` in order; at most one of them updates the origin's message."""
        self._deliver(messages, origin=origin, report=True)

    # ---------------------------------------------------------------- routing

    def _deliver(self, messages: Sequence[Outbound], *, origin: Origin, report: bool) -> None:
        may_update = origin.message_ts is not None
        for message in messages:
            destination = message.destination
            try:
                if destination.kind is DestinationKind.TEAM:
                    self._to_team(message, origin=origin)
                elif destination.kind is DestinationKind.EPHEMERAL:
                    self._ephemeral(message, origin=origin)
                elif self._to_dm(message, origin=origin, may_update=may_update):
                    may_update = False
            except SlackApiError as error:
                code = api_error_code(error)
                if destination.kind is DestinationKind.DM and code in UNREACHABLE_ERRORS:
                    self._unreachable(destination, origin=origin, code=code, report=report)
                else:
                    _log_failed(destination, code)
            except (SlackClientError, OSError) as error:
                _log_failed(destination, type(error).__name__)

    def _unreachable(
        self, destination: Destination, *, origin: Origin, code: str, report: bool
    ) -> None:
        """Tell the engine once; it answers with a note for the round's opener."""
        user = destination.user or ""
        logger.warning("DM to %s failed for good (%s); not retried", user, code)
        with self._lock:
            self._dm_channels.pop(user, None)
        if not report or not destination.team:
            return
        team = TeamKey(platform=PLATFORM, workspace=origin.workspace, team=destination.team)
        notes = self._engine.report_unreachable(team=team, user=user)
        # A note that fails too is only logged: reporting never recurses.
        self._deliver(notes, origin=Origin(workspace=origin.workspace, user=""), report=False)

    # ----------------------------------------------------------- destinations

    def _to_team(self, message: Outbound, *, origin: Origin) -> None:
        channel = message.destination.team
        if message.details is not None:
            # A team result names nobody, but quotes what members typed (open answers):
            # no text in it may become a mention, or a typed user id would ping that person.
            head = section_blocks(message.text)
            ts = self._post(channel, text=fallback(message.text), blocks=head)
            if message.image is not None:
                try:
                    self._upload(channel, message.image, team=channel, origin=origin, thread_ts=ts)
                except (SlackClientError, OSError) as error:  # the text still goes out
                    logger.warning("chart upload to %s failed: %s", channel, api_error_code(error))
            if message.details:
                for blocks in chunk_messages(section_blocks(message.details)):
                    self._post(channel, text=_first_text(blocks), blocks=blocks, thread_ts=ts)
            return
        attachment = message.image or message.file
        if attachment is not None:
            self._send_with_file(channel, message, attachment, team=channel, origin=origin)
            if attachment == message.file:
                remove_delivered(attachment)
            return
        mentions = self._mentions()
        for blocks in prompt_messages(message.text, message.buttons, mentions=mentions):
            self._post(channel, text=fallback(message.text, mentions=mentions), blocks=blocks)

    def _ephemeral(self, message: Outbound, *, origin: Origin) -> None:
        destination = message.destination
        mentions = self._mentions()
        text = fallback(message.text, mentions=mentions)
        blocks = section_blocks(message.text, mentions=mentions)
        try:
            self._client.chat_postEphemeral(
                channel=destination.team, user=destination.user or "", text=text, blocks=blocks
            )
        except SlackApiError as error:
            hook = origin.response_url
            if api_error_code(error) not in EPHEMERAL_FALLBACK_ERRORS or not self._trusted(hook):
                raise
            WebhookClient(url=hook or "").send(text=text, blocks=blocks, response_type="ephemeral")

    def _to_dm(self, message: Outbound, *, origin: Origin, may_update: bool) -> bool:
        """Send a DM; True when it updated the origin's message in place."""
        destination = message.destination
        user = destination.user or ""
        attachment = message.image or message.file
        if attachment is not None:
            channel = self._dm_channel(user)
            self._send_with_file(
                channel, message, attachment, team=destination.team, origin=origin
            )
            if attachment == message.file:
                remove_delivered(attachment)  # an export: nobody needs the copy on disk now
            return False
        type_answer = None
        if message.free_text:
            label = self._texts(origin.workspace, destination.team).t("slack.type_answer")
            type_answer = TypeAnswer(label=label, team=destination.team)
        mentions = self._mentions()
        messages = prompt_messages(
            message.text, message.buttons, type_answer=type_answer, mentions=mentions
        )
        text = fallback(message.text, mentions=mentions)
        if (
            may_update
            and message.replace_previous
            and len(messages) == 1
            and origin.user == user
            and origin.channel
            and origin.message_ts
        ):
            try:
                self._client.chat_update(
                    channel=origin.channel, ts=origin.message_ts, text=text, blocks=messages[0]
                )
            except SlackApiError as error:  # deleted or too old: a new message will do
                logger.info("chat.update failed (%s); posting instead", api_error_code(error))
            else:
                return True
        channel = self._dm_channel(user)
        for blocks in messages:
            self._post(channel, text=text, blocks=blocks)
        return False

    # -------------------------------------------------------------- API calls

    def _dm_channel(self, user: str) -> str:
        with self._lock:
            known = self._dm_channels.get(user)
        if known is not None:
            return known
        opened = self._client.conversations_open(users=user)
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            raise SlackApiError("conversations.open returned no channel", opened)
        with self._lock:
            self._dm_channels[user] = channel
        return channel

    def _post(
        self, channel: str, *, text: str, blocks: list[Block], thread_ts: str | None = None
    ) -> str:
        self._pacer.wait(channel=channel)
        response = self._client.chat_postMessage(
            channel=channel, text=text, blocks=blocks or None, thread_ts=thread_ts
        )
        return str(response.get("ts") or "")

    def _send_with_file(
        self, channel: str, message: Outbound, path: Path, *, team: str, origin: Origin
    ) -> None:
        """A file with its text as the upload's comment (or a message first, if long)."""
        comment = to_mrkdwn(message.text, mentions=self._mentions())
        if len(comment) > SLACK_SECTION_MAX_CHARS:
            for blocks in prompt_messages(message.text, (), mentions=self._mentions()):
                self._post(channel, text=_first_text(blocks), blocks=blocks)
            comment = ""
        self._upload(channel, path, team=team, origin=origin, comment=comment or None)

    def _upload(
        self,
        channel: str,
        path: Path,
        *,
        team: str,
        origin: Origin,
        thread_ts: str | None = None,
        comment: str | None = None,
    ) -> None:
        """files_upload_v2: getUploadURLExternal, POST the bytes, completeUploadExternal."""
        self._pacer.wait(channel=channel)
        alt = None
        if path.suffix.lower() == ".png":
            alt = self._texts(origin.workspace, team).t("slack.chart_alt")
        self._client.files_upload_v2(
            channel=channel,
            file=str(path),
            filename=path.name,
            title=path.name,
            alt_txt=alt,
            initial_comment=comment,
            thread_ts=thread_ts,
        )

    def _trusted(self, url: str | None) -> bool:
        return url is not None and url.startswith(self._hook_prefixes)


def _first_text(blocks: list[Block]) -> str:
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            return str(text["text"])
    return ""


def _origin_prefix(url: str | None) -> tuple[str, ...]:
    """``scheme://host:port/`` of a configured base URL."""
    if not url:
        return ()
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}/",)


def _log_failed(destination: Destination, code: str) -> None:
    logger.warning(
        "delivery to %s %s/%s failed: %s",
        destination.kind.value,
        destination.team or "-",
        destination.user or "-",
        code,
    )
