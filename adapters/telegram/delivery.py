"""Delivers the engine's Outbound messages with Bot API calls.

Team messages go to the group, DMs to the member's private chat (a user's chat id
is their user id), and "only the sender sees it" replies privately to the sender,
since Telegram has no ephemeral messages. A private message that fails for good
(the user blocked the bot or never started it) is reported to the engine once and
never retried; one failed message never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from adapters.files import remove_delivered
from adapters.telegram.catalogue_markup import Renderer
from adapters.telegram.markup import (
    deep_link,
    keyboard,
    url_button,
    valid_start_parameter,
)
from adapters.telegram.roster import PLATFORM, TelegramRoster
from bot.core.engine import Engine
from bot.core.logging_setup import log_failure
from conversations.core.i18n import Catalogue
from conversations.core.limits import MESSAGE_MAX_CHARS, TELEGRAM_CAPTION_MAX_CHARS, split_text
from conversations.core.messages import DestinationKind, Outbound
from storage.keys import TeamKey

_LOG = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_MAX_REPORT_DEPTH = 2  # a report about an unreachable member may itself be undeliverable
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """The update being answered, so replies can edit or reply in the right place.

    Attributes:
        chat_id: The chat the update came from (a group or a private chat).
        message_id: The message to reply to when a private reply must fall back
            to the group (the command message).
        edit_message_id: The private message whose button was pressed: the next
            prompt replaces it in place.
    """

    chat_id: int | None = None
    message_id: int | None = None
    edit_message_id: int | None = None


class _Unreachable(Exception):
    """Telegram refused a chat for good: 403, or the user's chat does not exist."""


@dataclass(slots=True)
class _Batch:
    """What one batch of replies has done so far."""

    edit_message_id: int | None
    edited: bool = False


class Delivery:
    """Renders Outbound messages for one bot."""

    def __init__(
        self,
        *,
        bot: Bot,
        engine: Engine,
        roster: TelegramRoster,
        bot_username: str,
        renderer: Renderer | None = None,
    ) -> None:
        """Wire the delivery; ``renderer`` knows the instruments' texts (see catalogue_markup)."""
        self._render_text = renderer or Renderer()
        self._bot = bot
        self._engine = engine
        self._roster = roster
        self._username = bot_username
        self._texts = Catalogue()

    async def deliver(self, messages: Sequence[Outbound], *, origin: Origin) -> bool:
        """Send ``messages`` in order; True when the pressed message was edited in place."""
        batch = _Batch(edit_message_id=origin.edit_message_id)
        await self._deliver(messages, origin=origin, batch=batch, depth=0)
        return batch.edited

    async def _deliver(
        self, messages: Sequence[Outbound], *, origin: Origin, batch: _Batch, depth: int
    ) -> None:
        for message in messages:
            kind = message.destination.kind
            try:
                if kind is DestinationKind.TEAM:
                    await self._to_group(message)
                elif kind is DestinationKind.DM:
                    await self._to_member(message, origin=origin, batch=batch, depth=depth)
                else:
                    await self._to_sender(message, origin=origin)
            except (TelegramError, OSError, ValueError) as error:
                # Logged with the type and frames only; the next message still goes out.
                log_failure(_LOG, f"delivering a {kind.value} message", error)

    # ----------------------------------------------------------- destinations

    async def _to_group(self, message: Outbound) -> None:
        chat_id = chat_id_of(message.destination.team)
        if chat_id is None:
            _LOG.warning("team message for a non-numeric chat id dropped")
            return
        text, markup = message.text, keyboard(message.buttons, columns=message.columns)
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
            await self._render(chat_id, message, text=text, markup=markup)
        except _Unreachable:
            _LOG.warning("group %s refused the bot (removed or restricted)", chat_id)

    async def _to_member(
        self, message: Outbound, *, origin: Origin, batch: _Batch, depth: int
    ) -> None:
        user = message.destination.user or ""
        chat_id = chat_id_of(user)
        if chat_id is None:
            _LOG.warning("private message for a non-numeric user id dropped")
            return
        if self._roster.is_unreachable(user=user):
            await self._report_unreachable(message, batch=batch, depth=depth)
            return
        try:
            if not await self._edit_in_place(chat_id, message, origin=origin, batch=batch):
                await self._render(chat_id, message, text=message.text, markup=None)
        except _Unreachable:
            _LOG.info("user %s cannot be messaged privately", user)
            self._roster.blocked(user=user)
            await self._report_unreachable(message, batch=batch, depth=depth)
            return
        self._roster.talked_about(user=user, team=message.destination.team)

    async def _to_sender(self, message: Outbound, *, origin: Origin) -> None:
        """Only the sender may see it: privately, else as a reply to their command."""
        user = message.destination.user or ""
        chat_id = chat_id_of(user)
        if chat_id is not None and not self._roster.is_unreachable(user=user):
            try:
                await self._render(chat_id, message, text=message.text, markup=None)
            except _Unreachable:
                self._roster.blocked(user=user)
            else:
                return
        group = (
            origin.chat_id if origin.chat_id is not None else chat_id_of(message.destination.team)
        )
        if group is None or group == chat_id:
            return
        text = f"{message.text}\n\n{self._texts.t('telegram.private_fallback')}"
        markup = url_button(
            label=self._texts.t("telegram.open_bot_button"), url=f"https://t.me/{self._username}"
        )
        try:
            await self._send_text(group, text, markup=markup, reply_to=origin.message_id)
        except _Unreachable:
            _LOG.warning("group %s refused the bot (removed or restricted)", group)

    async def _report_unreachable(self, message: Outbound, *, batch: _Batch, depth: int) -> None:
        """Tell the engine once; it tells the round's opener (never about answers)."""
        team, user = message.destination.team, message.destination.user or ""
        if not team or depth >= _MAX_REPORT_DEPTH:
            return
        key = TeamKey(platform=PLATFORM, workspace=self._roster.workspace, team=team)
        replies = await asyncio.to_thread(self._engine.report_unreachable, team=key, user=user)
        await self._deliver(replies, origin=Origin(), batch=batch, depth=depth + 1)

    # -------------------------------------------------------------- rendering

    async def _edit_in_place(
        self, chat_id: int, message: Outbound, *, origin: Origin, batch: _Batch
    ) -> bool:
        """Replace the pressed prompt with the next one (once per batch), if it can be."""
        target = batch.edit_message_id
        if (
            target is None
            or batch.edited
            or not message.replace_previous
            or origin.chat_id != chat_id
            or message.image is not None
            or message.file is not None
            or message.details
            or len(message.text) > MESSAGE_MAX_CHARS
        ):
            return False
        markup = keyboard(message.buttons, columns=message.columns)
        try:
            await self._bot.edit_message_text(
                chat_id=chat_id,
                message_id=target,
                text=self._render_text.html(message.text),
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
            )
        except Forbidden as error:
            raise _Unreachable from error
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                # Too old, deleted, or HTML Telegram rejects: send a new message instead.
                _LOG.info("editing message %s failed; sending a new one", target)
                return False
        except TelegramError as error:
            # A timeout may still have edited it; a second copy would only confuse. The
            # member's next press or message shows the current step again.
            _LOG.warning("editing message %s failed: %s", target, type(error).__name__)
        batch.edited = True
        return True

    async def _render(
        self, chat_id: int, message: Outbound, *, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Text (or a captioned photo/document), then the details as a reply to it."""
        if markup is None:
            markup = keyboard(message.buttons, columns=message.columns)
        media = [path for path in (message.image, message.file) if path is not None]
        head: Message | None
        if media and len(text) <= TELEGRAM_CAPTION_MAX_CHARS:
            head = await self._send_media(chat_id, media[0], caption=text, markup=markup)
            self._sent(message, media[0], head)
            media = media[1:]
        else:
            head = await self._send_text(chat_id, text, markup=markup)
            caption = self._title(text)
            for path in media[:1]:
                sent = await self._send_media(chat_id, path, caption=caption, markup=None)
                self._sent(message, path, sent)
            media = media[1:]
        for path in media:
            sent = await self._send_media(chat_id, path, caption="", markup=None)
            self._sent(message, path, sent)
        if message.details:
            reply_to = head.message_id if head is not None else None
            await self._send_text(chat_id, message.details, markup=None, reply_to=reply_to)

    @staticmethod
    def _sent(message: Outbound, path: Path, sent: Message | None) -> None:
        """An export that Telegram accepted is removed from disk (charts stay for reuse)."""
        if sent is not None and path == message.file:
            remove_delivered(path)

    async def _send_text(
        self,
        chat_id: int,
        text: str,
        *,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None = None,
    ) -> Message | None:
        """``text`` in chunks under Telegram's limit; buttons under the last chunk."""
        chunks = split_text(text, limit=MESSAGE_MAX_CHARS)
        first: Message | None = None
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await self._send_chunk(
                chat_id, chunk, markup=markup if last else None, reply_to=reply_to
            )
            first = first or sent
        return first

    async def _send_chunk(
        self,
        chat_id: int,
        chunk: str,
        *,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None,
    ) -> Message | None:
        async def send(body: str, mode: str | None) -> Message:
            return await self._bot.send_message(
                chat_id=chat_id,
                text=body,
                parse_mode=mode,
                reply_markup=markup,
                reply_parameters=_reply(reply_to),
                link_preview_options=_NO_PREVIEW,
            )

        return await self._call(
            lambda: send(self._render_text.html(chunk), ParseMode.HTML),
            fallback=lambda: send(self._render_text.plain(chunk), None),
        )

    async def _send_media(
        self, chat_id: int, path: Path, *, caption: str, markup: InlineKeyboardMarkup | None
    ) -> Message | None:
        """A PNG as a photo, anything else (the .xlsx export) as a document."""
        data = await asyncio.to_thread(path.read_bytes)
        photo = path.suffix.lower() == ".png"

        async def send(body: str | None, mode: str | None) -> Message:
            if photo:
                return await self._bot.send_photo(
                    chat_id=chat_id,
                    photo=data,
                    filename=path.name,
                    caption=body,
                    parse_mode=mode,
                    reply_markup=markup,
                )
            return await self._bot.send_document(
                chat_id=chat_id,
                document=data,
                filename=path.name,
                caption=body,
                parse_mode=mode,
                reply_markup=markup,
            )

        if not caption:
            return await self._call(lambda: send(None, None))
        return await self._call(
            lambda: send(self._render_text.html(caption), ParseMode.HTML),
            fallback=lambda: send(self._render_text.plain(caption), None),
        )

    def _title(self, text: str) -> str:
        """The first line of a long text: the caption of the photo that follows it."""
        first = next((line for line in text.splitlines() if line.strip()), "")
        if len(first) <= TELEGRAM_CAPTION_MAX_CHARS:
            return first
        return self._render_text.plain(first)[: TELEGRAM_CAPTION_MAX_CHARS - 1] + "…"

    async def _call(
        self,
        request: Callable[[], Awaitable[T]],
        *,
        fallback: Callable[[], Awaitable[T]] | None = None,
    ) -> T | None:
        """One Bot API call: 403 and unknown chats raise, other errors are logged and skipped.

        Rate limits are waited out by the rate limiter (up to its retries), so a
        RetryAfter that still arrives here is given up on rather than looped.
        """
        try:
            return await request()
        except Forbidden as error:
            raise _Unreachable from error
        except BadRequest as error:
            reason = error.message.lower()
            if "chat not found" in reason:
                raise _Unreachable from error
            if fallback is not None and "can't parse entities" in reason:
                _LOG.warning("Telegram rejected our HTML; sending plain text")
                return await self._call(fallback)
            _LOG.warning("Bot API refused a request: %s", type(error).__name__)
        except RetryAfter:
            _LOG.warning("still rate limited after the retries; message dropped")
        except TelegramError as error:
            # Timeouts included: the message may have arrived, so no blind retry.
            _LOG.warning("Bot API request failed: %s", type(error).__name__)
        return None


def chat_id_of(value: str | None) -> int | None:
    """A chat id from our string ids; None for anything that is not a Telegram id.

    ASCII digits only (``int()`` would also take "٣" or "+3").
    """
    digits = (value or "").removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        return None
    return int(value or "")


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
