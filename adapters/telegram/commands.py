"""Bot commands in Telegram messages: which command, its arguments, and mentions as ids.

PTB's CommandHandler rules, without its Application: a command is a
``bot_command`` entity at the very start of the text; ``/cmd@OtherBot`` is
another bot's. Mentions become user ids, the way the engine stores coordinators.
"""

from __future__ import annotations

from telegram import Message, MessageEntity

from adapters.telegram.roster import TelegramRoster


def command_of(message: Message, *, bot_username: str) -> tuple[str, list[str]] | None:
    """The command a message starts with (lower case) and its arguments; None if none."""
    text, entities = message.text, message.entities
    if not text or not entities:
        return None
    first = entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _, addressee = text[1 : first.length].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    return name.lower(), text.split()[1:]


def with_user_ids(message: Message, *, roster: TelegramRoster) -> str:
    """The text with ``@username`` and text mentions replaced by the user ids they name.

    A text mention carries the user itself, who is then known to be in the group;
    a username is looked up among the people the roster has seen.
    """
    text = message.text or ""
    entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, shown in entities.items():
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            user_id: str | None = str(entity.user.id)
            roster.seen(group=str(message.chat.id), user=entity.user)
        else:
            user_id = roster.user_by_username(username=shown)
        if user_id is not None:
            text = text.replace(shown, user_id, 1)
    return text
