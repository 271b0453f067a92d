"""The Telegram adapter's parts, built the same way for polling, webhook and ``quickscan serve``.

Whether updates come by long polling, to the small webhook server of
``quickscan run`` (:mod:`adapters.telegram.runner`) or to the webhook route of
``quickscan serve`` (:mod:`adapters.telegram.asgi`), the same things stand
behind them: the settings and renderer, the roster registered with the engine,
and, once the Bot is online, the sender with its delivery dispatcher, the
handlers and the intake. :class:`TelegramAssembly` builds them once, so a
change reaches every transport at once.

The Bot's HTTP client belongs to the event loop it was initialized on, and the
sender hands the dispatcher's sends to that loop: :meth:`TelegramAssembly.online`
must be entered on the loop that serves the updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram import Bot

from adapters.telegram.admins import AdminCache
from adapters.telegram.application import announce_commands, build_bot
from adapters.telegram.catalogue_markup import Renderer, instrument_texts
from adapters.telegram.delivery import TelegramSender
from adapters.telegram.handlers import Handlers
from adapters.telegram.intake import Intake
from adapters.telegram.roster import PLATFORM, TelegramRoster
from adapters.telegram.settings import TelegramLimits, TelegramSettings
from bot.core.engine import Engine
from bot.core.logging_setup import cap_library_loggers
from bot.core.ports import RosterRegistry

DEFAULT_WORKERS = 8  # engine calls at once, and the dispatcher's sends at once
DELIVERY_STOP_S = 15.0  # the sends in flight get this long to finish on stop
INTAKE_STOP_S = 10.0  # the updates in hand get this long to finish on stop
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Online:
    """The Bot once initialized, and the intake its updates go to."""

    bot: Bot
    intake: Intake


class TelegramAssembly:
    """Settings, roster and renderer now; the Bot and what needs it in :meth:`online`."""

    def __init__(
        self,
        *,
        engine: Engine,
        rosters: RosterRegistry,
        environ: Mapping[str, str],
        limits: TelegramLimits | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        """Read the settings and register the Telegram roster with the engine.

        Args:
            engine: The shared engine.
            rosters: Where the engine looks up team members per platform.
            environ: The TELEGRAM_* variables (see :mod:`adapters.telegram.settings`).
            limits: Flood limits; Telegram's published ones by default.
            workers: Updates handled at once, and sends at once.
        """
        self.settings = TelegramSettings.from_environ(environ=environ)
        self._renderer = Renderer(trusted=instrument_texts(engine.instruments.values()))
        cap_library_loggers("telegram", "httpx", "httpcore", "tornado")
        self._engine = engine
        self._limits = limits or TelegramLimits()
        self._workers = workers
        self.roster = TelegramRoster(engine=engine.store.engine)
        rosters.register(platform=PLATFORM, roster=self.roster)

    @asynccontextmanager
    async def online(self) -> AsyncIterator[Online]:
        """Initialize the Bot (getMe), build the rest and start delivering; undo it on exit.

        The caller closes the intake before leaving the block; then only the
        sends in flight are left, and they get :data:`DELIVERY_STOP_S` to finish.
        """
        bot = build_bot(settings=self.settings)
        executor = ThreadPoolExecutor(
            max_workers=self._workers, thread_name_prefix="telegram-updates"
        )
        try:
            async with bot:  # initialize (getMe) ... shutdown
                self.roster.workspace = str(bot.id)
                sender = TelegramSender(
                    bot=bot,
                    loop=asyncio.get_running_loop(),
                    roster=self.roster,
                    limits=self._limits,
                    renderer=self._renderer,
                    bot_username=bot.username,
                )
                dispatcher = self._engine.dispatcher(sender=sender, workers=self._workers)
                handlers = Handlers(
                    engine=self._engine,
                    roster=self.roster,
                    admins=AdminCache(roster=self.roster),
                    sender=sender,
                    executor=executor,
                    bot_username=bot.username,
                )
                intake = Intake(handle=handlers.handle, give_up=handlers.give_up)
                await announce_commands(bot=bot)
                dispatcher.start()
                try:
                    yield Online(bot=bot, intake=intake)
                finally:
                    finished = await asyncio.to_thread(dispatcher.stop, timeout=DELIVERY_STOP_S)
                    sender.close()
                    _LOG.info("Telegram delivery stopped (sends in flight finished: %s)", finished)
        finally:
            await asyncio.to_thread(executor.shutdown, wait=True)
        _LOG.info("Telegram bot %s stopped", self.roster.workspace)
