"""Telegram updates in, neutral events to the engine; a press is answered after it.

Group: ``/quickscan ...`` (also ``/quickscan@Bot ...``) goes to the engine with
``sender_is_admin`` from the group's administrators. Private chat: ``/start
<token>`` joins a round by its deep link, button presses and typed text are the
walkthrough. A group upgraded to a supergroup moves its team to the new chat id.
Everything else only teaches the roster who is where.

The engine queues its replies in the outbox in the same transaction as the
event (``Engine.handle``); nothing here delivers them. A button press is
answered (answerCallbackQuery) once the engine has committed it: that answer is
the acknowledgement the member sees, with the engine's refusal as its notice.
The few replies the adapter makes itself (a private /help, a refused join link)
change nothing and are sent directly; when Telegram asks to wait, the update is
handled again later (:class:`~adapters.telegram.intake.UpdateDeferred`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from telegram import CallbackQuery, ChatMember, ChatMemberUpdated, Message, Update, User
from telegram.constants import ChatType
from telegram.error import RetryAfter, TelegramError
from telegram.ext import filters

from adapters.telegram.admins import AdminCache
from adapters.telegram.commands import command_of, with_user_ids
from adapters.telegram.delivery import TelegramSender, retry_seconds
from adapters.telegram.intake import UpdateDeferred
from adapters.telegram.join import JoinCheck
from adapters.telegram.markup import valid_start_parameter
from adapters.telegram.membership import Standing, standing_of
from adapters.telegram.origin import Origin
from adapters.telegram.refusals import Refusals
from adapters.telegram.roster import PLATFORM, TelegramRoster, sender_of
from bot.core.engine import Engine
from bot.delivery.api import Delivery, Permanent, Retry
from conversations.core.i18n import Catalogue
from conversations.core.limits import CALLBACK_DATA_MAX_BYTES
from conversations.core.messages import Destination, DestinationKind, Inbound, Outbound, Where

CALLBACK_NOTICE_MAX_CHARS = 200  # answerCallbackQuery text limit
_GROUPS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
_LOG = logging.getLogger(__name__)
T = TypeVar("T")


class Handlers:
    """Turns each update into engine calls; runs on the bot's loop, the engine in threads."""

    def __init__(
        self,
        *,
        engine: Engine,
        roster: TelegramRoster,
        admins: AdminCache,
        sender: TelegramSender,
        executor: Executor,
        bot_username: str,
    ) -> None:
        """Wire the handlers; ``executor`` runs the blocking calls.

        Those are the engine's and the roster's (a database read or upsert each):
        on the event loop they would stall every other update, and under
        ``quickscan serve`` every Slack request too, while SQLite's write lock is busy.
        """
        self._engine = engine
        self._roster = roster
        self._admins = admins
        self._sender = sender
        self._executor = executor
        self._username = bot_username
        self._texts = Catalogue()
        self._refusals = Refusals()
        self._joins = JoinCheck(engine=engine, roster=roster, run=self._call)

    async def handle(self, update: Update) -> None:
        """Handle one update; raises only when it must be handled again (nothing committed)."""
        if update.callback_query is not None:
            await self._button(update, update.callback_query)
        elif update.chat_member is not None:
            await self._membership(update.chat_member)
        elif update.my_chat_member is not None:
            await self._own_membership(update.my_chat_member)
        elif update.message is not None:
            if update.message.chat.type == ChatType.PRIVATE:
                await self._private(update, update.message)
            elif update.message.chat.type in _GROUPS:
                await self._group(update, update.message)

    async def give_up(self, update: Update) -> None:
        """The update kept failing: tell the person, so they can try again."""
        query = update.callback_query
        if query is not None:
            await self._answer(query, self._texts.t("telegram.failed"))
            return
        message, user = update.message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        note = Outbound(
            destination=Destination.ephemeral(team=str(message.chat.id), user=str(user.id)),
            text=self._texts.t("telegram.failed"),
        )
        result = await self._sender.send_async(self._delivery(note, update, message))
        if isinstance(result, Retry | Permanent):
            _LOG.warning("telling that update %s failed did not work either", update.update_id)

    # ------------------------------------------------------------------ group

    async def _group(self, update: Update, message: Message) -> None:
        chat = message.chat
        if message.migrate_to_chat_id is not None:
            await self._migrated(old=chat.id, new=message.migrate_to_chat_id)
            return
        if message.migrate_from_chat_id is not None:
            # The supergroup's first message: moving the team here too (it is
            # idempotent) puts the move before any command typed in the new chat.
            await self._migrated(old=message.migrate_from_chat_id, new=chat.id)
            return
        command = command_of(message, bot_username=self._username)
        if command is not None and command[0] == "quickscan":
            await self._team_event(
                update, message, text=await self._call(with_user_ids, message, roster=self._roster)
            )
        elif command is not None and command[0] in {"help", "start"}:
            await self._team_event(update, message, text="/quickscan help")
        elif message.new_chat_members:
            for user in message.new_chat_members:
                await self._call(self._roster.seen, group=str(chat.id), user=user)
        elif message.left_chat_member is not None:
            await self._call(self._roster.left, group=str(chat.id), user=message.left_chat_member)
        elif message.from_user is not None:
            # Anyone who speaks is in the group (all messages arrive only without privacy mode).
            await self._call(self._roster.seen, group=str(chat.id), user=message.from_user)

    async def _team_event(self, update: Update, message: Message, *, text: str) -> None:
        user, chat = message.from_user, message.chat
        if message.sender_chat is not None or user is None:
            # An anonymous administrator or a channel: Telegram hides who it is.
            notice = Outbound(
                destination=Destination.team_channel(team=str(chat.id)),
                text=self._texts.t("telegram.anonymous_admin"),
            )
            await self._send_direct(notice, update, message)
            return
        if user.is_bot:
            return
        team = str(chat.id)
        await self._call(self._roster.seen, group=team, user=user)
        admin = await _deferring(
            self._admins.is_admin(bot=message.get_bot(), chat_id=chat.id, user_id=user.id)
        )
        event = Inbound(
            platform=PLATFORM,
            workspace=self._roster.workspace,
            team=team,
            where=Where.TEAM,
            sender=sender_of(user),
            text=text,
            event_id=_event_id(update),
            sender_is_admin=admin,
            admins_known=True,
            origin=_origin(update, message).as_mapping(),
        )
        await self._call(self._engine.handle, event)

    async def _migrated(self, *, old: int, new: int) -> None:
        """The group became a supergroup: its team, rounds and settings move along."""
        await self._call(
            self._engine.migrate_chat,
            platform=PLATFORM,
            workspace=self._roster.workspace,
            old_team=str(old),
            new_team=str(new),
        )
        await self._call(self._roster.migrate, old=str(old), new=str(new))
        self._admins.forget(chat_id=old)

    async def _membership(self, change: ChatMemberUpdated) -> None:
        """Join and leave events, sent when the bot administers the group."""
        if change.chat.type == ChatType.PRIVATE:
            return
        user, group = change.new_chat_member.user, str(change.chat.id)
        if standing_of(change.new_chat_member) is Standing.MEMBER:
            await self._call(self._roster.seen, group=group, user=user)
        else:
            await self._call(self._roster.left, group=group, user=user)

    async def _own_membership(self, change: ChatMemberUpdated) -> None:
        """A user blocked or (re)started the bot in private."""
        if change.chat.type != ChatType.PRIVATE:
            return
        if change.new_chat_member.status == ChatMember.BANNED:
            await self._call(self._roster.blocked, user=str(change.from_user.id))
        elif change.new_chat_member.status == ChatMember.MEMBER:
            await self._call(self._roster.started, user=change.from_user)

    # ---------------------------------------------------------------- private

    async def _private(self, update: Update, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        command = command_of(message, bot_username=self._username)
        name = command[0] if command is not None else None
        if name == "start" and command is not None:
            await self._call(self._roster.started, user=user)
            await self._start(update, message, user, args=command[1])
        elif name in {"help", "quickscan"}:
            await self._call(self._roster.started, user=user)
            key = "telegram.private_help" if name == "help" else "telegram.group_only"
            await self._send_direct(self._note(user, key), update, message)
        elif message.text is not None:
            await self._call(self._roster.started, user=user)
            await self._private_event(update, message, user, text=message.text)
        elif not filters.StatusUpdate.ALL.check_update(update):
            # A photo, sticker or voice note carries no text the bot can read: the
            # engine answers it like an empty message (on an open question: type, or skip).
            await self._call(self._roster.started, user=user)
            await self._private_event(update, message, user, text="")

    async def _start(
        self, update: Update, message: Message, user: User, *, args: list[str]
    ) -> None:
        """``/start <token>`` from a round's deep link joins it; bare ``/start`` resumes."""
        if not args:
            await self._private_event(update, message, user, text="start")
            return
        token = args[0]
        if not valid_start_parameter(token):
            await self._send_direct(self._note(user, "join.unknown"), update, message)
            return
        refusal = await _deferring(
            self._joins.refusal(bot=message.get_bot(), user=user, token=token)
        )
        if refusal is not None:
            await self._send_direct(refusal, update, message)
            return
        replies = await self._call(
            self._engine.join,
            platform=PLATFORM,
            workspace=self._roster.workspace,
            token=token,
            sender=sender_of(user),
            event_id=_event_id(update),
        )
        for reply in replies:
            if reply.destination.kind is DestinationKind.DM and reply.destination.team:
                # Opening the group's link says the member is in that group.
                await self._call(self._roster.seen, group=reply.destination.team, user=user)

    async def _private_event(
        self, update: Update, message: Message, user: User, *, text: str
    ) -> None:
        sender = sender_of(user)
        event = Inbound(
            platform=PLATFORM,
            workspace=self._roster.workspace,
            team=await self._call(self._roster.last_team, user=sender.user),
            where=Where.DM,
            sender=sender,
            text=text,
            event_id=_event_id(update),
            origin=_origin(update, message).as_mapping(),
        )
        await self._call(self._engine.handle, event)

    # ---------------------------------------------------------------- buttons

    async def _button(self, update: Update, query: CallbackQuery) -> None:
        """A pressed inline button: always answered, with a notice when refused."""
        user, data, pressed = query.from_user, query.data, query.message
        if (
            user.is_bot
            or pressed is None
            or not isinstance(data, str)
            or not data
            or len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES
        ):
            # Telegram never sends such data; a fake or forged update gets a notice only.
            await self._answer(query, self._texts.t("dm.invalid_button"))
            return
        chat = pressed.chat
        private = chat.type == ChatType.PRIVATE
        sender = sender_of(user)
        if private:
            await self._call(self._roster.started, user=user)
        editable = private and isinstance(pressed, Message)
        origin = Origin(
            chat_id=chat.id,
            message_id=pressed.message_id,
            edit_message_id=pressed.message_id if editable else None,
            presser=sender.user,
            update_id=update.update_id,
        )
        event = Inbound(
            platform=PLATFORM,
            workspace=self._roster.workspace,
            team=(
                await self._call(self._roster.last_team, user=sender.user)
                if private
                else str(chat.id)
            ),
            where=Where.DM if private else Where.TEAM,
            sender=sender,
            payload=data,
            event_id=_event_id(update),
            origin=origin.as_mapping(),
        )
        replies = await self._call(self._engine.handle, event)
        await self._answer(query, self._refusals.notice(replies, presser=sender.user))

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        notice = None if text is None else text[:CALLBACK_NOTICE_MAX_CHARS]
        try:
            await query.answer(text=notice)
        except TelegramError as error:
            # Too old or answered before (a redelivery): nothing left to do.
            _LOG.info("answerCallbackQuery %s failed: %s", query.id, type(error).__name__)

    # ---------------------------------------------------------------- helpers

    async def _call(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking engine call in the engine's threads, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    async def _send_direct(self, reply: Outbound, update: Update, message: Message) -> None:
        """Send one of the adapter's own replies now; when Telegram asks to wait, so do we."""
        result = await self._sender.send_async(self._delivery(reply, update, message))
        if isinstance(result, Retry):
            raise UpdateDeferred(after=result.after)
        if isinstance(result, Permanent):
            _LOG.info("a reply to update %s was refused (%s)", update.update_id, result.reason)

    def _delivery(self, reply: Outbound, update: Update, message: Message) -> Delivery:
        return Delivery(
            outbox_id=0,
            workspace=self._roster.workspace,
            message=reply,
            origin=_origin(update, message).as_mapping(),
            attempt=1,
        )

    def _note(self, user: User, key: str) -> Outbound:
        return Outbound(
            destination=Destination.dm(team="", user=str(user.id)), text=self._texts.t(key)
        )


async def _deferring(call: Awaitable[T]) -> T:
    """Await a Bot API lookup; Telegram's "retry after" defers the whole update."""
    try:
        return await call
    except RetryAfter as error:
        raise UpdateDeferred(after=retry_seconds(error)) from error


def _origin(update: Update, message: Message) -> Origin:
    return Origin(
        chat_id=message.chat.id, message_id=message.message_id, update_id=update.update_id
    )


def _event_id(update: Update) -> str:
    """The engine's redelivery key: Telegram redelivers an update with the same id."""
    return f"update:{update.update_id}"
