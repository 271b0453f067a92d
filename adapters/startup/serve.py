"""``quickscan serve``: every configured platform in one ASGI application under uvicorn.

One Starlette application hosts Slack's request URL and Telegram's webhook (the
adapters of :mod:`adapters.startup.web`) next to /healthz, /readyz and /metrics
(:mod:`adapters.startup.web_health`). uvicorn accepts the connections on an
event loop with a deep listen backlog, so a burst of requests queues instead of
being reset, and several identical processes behind a load balancer share one
PostgreSQL database (nothing here keeps state another replica would need).

Start (the application's lifespan): every adapter starts (tokens checked,
webhook registered, delivery dispatcher running), then the ping scheduler.
Nothing is accepted before that is done. Stop (SIGTERM or SIGINT, or
:meth:`WebService.stop`):

1. intake closes at once: from the signal on, a new platform request gets 503,
   so the platform delivers it again (to another replica, or after the restart);
2. uvicorn stops listening and lets the requests in hand finish (at most
   :data:`GRACE_S`);
3. each adapter closes its intake, the scheduler stops, and each dispatcher
   finishes its sends in flight; the rest stays in the outbox;
4. the process exits 0.

uvicorn's own logging configuration is off (``log_config=None``): its loggers
go through the bot's logging set-up like every other library's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from types import FrameType
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.startup.web import WebAdapter, build_web_adapters
from adapters.startup.web_health import UNAVAILABLE, health_routes
from bot.calendar.scheduling import PingScheduler
from bot.core.engine import Engine
from bot.core.logging_setup import log_failure
from bot.core.ports import RosterRegistry

BACKLOG = 2048  # connections the kernel queues while the loop is busy (a burst of events)
GRACE_S = 20  # requests in hand at the stop get this long to finish
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_LOG = logging.getLogger(__name__)


class Timer(Protocol):
    """The ping scheduler as the server starts and stops it (``PingScheduler``)."""

    def start(self) -> None:
        """Start firing pings (and catch up on those missed)."""
        ...

    def stop(self) -> None:
        """Stop firing; safe more than once."""
        ...


class StartupError(RuntimeError):
    """An adapter or the scheduler failed to start; the log says which and why."""


class _Gate:
    """Whether platform requests are still taken; closed once, at the stop.

    Closed from a signal handler too, so closing only sets a plain attribute
    (no lock may be taken there).
    """

    def __init__(self) -> None:
        self.open = True

    def close(self) -> None:
        self.open = False


class _Gated:
    """Answers 503 instead of passing a request on once the gate is closed."""

    def __init__(self, app: ASGIApp, gate: _Gate) -> None:
        self._app = app
        self._gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._gate.open:
            refusal = PlainTextResponse(
                "stopping", status_code=UNAVAILABLE, headers={"Connection": "close"}
            )
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)


class _Server(uvicorn.Server):
    """uvicorn's server, closing the gate on a stop signal and exiting 0 after it.

    uvicorn raises the stop signal again once it has shut down, which would end
    the process by that signal; a deploy expects exit status 0 after a clean stop.
    """

    def __init__(self, config: uvicorn.Config, *, gate: _Gate, started: threading.Event) -> None:
        super().__init__(config)
        self._gate = gate
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then tell :meth:`WebService.wait_ready` it accepts."""
        await super().startup(sockets=sockets)
        if self.started:
            self._started.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """A stop signal: refuse platform requests from now on, then stop as uvicorn does."""
        self._gate.close()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Handle the stop signals while serving (main thread only); never re-raise them."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class WebService:
    """The application and its server, bound to its address on construction."""

    def __init__(
        self,
        *,
        engine: Engine,
        adapters: Sequence[WebAdapter],
        scheduler: Timer,
        host: str,
        port: int,
        grace_s: int = GRACE_S,
    ) -> None:
        """Build the application and bind ``host:port`` (0: a free port); nothing runs yet.

        Raises:
            OSError: the address cannot be bound (in use, or not this host's).
        """
        self._adapters = tuple(adapters)
        self._scheduler = scheduler
        self._gate = _Gate()
        self._started = threading.Event()
        platform_routes = [route for adapter in self._adapters for route in adapter.routes]
        self.app = Starlette(
            routes=[
                *health_routes(
                    database=engine.store.engine,
                    metrics=engine.metrics,
                    serving=lambda: self._gate.open,
                ),
                Mount("", app=_Gated(Router(routes=platform_routes), self._gate)),
            ],
            lifespan=self._lifespan,
        )
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            backlog=BACKLOG,
            lifespan="on",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=grace_s,
        )
        self._server = _Server(config, gate=self._gate, started=self._started)
        self._socket = _bind(host, port)

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def run(self) -> None:
        """Serve until :meth:`stop` or a stop signal (in the main thread); blocking.

        Raises:
            StartupError: an adapter or the scheduler did not start (logged).
        """
        try:
            self._server.run(sockets=[self._socket])
        except SystemExit:  # uvicorn's way to end when the lifespan's start failed
            raise StartupError("quickscan serve did not start; see the log") from None
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Refuse platform requests from now on and shut down as on SIGTERM; any thread."""
        self._gate.close()
        self._server.should_exit = True

    def wait_ready(self, *, timeout: float) -> bool:
        """Wait until the server accepts requests (everything started)."""
        return self._started.wait(timeout)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        started: list[WebAdapter] = []
        scheduling = False
        try:
            try:
                for adapter in self._adapters:
                    await adapter.start()
                    started.append(adapter)
                await asyncio.to_thread(self._scheduler.start)
                scheduling = True
            except Exception as error:  # broad on purpose: any failure ends the start
                log_failure(_LOG, "starting quickscan serve", error)
                raise StartupError("quickscan serve did not start; see the log") from None
            _LOG.info("quickscan serve started (%d platforms)", len(started))
            yield
        finally:
            self._gate.close()
            await _each(started, lambda adapter: adapter.close_intake())
            if scheduling:
                await asyncio.to_thread(self._scheduler.stop)
            await _each(reversed(started), lambda adapter: adapter.stop())
            _LOG.info("quickscan serve stopped")


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``, not listening yet (uvicorn listens once started).

    Bound here rather than by uvicorn, which ends the process when binding fails:
    the caller reports the address instead.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def _each(
    adapters: Iterable[WebAdapter], step: Callable[[WebAdapter], Awaitable[None]]
) -> None:
    """Run ``step`` for every adapter; one failing does not keep the others running."""
    for adapter in adapters:
        try:
            await step(adapter)
        except Exception as error:  # broad on purpose: the others must still stop
            log_failure(_LOG, "stopping an adapter", error)


def serve(
    *,
    engine: Engine,
    rosters: RosterRegistry,
    platforms: Sequence[str],
    host: str,
    port: int,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``quickscan serve`` on an engine the caller built (and closes); the exit status.

    0 after a stop signal; 2 when a platform's configuration is incomplete or
    the address cannot be bound (the reason on stderr, naming the variable);
    1 when an adapter did not start (the reason in the log).
    """
    try:
        adapters = build_web_adapters(
            platforms=platforms, engine=engine, rosters=rosters, environ=environ
        )
        service = WebService(
            engine=engine,
            adapters=adapters,
            scheduler=PingScheduler(engine=engine),
            host=host,
            port=port,
        )
    except ValueError as error:  # an incomplete Slack/Telegram configuration
        sys.stderr.write(f"quickscan: {error}\n")
        return 2
    except OSError as error:  # the address is in use or not this host's
        sys.stderr.write(f"quickscan: cannot listen on {host}:{port} ({error.strerror})\n")
        return 2
    _LOG.info("quickscan serve on %s:%d for %s", *service.address, ", ".join(platforms))
    try:
        service.run()
    except StartupError as error:
        sys.stderr.write(f"quickscan: {error}\n")
        return 1
    return 0
