"""``TelegramRunner``: the Telegram adapter's main loop, polling or webhook.

The runner owns its event loop (``asyncio.run``), so it runs the same in the main
thread (alone, or last beside Slack) and in a background thread. Stop signals
(SIGINT, SIGTERM) are handled only in the main thread, where Python delivers
them; in a background thread the process's own runner stops it via :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Mapping, Sequence

from adapters.startup.config import load_settings
from adapters.telegram.admins import AdminCache
from adapters.telegram.application import AnyApplication, announce_commands, build_application
from adapters.telegram.catalogue_markup import Renderer, instrument_texts
from adapters.telegram.delivery import Delivery, Origin
from adapters.telegram.handlers import ALLOWED_UPDATES, Handlers
from adapters.telegram.roster import PLATFORM, TelegramRoster
from adapters.telegram.settings import TelegramLimits, TelegramSettings
from adapters.telegram.webhook import WebhookServer
from bot.core.engine import Engine
from bot.core.logging_setup import cap_library_loggers
from bot.core.ports import RosterRegistry
from conversations.core.messages import Outbound
from conversations.instrument import load_instruments
from storage.keys import TeamKey

DEFAULT_POLL_TIMEOUT_S = 30  # long polling: one idle request per half minute
STOP_WAIT_S = 30.0  # how long stop() waits for a clean shutdown from another thread
DELIVER_WAIT_S = 120.0  # a scheduled batch to a large team is paced by the rate limits
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_LOG = logging.getLogger(__name__)


class TelegramRunner:
    """Serves one Telegram bot until stopped; see the module docstring."""

    def __init__(
        self,
        *,
        engine: Engine,
        rosters: RosterRegistry,
        environ: Mapping[str, str],
        limits: TelegramLimits | None = None,
        poll_timeout_s: int = DEFAULT_POLL_TIMEOUT_S,
        handle_signals: bool | None = None,
    ) -> None:
        """Read the settings and register the Telegram roster with the engine.

        Args:
            engine: The shared engine.
            rosters: Where the engine looks up team members per platform.
            environ: The TELEGRAM_* variables (see :mod:`adapters.telegram.settings`).
            limits: Flood limits; Telegram's published ones by default.
            poll_timeout_s: Long-polling timeout of getUpdates, in whole seconds.
            handle_signals: Stop on SIGINT/SIGTERM; by default only when
                :meth:`run_forever` runs in the main thread.
        """
        self._engine = engine
        self._settings = TelegramSettings.from_environ(environ=environ)
        instruments = load_instruments(directories=load_settings(environ=environ).instrument_dirs)
        self._renderer = Renderer(trusted=instrument_texts(instruments.values()))
        cap_library_loggers("telegram", "httpx", "httpcore", "tornado")
        self._limits = limits or TelegramLimits()
        self._poll_timeout_s = poll_timeout_s
        self._handle_signals = handle_signals
        self.roster = TelegramRoster()
        rosters.register(platform=PLATFORM, roster=self.roster)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._delivery: Delivery | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._finished = threading.Event()
        self.webhook_port: int | None = None

    @property
    def settings(self) -> TelegramSettings:
        """The settings in use (the generated webhook secret included)."""
        return self._settings

    def run_forever(self) -> None:
        """Serve until :meth:`stop` (or a stop signal in the main thread); blocking."""
        self._thread = threading.current_thread()
        signals = self._handle_signals
        if signals is None:
            signals = self._thread is threading.main_thread()
        try:
            asyncio.run(self._serve(handle_signals=signals))
        finally:
            self._finished.set()

    def stop(self) -> None:
        """Ask the loop to end; from another thread, also wait for the clean shutdown."""
        with self._lock:
            self._stop_requested = True
            loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: done anyway
                loop.call_soon_threadsafe(event.set)
        running_elsewhere = (
            self._thread is not None and self._thread is not threading.current_thread()
        )
        if running_elsewhere:
            self._finished.wait(STOP_WAIT_S)

    def wait_ready(self, *, timeout: float) -> bool:
        """Block until the bot receives updates (or ``timeout`` seconds pass)."""
        return self._ready.wait(timeout)

    def deliver(self, team: TeamKey, messages: Sequence[Outbound]) -> None:
        """Send messages nobody asked for (scheduled pings) from any other thread.

        The signature is that of ``bot.core.ports.Deliverers``, so the runner registers as
        it is. Blocks until they are sent, on the bot's own event loop so the rate
        limits hold. Dropped (logged) when the bot is not running.
        """
        with self._lock:
            loop, delivery = self._loop, self._delivery
        if loop is None or delivery is None or team.platform != PLATFORM:
            _LOG.warning("Telegram is not running; %d messages for a team dropped", len(messages))
            return
        if self._thread is threading.current_thread():
            raise RuntimeError("deliver() blocks; call it from another thread than the bot's")
        future = asyncio.run_coroutine_threadsafe(
            delivery.deliver(list(messages), origin=Origin()), loop
        )
        future.result(timeout=DELIVER_WAIT_S)

    # ------------------------------------------------------------------ loop

    async def _serve(self, *, handle_signals: bool) -> None:
        loop = asyncio.get_running_loop()
        stop_event = asyncio.Event()
        with self._lock:
            self._loop, self._stop_event = loop, stop_event
            if self._stop_requested:
                stop_event.set()
        if handle_signals:
            for signum in _STOP_SIGNALS:
                loop.add_signal_handler(signum, stop_event.set)
        try:
            await self._serve_until(stop_event)
        finally:
            if handle_signals:
                for signum in _STOP_SIGNALS:
                    loop.remove_signal_handler(signum)
            with self._lock:
                self._loop = self._stop_event = None

    async def _serve_until(self, stop_event: asyncio.Event) -> None:
        settings = self._settings
        webhook = settings.webhook_url is not None
        application = build_application(settings=settings, limits=self._limits, webhook=webhook)
        async with application:  # initialize (getMe) ... shutdown
            bot = application.bot
            self.roster.workspace = str(bot.id)
            delivery = Delivery(
                bot=bot,
                engine=self._engine,
                roster=self.roster,
                bot_username=bot.username,
                renderer=self._renderer,
            )
            with self._lock:
                self._delivery = delivery
            admins = AdminCache(roster=self.roster)
            Handlers(
                engine=self._engine, roster=self.roster, admins=admins, delivery=delivery
            ).register(application)
            await announce_commands(bot=bot)
            await application.start()
            try:
                if webhook:
                    await self._serve_webhook(application, stop_event)
                else:
                    await self._serve_polling(application, stop_event)
            finally:
                with self._lock:
                    self._delivery = None  # no scheduled delivery into a stopping bot
                await application.stop()
        _LOG.info("Telegram bot %s stopped", self.roster.workspace)

    async def _serve_polling(self, application: AnyApplication, stop_event: asyncio.Event) -> None:
        updater = application.updater
        if updater is None:  # pragma: no cover - built with an updater for polling
            raise RuntimeError("polling needs PTB's Updater")
        await updater.start_polling(
            timeout=self._poll_timeout_s, allowed_updates=list(ALLOWED_UPDATES)
        )
        _LOG.info("Telegram bot %s polling", self.roster.workspace)
        try:
            self._ready.set()
            await stop_event.wait()
        finally:
            await updater.stop()

    async def _serve_webhook(self, application: AnyApplication, stop_event: asyncio.Event) -> None:
        settings = self._settings
        server = WebhookServer(
            application=application,
            path=settings.webhook_path,
            secret=settings.webhook_secret,
            listen=settings.webhook_listen,
            port=settings.webhook_port,
        )
        server.start()
        try:
            self.webhook_port = server.port
            await application.bot.set_webhook(
                url=settings.webhook_url or "",
                secret_token=settings.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
            _LOG.info("Telegram bot %s serving its webhook", self.roster.workspace)
            self._ready.set()
            await stop_event.wait()
        finally:
            await server.stop()
