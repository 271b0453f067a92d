"""One message as the Bot API calls that show it: text, photo or document, details.

A message can take several calls: a long text in chunks under Telegram's limit,
a chart as a photo, an export as a document, the details as replies to the first
part. Each call is a step; :class:`Progress` remembers how many steps already
went out, so the attempt after a 429 or a network error continues where the
last one stopped instead of posting the headline twice. Errors are raised as
PTB raises them: the sender (``adapters.telegram.delivery``) decides what they
mean. Nothing here waits or retries, except resending a step as plain text when
Telegram rejects its HTML (a different request, not a repeat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adapters.files import remove_delivered
from adapters.telegram.catalogue_markup import Renderer
from adapters.telegram.markup import keyboard
from conversations.core.limits import MESSAGE_MAX_CHARS, TELEGRAM_CAPTION_MAX_CHARS, split_text
from conversations.core.messages import Outbound

_LOG = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Step = Callable[["Progress"], Awaitable[Message | None]]


@dataclass(slots=True)
class Progress:
    """What of one message already went out (kept across attempts in this process).

    Attributes:
        done: Steps delivered, in order.
        head_id: The first part's message id: the details reply to it.
    """

    done: int = 0
    head_id: int | None = None


class Poster:
    """Makes the calls of one message on one bot."""

    def __init__(self, *, bot: Bot, renderer: Renderer) -> None:
        """Post with ``bot``; ``renderer`` turns the catalogue's markers into HTML."""
        self._bot = bot
        self._render = renderer

    async def post(
        self,
        chat_id: int,
        message: Outbound,
        *,
        text: str,
        markup: InlineKeyboardMarkup | None,
        progress: Progress,
        reply_to: int | None = None,
    ) -> None:
        """Send what of ``message`` has not gone out yet, continuing ``progress``.

        ``text`` and ``markup`` may differ from the message's own (a join link
        button, a fallback note); the buttons are the message's when ``markup``
        is None. ``reply_to`` makes the text a reply (to a command in a group).
        """
        if markup is None:
            markup = keyboard(message.buttons, columns=message.columns)
        steps = self._steps(chat_id, message, text=text, markup=markup, reply_to=reply_to)
        for index, step in enumerate(steps):
            if index < progress.done:
                continue
            sent = await step(progress)
            if index == 0 and sent is not None:
                progress.head_id = sent.message_id
            progress.done = index + 1

    async def edit(self, chat_id: int, message_id: int, message: Outbound) -> bool:
        """Replace the text and buttons of ``message_id``; False when it cannot be edited.

        "Not modified" counts as edited: the message already shows this (an
        earlier attempt went through before its answer was lost). Too old,
        deleted, or HTML Telegram rejects: False, so a new message is sent.
        """
        try:
            await self._bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=self._render.html(message.text),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(message.buttons, columns=message.columns),
                link_preview_options=_NO_PREVIEW,
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            _LOG.info("editing message %s failed; sending a new one", message_id)
            return False
        return True

    async def drop_keyboard(self, chat_id: int, message_id: int) -> None:
        """Remove the buttons of a message the conversation moved on from."""
        await self._bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=None
        )

    # ------------------------------------------------------------------ steps

    def _steps(
        self,
        chat_id: int,
        message: Outbound,
        *,
        text: str,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None,
    ) -> list[Step]:
        """Text (or a captioned photo/document), more files, then the details as replies."""
        steps: list[Step] = []
        media = [path for path in (message.image, message.file) if path is not None]
        if media and len(text) <= TELEGRAM_CAPTION_MAX_CHARS:
            steps.append(self._media_step(chat_id, message, media[0], caption=text, markup=markup))
        else:
            chunks = split_text(text, limit=MESSAGE_MAX_CHARS)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                steps.append(
                    self._text_step(
                        chat_id, chunk, markup=markup if last else None, reply_to=reply_to
                    )
                )
            if media:
                caption = self._title(text)
                steps.append(self._media_step(chat_id, message, media[0], caption=caption))
        steps.extend(self._media_step(chat_id, message, path, caption="") for path in media[1:])
        if message.details:
            steps.extend(
                self._text_step(chat_id, chunk, to_head=True)
                for chunk in split_text(message.details, limit=MESSAGE_MAX_CHARS)
            )
        return steps

    def _text_step(
        self,
        chat_id: int,
        chunk: str,
        *,
        markup: InlineKeyboardMarkup | None = None,
        reply_to: int | None = None,
        to_head: bool = False,
    ) -> Step:
        """One text message; ``to_head`` makes it a reply to the message's first part."""

        async def step(progress: Progress) -> Message | None:
            reply = progress.head_id if to_head else reply_to

            async def send(body: str, mode: str | None) -> Message:
                return await self._bot.send_message(
                    chat_id=chat_id,
                    text=body,
                    parse_mode=mode,
                    reply_markup=markup,
                    reply_parameters=_reply(reply),
                    link_preview_options=_NO_PREVIEW,
                )

            return await _with_plain_fallback(
                lambda: send(self._render.html(chunk), ParseMode.HTML),
                lambda: send(self._render.plain(chunk), None),
            )

        return step

    def _media_step(
        self,
        chat_id: int,
        message: Outbound,
        path: Path,
        *,
        caption: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Step:
        """A PNG as a photo, anything else (an .xlsx export) as a document."""

        async def step(progress: Progress) -> Message | None:
            data = await asyncio.to_thread(path.read_bytes)

            async def send(body: str | None, mode: str | None) -> Message:
                if path.suffix.lower() == ".png":
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

            if caption:
                sent = await _with_plain_fallback(
                    lambda: send(self._render.html(caption), ParseMode.HTML),
                    lambda: send(self._render.plain(caption), None),
                )
            else:
                sent = await send(None, None)
            if path == message.file:
                # An export Telegram accepted leaves the disk (charts stay for reuse).
                remove_delivered(path)
            return sent

        return step

    def _title(self, text: str) -> str:
        """The first line of a long text: the caption of the photo that follows it."""
        first = next((line for line in text.splitlines() if line.strip()), "")
        if len(first) <= TELEGRAM_CAPTION_MAX_CHARS:
            return first
        return self._render.plain(first)[: TELEGRAM_CAPTION_MAX_CHARS - 1] + "…"


async def _with_plain_fallback(
    html: Callable[[], Awaitable[Message]], plain: Callable[[], Awaitable[Message]]
) -> Message:
    """Send as HTML; when Telegram cannot parse it, the same text without markup."""
    try:
        return await html()
    except BadRequest as error:
        if "can't parse entities" not in error.message.lower():
            raise
        _LOG.warning("Telegram rejected our HTML; sending plain text")
        return await plain()


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
