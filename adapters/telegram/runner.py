"""``TelegramRunner``: the Telegram adapter's main loop, polling or webhook.

The process runner builds it as ``TelegramRunner(engine=, rosters=, environ=)``
(entry point ``quickscan.adapters``). ``run_forever`` owns an event loop
(``asyncio.run``) on which the PTB Bot makes its calls: the intake's (lookups,
answering presses) and the dispatcher's, whose worker threads hand their sends
to this loop (:class:`~adapters.telegram.delivery.TelegramSender`).

Stopping takes the intake down first: no new updates are fetched (or accepted
by the webhook), the updates in hand are finished and confirmed, and what was
not finished stays unconfirmed, so Telegram sends it again to the next process.
Then the dispatcher finishes the sends in flight and leaves the rest in the
outbox. Stop signals (SIGINT, SIGTERM) are handled here only when it runs in
the main thread; otherwise the process's runner calls :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Mapping

from telegram import Bot

from adapters.telegram.assembly import DEFAULT_WORKERS, INTAKE_STOP_S, TelegramAssembly
from adapters.telegram.intake import Intake
from adapters.telegram.polling import confirm, poll
from adapters.telegram.settings import TelegramLimits, TelegramSettings
from adapters.telegram.webhook import WebhookServer, register_webhook
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry

DEFAULT_POLL_TIMEOUT_S = 30  # long polling: one idle request per half minute
STOP_WAIT_S = 30.0  # how long stop() waits for a clean shutdown from another thread
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
        workers: int = DEFAULT_WORKERS,
        handle_signals: bool | None = None,
    ) -> None:
        """Read the settings and register the Telegram roster with the engine.

        Args:
            engine: The shared engine.
            rosters: Where the engine looks up team members per platform.
            environ: The TELEGRAM_* variables (see :mod:`adapters.telegram.settings`).
            limits: Flood limits; Telegram's published ones by default.
            poll_timeout_s: Long-polling timeout of getUpdates, in whole seconds.
            workers: Updates handled at once, and sends at once.
            handle_signals: Stop on SIGINT/SIGTERM; by default only when
                :meth:`run_forever` runs in the main thread.
        """
        self._assembly = TelegramAssembly(
            engine=engine, rosters=rosters, environ=environ, limits=limits, workers=workers
        )
        self._settings = self._assembly.settings
        self._poll_timeout_s = poll_timeout_s
        self._handle_signals = handle_signals
        self.roster = self._assembly.roster
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
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
        async with self._assembly.online() as online:
            # Each transport closes the intake before the block ends (the dispatcher stops).
            if self._settings.webhook_url is not None:
                await self._serve_webhook(online.bot, online.intake, stop_event)
            else:
                await self._serve_polling(online.bot, online.intake, stop_event)

    async def _serve_polling(self, bot: Bot, intake: Intake, stop_event: asyncio.Event) -> None:
        await bot.delete_webhook()  # getUpdates is refused while a webhook is set
        _LOG.info("Telegram bot %s polling", self.roster.workspace)
        self._ready.set()
        try:
            await poll(bot=bot, intake=intake, stop=stop_event, timeout_s=self._poll_timeout_s)
        finally:
            await intake.close(grace_s=INTAKE_STOP_S)
            await confirm(bot=bot, intake=intake)

    async def _serve_webhook(self, bot: Bot, intake: Intake, stop_event: asyncio.Event) -> None:
        settings = self._settings
        server = WebhookServer(
            bot=bot,
            intake=intake,
            path=settings.webhook_path,
            secret=settings.webhook_secret.get_secret_value(),
            listen=settings.webhook_listen,
            port=settings.webhook_port,
        )
        server.start()
        try:
            self.webhook_port = server.port
            await register_webhook(bot=bot, settings=settings)
            _LOG.info("Telegram bot %s serving its webhook", self.roster.workspace)
            self._ready.set()
            await stop_event.wait()
        finally:
            server.stop_accepting()
            await intake.close(grace_s=INTAKE_STOP_S)
            await server.close()
