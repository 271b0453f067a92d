"""Telegram updates in, neutral events to the engine, its replies back out.

Group: ``/quickscan ...`` (also ``/quickscan@Bot ...``) goes to the engine with
``sender_is_admin`` from the group's administrators. Private chat: ``/start
<token>`` joins a round by its deep link, button presses and typed text are the
walkthrough. Everything else only teaches the roster who is where.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import CallbackQuery, ChatMember, Message, MessageEntity, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from adapters.telegram.admins import AdminCache
from adapters.telegram.delivery import Delivery, Origin, chat_id_of
from adapters.telegram.markup import valid_start_parameter
from adapters.telegram.membership import Standing, group_standing, standing_of
from adapters.telegram.roster import PLATFORM, TelegramRoster, sender_of
from bot.core.engine import Engine
from bot.core.logging_setup import log_failure
from conversations.core.i18n import DEFAULT_LOCALE, Catalogue, available_locales
from conversations.core.limits import CALLBACK_DATA_MAX_BYTES
from conversations.core.messages import Destination, DestinationKind, Inbound, Outbound, Where
from storage.keys import TeamKey

# Update types the bot asks for: messages, button presses, and membership changes
# (the bot's own, e.g. a user blocking it; others' where the bot is an administrator).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member", "chat_member")
CALLBACK_NOTICE_MAX_CHARS = 200  # answerCallbackQuery text limit
# Engine replies that mean "refused, nothing changed": shown as the button's notice.
REFUSAL_KEYS = (
    "dm.invalid_button",
    "dm.stale",
    "dm.round_closed",
    "dm.bad_grade",
    "dm.no_such_question",
)
_LOG = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE


class Handlers:
    """The PTB callbacks of one bot; engine calls run in worker threads."""

    def __init__(
        self,
        *,
        engine: Engine,
        roster: TelegramRoster,
        admins: AdminCache,
        delivery: Delivery,
    ) -> None:
        self._engine = engine
        self._roster = roster
        self._admins = admins
        self._delivery = delivery
        self._texts = Catalogue()
        self._refusals = frozenset(
            Catalogue(locale).t(key) for locale in available_locales() for key in REFUSAL_KEYS
        )

    def register(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add the handlers; the first matching one per update wins."""
        private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
        application.add_handlers(
            [
                CommandHandler("quickscan", self.group_command, filters=groups),
                CommandHandler(["help", "start"], self.group_help, filters=groups),
                CommandHandler("start", self.private_start, filters=private),
                CommandHandler("help", self.private_help, filters=private),
                CommandHandler("quickscan", self.private_quickscan, filters=private),
                MessageHandler(private & filters.TEXT, self.private_text),
                MessageHandler(private & ~filters.StatusUpdate.ALL, self.private_other),
                CallbackQueryHandler(self.button),
                MessageHandler(groups & filters.StatusUpdate.NEW_CHAT_MEMBERS, self.joined),
                MessageHandler(groups & filters.StatusUpdate.LEFT_CHAT_MEMBER, self.left),
                MessageHandler(groups, self.group_message),
                ChatMemberHandler(self.membership, ChatMemberHandler.CHAT_MEMBER),
                ChatMemberHandler(self.own_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            ]
        )
        application.add_error_handler(self.on_error)

    # ------------------------------------------------------------------ group

    async def group_command(self, update: Update, context: Context) -> None:
        """``/quickscan ...`` in a group: the engine's team commands."""
        message = update.message
        if message is None:
            return
        await self._team_event(update, message, text=self._with_user_ids(message))

    async def group_help(self, update: Update, context: Context) -> None:
        """``/help`` or ``/start`` in a group: the engine's help."""
        if update.message is not None:
            await self._team_event(update, update.message, text="/quickscan help")

    async def _team_event(self, update: Update, message: Message, *, text: str) -> None:
        user, chat = message.from_user, message.chat
        if message.sender_chat is not None or user is None:
            # An anonymous administrator or a channel: Telegram hides who it is.
            await self._reply_in_group(message, self._texts.t("telegram.anonymous_admin"))
            return
        if user.is_bot:
            return
        team = str(chat.id)
        self._roster.seen(group=team, user=user)
        admin = await self._admins.is_admin(
            bot=message.get_bot(), chat_id=chat.id, user_id=user.id
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
        )
        replies = await self._run(update, self._engine.handle, event)
        origin = Origin(chat_id=chat.id, message_id=message.message_id)
        if replies is None:
            await self._reply_in_group(message, self._texts.t("telegram.failed"))
            return
        await self._delivery.deliver(replies, origin=origin)

    async def joined(self, update: Update, context: Context) -> None:
        """New members are in the group (invited next round once they start the bot)."""
        message = update.message
        if message is not None:
            for user in message.new_chat_members or ():
                self._roster.seen(group=str(message.chat.id), user=user)

    async def left(self, update: Update, context: Context) -> None:
        """A member left: not invited any more."""
        message = update.message
        if message is not None and message.left_chat_member is not None:
            self._roster.left(group=str(message.chat.id), user=message.left_chat_member)

    async def group_message(self, update: Update, context: Context) -> None:
        """Anyone who speaks is in the group (all messages arrive only without privacy mode)."""
        message = update.message
        if message is not None and message.from_user is not None:
            self._roster.seen(group=str(message.chat.id), user=message.from_user)

    async def membership(self, update: Update, context: Context) -> None:
        """Join and leave events, sent when the bot administers the group."""
        change = update.chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        user, group = change.new_chat_member.user, str(change.chat.id)
        if standing_of(change.new_chat_member) is Standing.MEMBER:
            self._roster.seen(group=group, user=user)
        else:
            self._roster.left(group=group, user=user)

    async def own_membership(self, update: Update, context: Context) -> None:
        """A user blocked or (re)started the bot in private."""
        change = update.my_chat_member
        if change is None or change.chat.type != ChatType.PRIVATE:
            return
        if change.new_chat_member.status == ChatMember.BANNED:
            self._roster.blocked(user=str(change.from_user.id))
        elif change.new_chat_member.status == ChatMember.MEMBER:
            self._roster.started(user=change.from_user)

    # ---------------------------------------------------------------- private

    async def private_start(self, update: Update, context: Context) -> None:
        """``/start <token>`` from a round's deep link joins it; bare ``/start`` resumes."""
        message, user = update.message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        self._roster.started(user=user)
        args = context.args or []
        if not args:
            await self._private_event(update, message, user, text="start")
            return
        origin = Origin(chat_id=message.chat.id, message_id=message.message_id)
        token = args[0]
        if not valid_start_parameter(token):
            await self._delivery.deliver([self._note(user, "join.unknown")], origin=origin)
            return
        refusal = await self._membership_refusal(update, message, user, token=token)
        if refusal is not None:
            await self._delivery.deliver([refusal], origin=origin)
            return
        replies = await self._run(
            update,
            self._engine.join,
            platform=PLATFORM,
            workspace=self._roster.workspace,
            token=token,
            sender=sender_of(user),
            event_id=f"update:{update.update_id}",
        )
        if replies is None:
            await self._delivery.deliver([self._note(user, "telegram.failed")], origin=origin)
            return
        for reply in replies:
            if reply.destination.kind is DestinationKind.DM and reply.destination.team:
                # Opening the group's link says the member is in that group.
                self._roster.seen(group=reply.destination.team, user=user)
        await self._delivery.deliver(replies, origin=origin)

    async def _membership_refusal(
        self, update: Update, message: Message, user: User, *, token: str
    ) -> Outbound | None:
        """A private refusal when ``user`` is not in the group of the round ``token`` opens.

        Joining is for members only: a forwarded link must not let anyone in. An
        unknown token passes (the engine answers it); so does a failing lookup,
        which the engine's own attempt then reports.
        """
        try:
            found = await asyncio.to_thread(
                self._engine.store.round_by_token,
                platform=PLATFORM,
                workspace=self._roster.workspace,
                token=token,
            )
        except Exception as error:  # broad on purpose: the person hears that it failed
            log_failure(_LOG, "looking up a join link", error, update=update.update_id)
            return self._note(user, "telegram.failed")
        if found is None:
            return None
        key, _round = found
        group = chat_id_of(key.team)
        standing = (
            Standing.UNKNOWN
            if group is None
            else await group_standing(bot=message.get_bot(), chat_id=group, user_id=user.id)
        )
        if standing is Standing.MEMBER:
            return None
        _LOG.info(
            "join link of group %s refused for user %s: %s", key.team, user.id, standing.value
        )
        texts = await asyncio.to_thread(team_catalogue, engine=self._engine, team=key)
        text_key = (
            "platform.join_not_member"
            if standing is Standing.NOT_MEMBER
            else "platform.join_check_failed"
        )
        return Outbound(
            destination=Destination.dm(team="", user=str(user.id)), text=texts.t(text_key)
        )

    async def private_help(self, update: Update, context: Context) -> None:
        """``/help`` in private: how the bot works on Telegram."""
        await self._private_note(update, "telegram.private_help")

    async def private_quickscan(self, update: Update, context: Context) -> None:
        """``/quickscan`` in private: team commands belong in the group."""
        await self._private_note(update, "telegram.group_only")

    async def private_text(self, update: Update, context: Context) -> None:
        """Typed text in private: an answer, an open answer, or navigation."""
        message, user = update.message, update.effective_user
        if message is None or user is None or user.is_bot or message.text is None:
            return
        self._roster.started(user=user)
        await self._private_event(update, message, user, text=message.text)

    async def private_other(self, update: Update, context: Context) -> None:
        """A photo, sticker or voice note in private: the engine's hint for where they are.

        It carries no text the bot can read, so it reaches the engine as an empty
        message, which answers it like one (on an open question: type, or skip).
        """
        message, user = update.message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        self._roster.started(user=user)
        await self._private_event(update, message, user, text="")

    async def _private_event(
        self, update: Update, message: Message, user: User, *, text: str
    ) -> None:
        sender = sender_of(user)
        event = Inbound(
            platform=PLATFORM,
            workspace=self._roster.workspace,
            team=self._roster.last_team(user=sender.user),
            where=Where.DM,
            sender=sender,
            text=text,
            event_id=_event_id(update),
        )
        replies = await self._run(update, self._engine.handle, event)
        if replies is None:
            replies = [self._note(user, "telegram.failed")]
        origin = Origin(chat_id=message.chat.id, message_id=message.message_id)
        await self._delivery.deliver(replies, origin=origin)

    async def _private_note(self, update: Update, key: str) -> None:
        message, user = update.message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        self._roster.started(user=user)
        origin = Origin(chat_id=message.chat.id, message_id=message.message_id)
        await self._delivery.deliver([self._note(user, key)], origin=origin)

    # ---------------------------------------------------------------- buttons

    async def button(self, update: Update, context: Context) -> None:
        """A pressed inline button: always answered, with a notice when refused."""
        query = update.callback_query
        if query is None:
            return
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
            self._roster.started(user=user)
        event = Inbound(
            platform=PLATFORM,
            workspace=self._roster.workspace,
            team=self._roster.last_team(user=sender.user) if private else str(chat.id),
            where=Where.DM if private else Where.TEAM,
            sender=sender,
            payload=data,
            event_id=_event_id(update),
        )
        replies = await self._run(update, self._engine.handle, event)
        if replies is None:
            await self._answer(query, self._texts.t("telegram.failed"))
            return
        notice, rest = self._split_refusal(replies, user=sender.user)
        await self._answer(query, notice)
        editable = private and isinstance(pressed, Message)
        origin = Origin(
            chat_id=chat.id,
            message_id=pressed.message_id,
            edit_message_id=pressed.message_id if editable else None,
        )
        edited = await self._delivery.deliver(rest, origin=origin)
        if editable and rest and not edited:
            # The step moved on in a new message: the old buttons would only be stale.
            await self._drop_keyboard(query)

    def _split_refusal(
        self, replies: Sequence[Outbound], *, user: str
    ) -> tuple[str | None, list[Outbound]]:
        """The engine's "refused, nothing changed" reply becomes the press's notice."""
        for index, reply in enumerate(replies):
            if (
                reply.destination.kind is not DestinationKind.TEAM
                and reply.destination.user == user
                and not reply.buttons
                and reply.text in self._refusals
            ):
                return reply.text, [*replies[:index], *replies[index + 1 :]]
        return None, list(replies)

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        notice = None if text is None else text[:CALLBACK_NOTICE_MAX_CHARS]
        try:
            await query.answer(text=notice)
        except TelegramError as error:
            # Too old or answered before (a redelivery): nothing left to do.
            _LOG.info("answerCallbackQuery %s failed: %s", query.id, type(error).__name__)

    async def _drop_keyboard(self, query: CallbackQuery) -> None:
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError as error:
            _LOG.info("removing old buttons failed: %s", type(error).__name__)

    # ---------------------------------------------------------------- helpers

    async def _run(
        self, update: Update, function: Callable[..., list[Outbound]], /, *args: Any, **kwargs: Any
    ) -> list[Outbound] | None:
        """Call the (synchronous, thread-safe) engine off the event loop; None if it failed."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except Exception as error:  # broad on purpose: a notice, and the bot keeps serving
            # Exception texts can hold pupil codes or answers: type and frames only.
            log_failure(_LOG, "the engine", error, update=update.update_id)
            return None

    def _with_user_ids(self, message: Message) -> str:
        """Mentions as user ids, the way the engine stores coordinators."""
        text = message.text or ""
        entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        for entity, shown in entities.items():
            if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
                user_id: str | None = str(entity.user.id)
                self._roster.seen(group=str(message.chat.id), user=entity.user)
            else:
                user_id = self._roster.user_by_username(username=shown)
            if user_id is not None:
                text = text.replace(shown, user_id, 1)
        return text

    def _note(self, user: User, key: str) -> Outbound:
        return Outbound(
            destination=Destination.dm(team="", user=str(user.id)), text=self._texts.t(key)
        )

    async def _reply_in_group(self, message: Message, text: str) -> None:
        try:
            await message.reply_text(text)
        except TelegramError as error:
            _LOG.warning("replying in group %s failed: %s", message.chat.id, type(error).__name__)

    async def on_error(self, update: object, context: Context) -> None:
        """PTB's error handler: log with the update id, never the content."""
        update_id = update.update_id if isinstance(update, Update) else None
        if context.error is not None:
            log_failure(_LOG, "handling an update", context.error, update=update_id)


def team_catalogue(*, engine: Engine, team: TeamKey) -> Catalogue:
    """The team's language for an adapter text (Dutch when unknown)."""
    settings = engine.store.get_team(key=team)
    return Catalogue(settings.locale if settings is not None else DEFAULT_LOCALE)


def _event_id(update: Update) -> str:
    """The engine's redelivery key: Telegram redelivers an update with the same id."""
    return f"update:{update.update_id}"
