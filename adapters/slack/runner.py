"""The Slack adapter's main loop, in Socket Mode or HTTP mode by configuration.

The process runner builds it as ``SlackRunner(engine=, rosters=, environ=)``
(entry point ``quickscan.adapters``). The constructor reads the configuration
(failing with a clear message), checks the bot token (auth.test), registers the
Slack roster and gets a delivery dispatcher from the engine with this adapter's
:class:`~adapters.slack.sender.SlackSender`.

``run_forever`` starts the dispatcher, then connects or listens until
:meth:`stop` (or SIGTERM/SIGINT when it runs in the main thread). Stopping
closes intake first, so an event arriving now is left unacknowledged and Slack
delivers it again later; then the dispatcher finishes the sends in flight and
leaves everything else in the outbox for the next start. Nothing is lost and
nothing waits in memory.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType

from adapters.environment import revealed
from adapters.slack.assembly import DELIVERY_WORKERS, SHUTDOWN_GRACE_S, assemble
from adapters.slack.config import SlackConfig, SlackMode
from adapters.slack.http_server import EventsServer
from adapters.slack.rates import SlackRates
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry

logger = logging.getLogger(__name__)

_SIGNAL_POLL_S = 0.2


class SlackRunner:
    """Runs the Slack adapter around one engine (``bot.core.ports.PlatformRunner``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        rosters: RosterRegistry,
        environ: Mapping[str, str],
        rates: SlackRates | None = None,
        workers: int = DELIVERY_WORKERS,
        shutdown_grace_s: float = SHUTDOWN_GRACE_S,
    ) -> None:
        """Read the configuration and build the app; nothing listens or sends yet.

        Args:
            engine: The shared engine.
            rosters: Where the Slack roster is registered.
            environ: The environment with the ``SLACK_*`` variables.
            rates: Slack's limits as token buckets (tests raise them); by default
                Slack's figures, with ``SLACK_MESSAGES_PER_SECOND`` if set.
            workers: Sends at once (the dispatcher's threads).
            shutdown_grace_s: How long the sends in flight may take after stop.

        Raises:
            SlackConfigError: when the variables are incomplete.
        """
        self.config = SlackConfig.from_environ(environ=environ)
        self._grace = shutdown_grace_s
        parts = assemble(
            engine=engine, rosters=rosters, config=self.config, rates=rates, workers=workers
        )
        self.sender = parts.sender
        self._dispatcher = parts.dispatcher
        self._app = parts.app
        self._listeners = parts.listeners
        self._stopping = threading.Event()
        self._signalled = False
        self._ready = threading.Event()
        self._server: EventsServer | None = None

    # ---------------------------------------------------------------- control

    def run_forever(self) -> None:
        """Serve until :meth:`stop` (or SIGTERM/SIGINT in the main thread)."""
        restore = self._install_signal_handlers()
        self._dispatcher.start()
        close: Callable[[], None]
        try:
            if self.config.mode is SlackMode.HTTP:
                server = EventsServer(
                    app=self._app,
                    secret=revealed(self.config.signing_secret),
                    host=self.config.host,
                    port=self.config.port,
                )
                self._server = server
                server.start()
                close = server.close
            else:
                close = self._connect_socket_mode()
            try:
                self._ready.set()
                self._wait()
            finally:
                # Intake first: what arrives from now on stays unacknowledged (redelivered).
                self._listeners.close()
                close()
        finally:
            finished = self._dispatcher.stop(timeout=self._grace)
            restore()
            logger.info("Slack adapter stopped (sends in flight finished: %s)", finished)

    def stop(self) -> None:
        """Ask :meth:`run_forever` to end; safe from any thread, more than once."""
        self._stopping.set()

    # ----------------------------------------------------- tests & operations

    def wait_ready(self, *, timeout: float) -> bool:
        """Wait until the adapter accepts events (the HTTP port is bound)."""
        return self._ready.wait(timeout=timeout)

    @property
    def address(self) -> tuple[str, int]:
        """HTTP mode: the bound host and port (after :meth:`wait_ready`)."""
        if self._server is None:
            raise RuntimeError("not serving HTTP")
        return self._server.address

    # ---------------------------------------------------------------- helpers

    def _connect_socket_mode(self) -> Callable[[], None]:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app=self._app, app_token=revealed(self.config.app_token))
        try:
            handler.connect()  # apps.connections.open: a wrong app token fails here
        except BaseException:
            handler.close()
            raise
        logger.info("Slack Socket Mode connected")
        return handler.close

    def _wait(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self._stopping.wait()
            return
        # A signal handler must not take locks (Event.set does), so it only sets a
        # flag and the main thread polls it.
        while not self._stopping.wait(timeout=_SIGNAL_POLL_S):
            if self._signalled:
                return

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self._signalled = True

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore
