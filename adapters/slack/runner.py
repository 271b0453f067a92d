"""The Slack adapter's main loop, in Socket Mode or HTTP mode by configuration.

``bot/runner.py`` builds it as ``SlackRunner(engine=, rosters=, environ=)``. The
constructor reads the configuration (failing with a clear message), checks the
bot token (auth.test) and registers the Slack roster; ``run_forever`` connects
or listens until :meth:`stop` or SIGTERM/SIGINT, then lets queued deliveries
finish for a moment and closes everything it opened.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import FrameType

from slack_bolt import App

from adapters.slack.app import Listeners
from adapters.slack.client import make_web_client
from adapters.slack.config import PLATFORM, SlackConfig, SlackMode
from adapters.slack.delivery import Delivery
from adapters.slack.events import Origin
from adapters.slack.http_server import EventsServer
from adapters.slack.pacing import Pacer, PacingIntervals
from adapters.slack.roster import Directory, SlackRoster
from adapters.slack.texts import team_texts
from adapters.slack.worker import Worker
from bot.core.engine import Engine
from bot.core.logging_setup import cap_library_loggers
from bot.core.ports import RosterRegistry
from conversations.core.i18n import Catalogue
from conversations.core.messages import Outbound
from storage.keys import TeamKey

logger = logging.getLogger(__name__)

WORKER_THREADS = 8
SHUTDOWN_GRACE_S = 15.0  # queued deliveries get this long to finish on stop
_SIGNAL_POLL_S = 0.2


class SlackRunner:
    """Runs the Slack adapter around one engine (``bot.core.ports.PlatformRunner``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        rosters: RosterRegistry,
        environ: Mapping[str, str],
        pacing: PacingIntervals | None = None,
        worker_threads: int = WORKER_THREADS,
        shutdown_grace_s: float = SHUTDOWN_GRACE_S,
    ) -> None:
        """Read the configuration and build the app; nothing listens yet.

        Args:
            engine: The shared engine.
            rosters: Where the Slack roster is registered.
            environ: The environment with the ``SLACK_*`` variables.
            pacing: Intervals between new messages (tests pass none at all).
            worker_threads: Background threads for work after the ack.
            shutdown_grace_s: How long queued deliveries may take after stop.

        Raises:
            SlackConfigError: when the variables are incomplete.
        """
        self.config = SlackConfig.from_environ(environ=environ)
        cap_library_loggers("slack_sdk", "slack_bolt", "urllib3", "websocket")
        self._grace = shutdown_grace_s
        self._client = make_web_client(config=self.config)
        directory = Directory(client=self._client)
        rosters.register(
            platform=PLATFORM, roster=SlackRoster(client=self._client, directory=directory)
        )
        self._worker = Worker(threads=worker_threads)

        def texts(workspace: str, team: str) -> Catalogue:
            return team_texts(engine=engine, workspace=workspace, team=team)

        self._delivery = delivery = Delivery(
            client=self._client,
            engine=engine,
            pacer=Pacer(intervals=pacing or PacingIntervals()),
            mentions=directory.known,
            texts=texts,
            api_url=self.config.api_url,
        )
        http = self.config.mode is SlackMode.HTTP
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-bolt")
        self._app = App(
            client=self._client,
            signing_secret=self.config.signing_secret or "",
            # HTTP: the listener only acks and queues, so Bolt may answer after it;
            # Socket Mode: ack first, as Bolt recommends.
            process_before_response=http,
            request_verification_enabled=http,
            listener_executor=self._executor,
            logger=logging.getLogger("slack_bolt.App"),
        )
        Listeners(
            engine=engine,
            client=self._client,
            delivery=delivery,
            directory=directory,
            worker=self._worker,
        ).register(self._app)
        self._stopping = threading.Event()
        self._signalled = False
        self._ready = threading.Event()
        self._server: EventsServer | None = None

    # ---------------------------------------------------------------- control

    def run_forever(self) -> None:
        """Serve until :meth:`stop` (or SIGTERM/SIGINT in the main thread)."""
        restore = self._install_signal_handlers()
        self._worker.start()
        close: Callable[[], None]
        try:
            if self.config.mode is SlackMode.HTTP:
                server = EventsServer(
                    app=self._app,
                    secret=self.config.signing_secret or "",
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
                close()
        finally:
            self._worker.close(timeout=self._grace)
            self._executor.shutdown(wait=True, cancel_futures=True)
            restore()
            logger.info("Slack adapter stopped")

    def stop(self) -> None:
        """Ask :meth:`run_forever` to end; safe from any thread, more than once."""
        self._stopping.set()

    def deliver(self, team: TeamKey, messages: Sequence[Outbound]) -> None:
        """Send messages no Slack event asked for (scheduled pings) for ``team``.

        Queued on the worker like a fan-out, so the caller (a scheduler thread)
        never waits for Slack; the messages go out paced once the adapter runs.
        """
        origin = Origin(workspace=team.workspace, user="")
        job = partial(self._delivery.deliver, list(messages), origin=origin)
        self._worker.submit(key=f"fan-out:{team.workspace}:{team.team}", job=job)

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

    def wait_idle(self, *, timeout: float) -> bool:
        """Wait until every queued piece of work (deliveries included) is done."""
        return self._worker.wait_idle(timeout=timeout)

    # ---------------------------------------------------------------- helpers

    def _connect_socket_mode(self) -> Callable[[], None]:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app=self._app, app_token=self.config.app_token)
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
