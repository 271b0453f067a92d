"""``TelegramSender``: sends one outbox message with Bot API calls, never waiting.

The dispatcher (``bot/delivery``) claims a queued message and calls :meth:`send`
from one of its worker threads; the Bot API calls run on the bot's own event
loop (where PTB's HTTP client lives) and the worker waits for their outcome.
Team messages go to the group, DMs to the member's private chat (a user's chat
id is their user id), and "only the sender sees it" replies privately to the
sender, else as a reply in the group, since Telegram has no ephemeral messages.

Nothing here sleeps or retries by itself: a 429 is a :class:`Retry` after
Telegram's ``retry_after`` naming the chat's bucket, so only that chat waits; a
chat that refuses the bot for good (403, chat not found) is :class:`Permanent`;
a group that became a supergroup is :class:`Migrated` to its new id. The flood
limits (per chat, per group, overall) are the dispatcher's token buckets, named
by :meth:`limits`.

A pinned team post (the team's agreed plan, ``Outbound.pin``) is pinned with
pinChatMessage once all of it went out, silently: the post itself already
notified the group, and a second notification for the same text is noise. The
pin is an extra, never part of the delivery: without the admin right "pin
messages" Telegram answers 400 "not enough rights", and on that, a 429 or any
other refusal the post counts as sent, is never sent again, and the refusal is
logged without content.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import OrderedDict
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from adapters.telegram.catalogue_markup import Renderer
from adapters.telegram.markup import deep_link, url_button, valid_start_parameter
from adapters.telegram.origin import Origin, chat_id_of
from adapters.telegram.pacing import Pacing
from adapters.telegram.refusals import Refusals
from adapters.telegram.render import Poster, Progress
from adapters.telegram.roster import PLATFORM, TelegramRoster
from adapters.telegram.settings import TelegramLimits
from bot.delivery.api import Delivery, Limit, Migrated, Permanent, Retry, SendResult, Sent
from conversations.core.i18n import Catalogue
from conversations.core.limits import MESSAGE_MAX_CHARS
from conversations.core.messages import DestinationKind, Outbound

_LOG = logging.getLogger(__name__)
SEND_TIMEOUT_S = 90.0  # a result with its chart and details; well inside the outbox lease
TRANSIENT_RETRY_S = 1.0  # the dispatcher's backoff grows it with every attempt
STOPPED_RETRY_S = 1.0  # the bot's loop is gone: the next process sends it
_REMEMBERED = 4096  # messages whose progress or edit target is kept in memory
# Permanent reasons that mean "this person's private chat refuses the bot".
UNREACHABLE = frozenset({"forbidden", "chat_not_found", "unreachable"})


class TelegramSender:
    """The :class:`bot.delivery.api.PlatformSender` of one bot; see the module docstring."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        bot: Bot,
        loop: asyncio.AbstractEventLoop,
        roster: TelegramRoster,
        limits: TelegramLimits,
        renderer: Renderer,
        bot_username: str,
    ) -> None:
        """Send with ``bot`` on ``loop`` (the loop its HTTP client was made on)."""
        self._bot = bot
        self._loop = loop
        self._roster = roster
        self._pacing = Pacing(limits=limits)
        self._poster = Poster(bot=bot, renderer=renderer)
        self._username = bot_username
        self._texts = Catalogue()
        self._refusals = Refusals()
        self._closed = threading.Event()
        # Both touched on the loop only: no lock needed.
        self._progress: OrderedDict[int, Progress] = OrderedDict()
        self._targets: OrderedDict[tuple[int, int, int | None], _Target] = OrderedDict()

    def limits(self, delivery: Delivery) -> list[Limit]:
        """The buckets of this send: overall, its chat and, for a group, the group's."""
        message, origin = delivery.message, Origin.from_mapping(delivery.origin)
        chat = self._target_chat(message, origin)
        return self._pacing.limits(workspace=delivery.workspace, chat=chat)

    def _target_chat(self, message: Outbound, origin: Origin) -> int | None:
        destination = message.destination
        if destination.kind is DestinationKind.TEAM:
            return chat_id_of(destination.team)
        user = destination.user or ""
        private = chat_id_of(user)
        if destination.kind is DestinationKind.DM or (
            private is not None and not self._roster.is_unreachable(user=user)
        ):
            return private
        return self._fallback_group(message, origin)

    # -------------------------------------------------------------------- send

    def send(self, delivery: Delivery) -> SendResult:
        """Send on the bot's loop and wait for the outcome (a dispatcher worker thread)."""
        if self._closed.is_set():
            return Retry(after=STOPPED_RETRY_S, reason="stopping")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("TelegramSender.send blocks; on the bot's loop use send_async")
        try:
            future = asyncio.run_coroutine_threadsafe(self.send_async(delivery), self._loop)
        except RuntimeError:  # the loop closed: the bot is stopping
            return Retry(after=STOPPED_RETRY_S, reason="stopping")
        try:
            return future.result(timeout=SEND_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return Retry(after=TRANSIENT_RETRY_S, reason="timeout")
        except concurrent.futures.CancelledError:
            return Retry(after=STOPPED_RETRY_S, reason="stopping")

    def close(self) -> None:
        """No more sends: the bot's loop is about to end (they are retried later)."""
        self._closed.set()

    async def send_async(self, delivery: Delivery) -> SendResult:
        """Send ``delivery`` (on the bot's loop); the outcome, never a platform error."""
        message, origin = delivery.message, Origin.from_mapping(delivery.origin)
        if self._refusals.is_notice(message, presser=origin.presser):
            return Sent()  # the press's notice showed it already
        kind = message.destination.kind
        progress = self._progress_of(delivery.outbox_id)
        try:
            if kind is DestinationKind.TEAM:
                result = await self._to_group(message, progress=progress)
            elif kind is DestinationKind.DM:
                result = await self._to_member(
                    message, origin=origin, progress=progress, outbox_id=delivery.outbox_id
                )
            else:
                result = await self._to_sender(message, origin=origin, progress=progress)
        except OSError as error:  # reading a rendered file failed: it is made again
            _LOG.warning("reading a file to send failed: %s", type(error).__name__)
            result = Retry(after=TRANSIENT_RETRY_S, reason="file")
        if not isinstance(result, Retry):
            self._progress.pop(delivery.outbox_id, None)
        return result

    # ----------------------------------------------------------- destinations

    async def _to_group(self, message: Outbound, *, progress: Progress) -> SendResult:
        chat = chat_id_of(message.destination.team)
        if chat is None:
            return Permanent(reason="not_a_chat")
        text, markup = message.text, None
        token = message.join_token
        if token is not None and valid_start_parameter(token):
            text = f"{text}\n\n{self._texts.t('telegram.join_hint')}"
            markup = url_button(
                label=self._texts.t("telegram.join_button"),
                url=deep_link(bot_username=self._username, token=token),
            )
        elif token is not None:
            _LOG.error("round join token is no valid deep-link parameter; link left out")
        try:
            await self._poster.post(chat, message, text=text, markup=markup, progress=progress)
        except TelegramError as error:
            return self._failure(error, chat=chat)
        if message.pin:
            await self._pin(chat, progress.head_id)
        return Sent()

    async def _pin(self, chat: int, message_id: int | None) -> None:
        """Pin the post's first message; a refusal is logged and the post stays sent.

        Never returns a Retry: the post already went out, and another attempt would
        send it again from a process that does not know this one's progress.
        """
        if message_id is None:
            _LOG.warning("post in chat %s has no message to pin", chat)
            return
        try:
            await self._bot.pin_chat_message(
                chat_id=chat, message_id=message_id, disable_notification=True
            )
        except TelegramError as error:
            _LOG.warning("post in chat %s sent but not pinned: %s", chat, pin_refusal(error))

    async def _to_member(
        self, message: Outbound, *, origin: Origin, progress: Progress, outbox_id: int
    ) -> SendResult:
        user = message.destination.user or ""
        chat = chat_id_of(user)
        if chat is None:
            return Permanent(reason="not_a_chat")
        # The roster is the database: its calls leave the event loop (the bot's calls run on it).
        if await asyncio.to_thread(self._roster.is_unreachable, user=user):
            return Permanent(reason="unreachable")
        target = self._target(origin, chat)
        try:
            if not await self._edit_in_place(chat, message, target=target, outbox_id=outbox_id):
                await self._poster.post(
                    chat, message, text=message.text, markup=None, progress=progress
                )
                await self._moved_on(chat, target)
        except TelegramError as error:
            result = self._failure(error, chat=chat)
            if isinstance(result, Permanent) and result.reason in UNREACHABLE:
                _LOG.info("user %s cannot be messaged privately", user)
                await asyncio.to_thread(self._roster.blocked, user=user)
            return result
        await asyncio.to_thread(
            self._roster.talked_about, user=user, team=message.destination.team
        )
        return Sent()

    async def _to_sender(
        self, message: Outbound, *, origin: Origin, progress: Progress
    ) -> SendResult:
        """Only the sender may see it: privately, else as a reply to their command."""
        user = message.destination.user or ""
        private = chat_id_of(user)
        reachable = private is not None and not await asyncio.to_thread(
            self._roster.is_unreachable, user=user
        )
        if private is not None and reachable:
            try:
                await self._poster.post(
                    private, message, text=message.text, markup=None, progress=progress
                )
            except TelegramError as error:
                result = self._failure(error, chat=private)
                if not isinstance(result, Permanent) or result.reason not in UNREACHABLE:
                    return result
                await asyncio.to_thread(self._roster.blocked, user=user)
                progress.done, progress.head_id = 0, None
            else:
                return Sent()
        group = self._fallback_group(message, origin)
        if group is None or group == private:
            return Permanent(reason="unreachable")
        text = f"{message.text}\n\n{self._texts.t('telegram.private_fallback')}"
        markup = url_button(
            label=self._texts.t("telegram.open_bot_button"), url=f"https://t.me/{self._username}"
        )
        # Text only: details, charts or an export meant for one person stay out of the group.
        reply = Outbound(destination=message.destination, text=text)
        reply_to = origin.message_id if origin.chat_id == group else None
        try:
            await self._poster.post(
                group, reply, text=text, markup=markup, progress=progress, reply_to=reply_to
            )
        except TelegramError as error:
            return self._failure(error, chat=group)
        return Sent()

    @staticmethod
    def _fallback_group(message: Outbound, origin: Origin) -> int | None:
        """The group a private reply falls back to: the team's, else where the update came."""
        team = chat_id_of(message.destination.team)
        if team is not None and team < 0:
            return team
        return origin.chat_id if origin.chat_id is not None and origin.chat_id < 0 else None

    # ---------------------------------------------------------- edit in place

    def _target(self, origin: Origin, chat: int) -> _Target | None:
        """The pressed private message the reply may replace, if the press was in this chat."""
        if origin.edit_message_id is None or origin.chat_id != chat:
            return None
        key = (chat, origin.edit_message_id, origin.update_id)
        target = self._targets.get(key)
        if target is None:
            target = _Target(message_id=origin.edit_message_id)
            self._targets[key] = target
            while len(self._targets) > _REMEMBERED:
                self._targets.popitem(last=False)
        return target

    async def _edit_in_place(
        self, chat: int, message: Outbound, *, target: _Target | None, outbox_id: int
    ) -> bool:
        """Replace the pressed prompt with the next one: one message per press does so."""
        if (
            target is None
            or target.edited_by not in (None, outbox_id)
            or not message.replace_previous
            or message.image is not None
            or message.file is not None
            or message.details
            or len(message.text) > MESSAGE_MAX_CHARS
        ):
            return False
        target.edited_by = outbox_id
        if await self._poster.edit(chat, target.message_id, message):
            return True
        target.edited_by = None
        return False

    async def _moved_on(self, chat: int, target: _Target | None) -> None:
        """The step went on in a new message: the pressed one's buttons would only be stale."""
        if target is None or target.edited_by is not None or target.dropped:
            return
        target.dropped = True
        try:
            await self._poster.drop_keyboard(chat, target.message_id)
        except TelegramError as error:
            _LOG.info("removing old buttons failed: %s", type(error).__name__)

    # ----------------------------------------------------------------- helpers

    def _progress_of(self, outbox_id: int) -> Progress:
        if outbox_id <= 0:
            return Progress()  # sent unqueued: nobody tries it again
        progress = self._progress.get(outbox_id)
        if progress is None:
            progress = Progress()
            self._progress[outbox_id] = progress
            while len(self._progress) > _REMEMBERED:
                self._progress.popitem(last=False)
        return progress

    def _failure(self, error: TelegramError, *, chat: int) -> SendResult:
        """What a Bot API error means for the message; logged without its text."""
        workspace = self._roster.workspace
        if isinstance(error, RetryAfter):
            key = Pacing.exhausted(workspace=workspace, chat=chat)
            return Retry(after=retry_seconds(error), reason="429", limit_key=key)
        if isinstance(error, ChatMigrated):
            new_chat = str(error.new_chat_id)
            self._roster.migrate(old=str(chat), new=new_chat)
            return Migrated(new_team=new_chat)
        if isinstance(error, Forbidden):
            return Permanent(reason="forbidden")
        if isinstance(error, BadRequest):
            if "chat not found" in error.message.lower():
                return Permanent(reason="chat_not_found")
            _LOG.warning("Bot API refused a message for good: %s", type(error).__name__)
            return Permanent(reason="bad_request")
        # Timeouts and network errors: the dispatcher tries again with backoff.
        _LOG.info("Bot API request failed: %s", type(error).__name__)
        return Retry(after=TRANSIENT_RETRY_S, reason=type(error).__name__)


class _Target:
    """A pressed private message and what replies to the press did with it."""

    __slots__ = ("dropped", "edited_by", "message_id")

    def __init__(self, *, message_id: int) -> None:
        self.message_id = message_id
        self.edited_by: int | None = None  # the outbox message that replaced it
        self.dropped = False


def pin_refusal(error: TelegramError) -> str:
    """A short name for why pinChatMessage failed (the log never quotes Telegram's text)."""
    if isinstance(error, RetryAfter):
        return "429"
    if isinstance(error, Forbidden):
        return "forbidden"
    if isinstance(error, BadRequest):
        description = error.message.lower()
        if "not enough rights" in description:
            return "not_enough_rights (make the bot an admin that may pin messages)"
        if "not found" in description:
            return "not_found"
        return "bad_request"
    return type(error).__name__


def retry_seconds(error: RetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB gives it as a timedelta or as an int."""
    value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
