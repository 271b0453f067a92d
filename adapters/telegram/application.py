"""Builds the PTB Bot for one token and announces its commands.

Only PTB's Bot (its HTTP client and types) is used, not its Application: the
Application's Updater confirms updates before they are handled and its rate
limiter sleeps inside the calls, while this adapter confirms after handling
(``adapters.telegram.intake``) and leaves pacing to the outbox's dispatcher.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from adapters.telegram.settings import TelegramSettings
from conversations.core.i18n import Catalogue

_LOG = logging.getLogger(__name__)
SEND_CONNECTIONS = 64  # sends, edits and lookups of many chats at once
POLL_CONNECTIONS = 2  # one long poll, and the last one that confirms at the stop


def build_bot(*, settings: TelegramSettings) -> Bot:
    """A Bot on the configured Bot API server, with a connection pool for parallel sends."""
    return Bot(
        token=settings.token.get_secret_value(),  # handed to PTB, nowhere else
        base_url=settings.bot_base_url,
        base_file_url=settings.file_base_url,
        request=HTTPXRequest(connection_pool_size=SEND_CONNECTIONS),
        get_updates_request=HTTPXRequest(connection_pool_size=POLL_CONNECTIONS),
    )


async def announce_commands(*, bot: Bot) -> None:
    """The command menu in Dutch; a failure is logged, the bot works without a menu."""
    texts = Catalogue()
    commands = [
        BotCommand("quickscan", texts.t("telegram.command_quickscan")),
        BotCommand("start", texts.t("telegram.command_start")),
        BotCommand("help", texts.t("telegram.command_help")),
    ]
    try:
        await bot.set_my_commands(commands)
    except TelegramError as error:
        _LOG.warning("setMyCommands failed: %s", type(error).__name__)
