"""Builds the PTB Application for one bot token and announces its commands."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from adapters.telegram.rate_limit import ChatRateLimiter
from adapters.telegram.settings import TelegramLimits, TelegramSettings
from conversations.core.i18n import Catalogue

_LOG = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    *, settings: TelegramSettings, limits: TelegramLimits, webhook: bool
) -> AnyApplication:
    """An Application on the configured Bot API server, rate limited.

    In webhook mode there is no Updater: our own webhook server feeds the update
    queue (see :mod:`adapters.telegram.webhook`).
    """
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.bot_base_url)
        .base_file_url(settings.file_base_url)
        .rate_limiter(ChatRateLimiter(limits=limits))
    )
    if webhook:
        builder = builder.updater(None)
    application: AnyApplication = builder.build()
    return application


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
