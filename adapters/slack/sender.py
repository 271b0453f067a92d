"""Sending one outbox message to Slack: Block Kit rendering and the Web API calls.

The dispatcher (``bot/delivery``) claims a message and hands it here. TEAM messages
go to the channel (a team result as a short headline with its details and chart in
the headline's thread), EPHEMERAL ones to one person in the channel (through the
slash command's response URL when the bot is not in the channel), DMs through
conversations.open. A prompt that replaces the previous one updates the message
whose button was pressed, found in the origin stored with the message, so a
member's DM shows one message per sitting instead of 48.

Nothing here sleeps or retries: a 429 is a :class:`Retry` after Slack's
Retry-After naming the bucket it exhausted, a failure that will not go away (the
member left, the bot is not in the channel) is :class:`Permanent`, anything else
a transient :class:`Retry`. A message made of several calls (a result with its
thread and chart) remembers what already went out, so the attempt after a 429
continues where the last one stopped instead of posting the headline twice.

A pinned team post (the team's agreed plan, ``Outbound.pin``) is pinned once all
of it went out, by ``adapters.slack.pins``: the pin never fails the delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.files import remove_delivered
from adapters.slack.config import PLATFORM
from adapters.slack.events import Origin
from adapters.slack.hooks import HookError, ResponseUrls
from adapters.slack.logs import api_error_code
from adapters.slack.outcomes import (
    api_failure,
    conversation_of,
    hook_failure,
    status_of,
    transient,
    unreachable,
)
from adapters.slack.pins import PIN_METHOD, pin_post, wants_pin
from adapters.slack.rates import UPLOAD_METHODS, SlackRates
from adapters.slack.render import (
    Block,
    TypeAnswer,
    chunk_messages,
    fallback,
    first_text,
    prompt_messages,
    section_blocks,
    to_mrkdwn,
)
from bot.delivery.api import Delivery, Limit, Retry, SendResult, Sent
from conversations.core.i18n import Catalogue
from conversations.core.limits import SLACK_SECTION_MAX_CHARS
from conversations.core.messages import DestinationKind, Outbound

logger = logging.getLogger(__name__)

# chat.postEphemeral fails like this when the bot is not in the channel; a slash
# command's response_url still reaches the person then.
EPHEMERAL_FALLBACK_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
MAX_PROGRESS = 1024  # messages part-sent at once; older entries belong to finished rows


@dataclass(slots=True)
class _Progress:
    """What of one message already went out (kept across attempts in this process)."""

    head_ts: str | None = None  # the first top-level message: a thread's parent, the pin
    chart_done: bool = False
    posts_done: int = 0


@dataclass(frozen=True, slots=True)
class _DmPlan:
    """A DM rendered: its messages, fallback text, and the message it may update."""

    messages: list[list[Block]]
    text: str
    update: tuple[str, str] | None


class SlackSender:
    """The :class:`bot.delivery.api.PlatformSender` for Slack; thread-safe, one per process."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        client: WebClient,
        mentions: Callable[[], frozenset[str]],
        texts: Callable[[str, str], Catalogue],
        rates: SlackRates | None = None,
        api_url: str | None = None,
    ) -> None:
        """Wire the sender to its client.

        Args:
            client: The Web API client, its retry handlers off (nothing may sleep).
            mentions: The user ids that may be rendered as mentions.
            texts: The catalogue of (workspace, team) for the adapter's own texts.
            rates: Slack's limits as token buckets (the defaults are Slack's figures).
            api_url: The configured API base URL; response URLs on its host are
                trusted besides Slack's own hooks (the tests' fake).
        """
        self._client = client
        self._mentions = mentions
        self._texts = texts
        self._rates = rates or SlackRates()
        self._hooks = ResponseUrls(api_url=api_url)
        self._lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}
        self._progress: dict[int, _Progress] = {}

    # ------------------------------------------------------------- protocol

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        """The conversation, the workspace's new-message rate, and the tiered methods used."""
        workspace, message = delivery.workspace, delivery.message
        destination = message.destination
        rates = self._rates
        if destination.kind is DestinationKind.EPHEMERAL:
            return [rates.method(workspace=workspace, method="chat.postEphemeral")]
        conversation = rates.conversation(workspace=workspace, key=conversation_of(message))
        if destination.kind is DestinationKind.DM:
            origin = Origin.from_mapping(workspace=workspace, data=delivery.origin)
            if self._plan_dm(message, origin=origin).update is not None:
                return [conversation, rates.method(workspace=workspace, method="chat.update")]
        limits = [conversation, rates.messages(workspace=workspace)]
        if destination.kind is DestinationKind.DM and self._known_dm(delivery) is None:
            limits.append(rates.method(workspace=workspace, method="conversations.open"))
        if _has_file(message):
            limits.extend(rates.method(workspace=workspace, method=m) for m in UPLOAD_METHODS)
        if wants_pin(message):
            limits.append(rates.method(workspace=workspace, method=PIN_METHOD))
        return limits

    def send(self, delivery: Delivery) -> SendResult:
        """Send one message; the outcome, never an exception for a platform error."""
        origin = Origin.from_mapping(workspace=delivery.workspace, data=delivery.origin)
        try:
            ref = self._route(delivery, origin=origin)
        except SlackApiError as error:
            result = api_failure(delivery, error)
        except HookError as error:
            result = hook_failure(delivery, error)
        except (SlackClientError, OSError) as error:  # network, timeouts, an unreadable file
            result = transient(delivery, type(error).__name__)
        else:
            result = Sent(ref=ref)
            if delivery.message.file is not None:
                remove_delivered(delivery.message.file)  # an export: no copy stays on disk
        if not isinstance(result, Retry):
            with self._lock:
                self._progress.pop(delivery.outbox_id, None)
                if unreachable(delivery, result):
                    self._dm_channels.pop(delivery.message.destination.user or "", None)
        return result

    # -------------------------------------------------------------- routing

    def _route(self, delivery: Delivery, *, origin: Origin) -> str | None:
        kind = delivery.message.destination.kind
        if kind is DestinationKind.TEAM:
            return self._to_team(delivery, origin=origin)
        if kind is DestinationKind.EPHEMERAL:
            self._ephemeral(delivery.message, origin=origin)
            return None
        return self._to_dm(delivery, origin=origin)

    def _to_team(self, delivery: Delivery, *, origin: Origin) -> str | None:
        message = delivery.message
        channel = message.destination.team
        progress = self._progress_of(delivery.outbox_id)
        if message.details is not None:
            # A team result names nobody, but quotes what members typed (open answers):
            # no text in it may become a mention, or a typed user id would ping that person.
            if progress.head_ts is None:
                head = section_blocks(message.text)
                progress.head_ts = self._post(channel, text=fallback(message.text), blocks=head)
            ts = progress.head_ts
            if message.image is not None and not progress.chart_done:
                self._chart(channel, message.image, origin=origin, thread_ts=ts)
                progress.chart_done = True
            chunks = chunk_messages(section_blocks(message.details)) if message.details else []
            self._post_all(channel, chunks, progress=progress, thread_ts=ts)
            self._pin_if_asked(delivery, channel=channel, ts=ts)
            return ts
        path = message.image or message.file
        if path is not None:
            self._send_with_file(channel, message, path, origin=origin, progress=progress)
            # Slack cannot pin a file; a long text posted before the file can be.
            self._pin_if_asked(delivery, channel=channel, ts=progress.head_ts)
            return None
        mentions = self._mentions()
        chunks = prompt_messages(message.text, message.buttons, mentions=mentions)
        text = fallback(message.text, mentions=mentions)
        first = self._post_all(channel, chunks, progress=progress, text=text)
        self._pin_if_asked(delivery, channel=channel, ts=progress.head_ts)
        return first

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
            refused = api_error_code(error) in EPHEMERAL_FALLBACK_ERRORS
            if hook is None or not refused or not self._hooks.trusted(hook):
                raise
            self._hooks.send(url=hook, text=text, blocks=blocks)

    def _to_dm(self, delivery: Delivery, *, origin: Origin) -> str | None:
        message = delivery.message
        progress = self._progress_of(delivery.outbox_id)
        path = message.image or message.file
        if path is not None:
            channel = self._dm_channel(delivery, origin=origin)
            self._send_with_file(channel, message, path, origin=origin, progress=progress)
            return None
        plan = self._plan_dm(message, origin=origin)
        if plan.update is not None and progress.posts_done == 0:
            channel, ts = plan.update
            try:
                self._client.chat_update(
                    channel=channel, ts=ts, text=plan.text, blocks=plan.messages[0]
                )
            except SlackApiError as error:
                if status_of(error) == 429 or status_of(error) >= 500:
                    raise
                # Deleted or too old: a new message will do.
                logger.info("chat.update failed (%s); posting instead", api_error_code(error))
            else:
                return ts
        channel = self._dm_channel(delivery, origin=origin)
        return self._post_all(channel, plan.messages, progress=progress, text=plan.text)

    def _plan_dm(self, message: Outbound, *, origin: Origin) -> _DmPlan:
        destination = message.destination
        user = destination.user or ""
        type_answer = None
        if message.free_text:
            label = self._texts(origin.workspace, destination.team).t("slack.type_answer")
            type_answer = TypeAnswer(label=label, team=destination.team)
        mentions = self._mentions()
        messages = prompt_messages(
            message.text, message.buttons, type_answer=type_answer, mentions=mentions
        )
        update = None
        if (
            message.replace_previous
            and not _has_file(message)
            and len(messages) == 1
            and origin.user == user
            and origin.channel
            and origin.message_ts
        ):
            update = (origin.channel, origin.message_ts)
        return _DmPlan(
            messages=messages, text=fallback(message.text, mentions=mentions), update=update
        )

    # ------------------------------------------------------------ API calls

    def _known_dm(self, delivery: Delivery) -> str | None:
        """The member's DM channel when known: from an earlier open, or the event itself."""
        user = delivery.message.destination.user or ""
        with self._lock:
            known = self._dm_channels.get(user)
        if known is not None:
            return known
        origin = Origin.from_mapping(workspace=delivery.workspace, data=delivery.origin)
        if origin.user == user and origin.channel and origin.channel.startswith("D"):
            return origin.channel
        return None

    def _dm_channel(self, delivery: Delivery, *, origin: Origin) -> str:
        known = self._known_dm(delivery)
        if known is not None:
            return known
        user = delivery.message.destination.user or ""
        opened = self._client.conversations_open(users=user)
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            raise SlackApiError("conversations.open returned no channel", opened)
        with self._lock:
            self._dm_channels[user] = channel
        return channel

    def _post_all(
        self,
        channel: str,
        chunks: Sequence[list[Block]],
        *,
        progress: _Progress,
        text: str | None = None,
        thread_ts: str | None = None,
    ) -> str | None:
        """Post each chunk not posted by an earlier attempt; the first one's ts."""
        first: str | None = None
        for index, blocks in enumerate(chunks):
            if index < progress.posts_done:
                continue
            shown = text if text is not None else first_text(blocks)
            ts = self._post(channel, text=shown, blocks=blocks, thread_ts=thread_ts)
            first = first or ts
            if index == 0 and thread_ts is None and progress.head_ts is None:
                progress.head_ts = ts
            progress.posts_done = index + 1
        return first

    def _post(
        self, channel: str, *, text: str, blocks: list[Block], thread_ts: str | None = None
    ) -> str:
        response = self._client.chat_postMessage(
            channel=channel, text=text, blocks=blocks or None, thread_ts=thread_ts
        )
        return str(response.get("ts") or "")

    def _pin_if_asked(self, delivery: Delivery, *, channel: str, ts: str | None) -> None:
        """Pin a post to pin once all of it went out; never fails the delivery (pins.py)."""
        if wants_pin(delivery.message):
            pin_post(client=self._client, outbox_id=delivery.outbox_id, channel=channel, ts=ts)

    def _chart(self, channel: str, path: Path, *, origin: Origin, thread_ts: str) -> None:
        """The result's chart in its thread; a refusal is logged, the text still goes out."""
        try:
            self._upload(channel, path, origin=origin, team=channel, thread_ts=thread_ts)
        except SlackApiError as error:
            if status_of(error) == 429 or status_of(error) >= 500:
                raise
            logger.warning("chart upload to %s failed: %s", channel, api_error_code(error))

    def _send_with_file(
        self, channel: str, message: Outbound, path: Path, *, origin: Origin, progress: _Progress
    ) -> None:
        """A file with its text as the upload's comment (or a message first, if long)."""
        mentions = self._mentions()
        comment: str | None = to_mrkdwn(message.text, mentions=mentions)
        if comment is not None and len(comment) > SLACK_SECTION_MAX_CHARS:
            chunks = prompt_messages(message.text, (), mentions=mentions)
            self._post_all(channel, chunks, progress=progress)
            comment = None
        team = message.destination.team
        self._upload(channel, path, origin=origin, team=team, comment=comment or None)

    def _upload(
        self,
        channel: str,
        path: Path,
        *,
        origin: Origin,
        team: str,
        thread_ts: str | None = None,
        comment: str | None = None,
    ) -> None:
        """files_upload_v2: getUploadURLExternal, POST the bytes, completeUploadExternal."""
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

    def _progress_of(self, outbox_id: int) -> _Progress:
        with self._lock:
            progress = self._progress.setdefault(outbox_id, _Progress())
            while len(self._progress) > MAX_PROGRESS:  # rows another process finished
                del self._progress[next(iter(self._progress))]
            return progress


# ------------------------------------------------------------------ helpers


def _has_file(message: Outbound) -> bool:
    return message.image is not None or message.file is not None or message.attachment is not None
