"""Slack's request URL inside ``quickscan serve``: Bolt's ASGI adapter behind the guard.

The threaded ``http.server`` of HTTP mode (:mod:`adapters.slack.http_server`)
dropped connections under a burst (60 requests at once gave 8 resets); here
uvicorn accepts the connections and Bolt's own ASGI adapter answers them. Two
things are added to that adapter:

* the same hostile-input guard as HTTP mode, before Bolt sees a byte: 413 for a
  body announced or streamed beyond the cap (reading stops there), then
  :func:`~adapters.slack.http_server.screen` (401 signature on the raw bytes,
  415 content type, 400 encoding and parse), so a forged request never reaches a
  parser and a malformed one never raises into the log;
* ``app.dispatch`` runs in a worker thread: the listener handles the event and
  commits it before the acknowledgement (handled before acknowledged), which
  blocks on the database, and the event loop must keep accepting meanwhile.

:class:`SlackWeb` is what ``quickscan serve`` hosts: the route, and the delivery
dispatcher it starts and stops with the server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

import anyio.to_thread
from anyio import CapacityLimiter
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from adapters.slack.assembly import DELIVERY_WORKERS, SHUTDOWN_GRACE_S, assemble
from adapters.slack.config import EVENTS_PATH, SlackConfig, SlackConfigError
from adapters.slack.http_server import MAX_BODY_BYTES, length_refusal, screen
from adapters.slack.rates import SlackRates
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry

logger = logging.getLogger(__name__)

# Events handled at once, each holding a database connection meanwhile. More threads
# only queue in the database (SQLite has one writer) and for the interpreter; a
# burst of 100 measured best around 8 (the others wait here, in arrival order).
LISTENER_THREADS = 8


class _Disconnected(Exception):
    """The client went away before its body was complete: nothing to answer."""


class GuardedRequestHandler(SlackRequestHandler):
    """Bolt's ASGI adapter with the guard in front and ``app.dispatch`` in a thread."""

    def __init__(
        self,
        app: App,
        *,
        secret: str,
        path: str = EVENTS_PATH,
        now: Callable[[], float] = time.time,
        threads: int = LISTENER_THREADS,
    ) -> None:
        """Answer ``path`` for ``app``; requests must be signed with ``secret`` near ``now``.

        Raises:
            ValueError: ``secret`` is empty (anyone could sign with it).
        """
        if not secret:
            raise ValueError("Slack's requests need the signing secret to be checked")
        super().__init__(app, path=path)
        self._secret = secret.encode("utf-8")
        self._now = now
        self._limiter = CapacityLimiter(threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Guard a POST to the events path; anything else is Bolt's (404, lifespan)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await super().__call__(dict(scope), receive, send)
            return
        headers = Headers(scope=scope)
        announced = headers.get("content-length")
        refusal = None if announced is None else length_refusal(announced)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        try:
            raw = await _read_capped(receive)
        except _Disconnected:
            return
        if raw is None:
            await _refuse(send, 413)
            return
        checked = screen(
            secret=self._secret,
            raw=raw,
            timestamp=headers.get("x-slack-request-timestamp", ""),
            signature=headers.get("x-slack-signature", ""),
            content_type=headers.get("content-type", ""),
            now=self._now(),
        )
        if isinstance(checked, int):
            await _refuse(send, checked)
            return
        await super().__call__(dict(scope), _replay(raw), send)

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        """Bolt's dispatch, in a worker thread (the listener commits before it returns)."""
        bolt_request = BoltRequest(
            body=await request.get_raw_body(),
            query=request.query_string,
            headers=request.get_headers(),
        )
        response: BoltResponse = await anyio.to_thread.run_sync(
            self.app.dispatch, bolt_request, limiter=self._limiter
        )
        return response


async def _read_capped(receive: Receive) -> bytes | None:
    """The whole body, or None once it grows past :data:`MAX_BODY_BYTES` (read no further).

    Raises:
        _Disconnected: the client left before the body was complete.
    """
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunks.extend(message.get("body", b""))
        if len(chunks) > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            return bytes(chunks)


def _replay(raw: bytes) -> Receive:
    """A ``receive`` that hands Bolt the body already read (and checked)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            # Bolt reads the body once; a second read means the client is gone.
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return receive


async def _refuse(send: Send, status: int) -> None:
    """An empty answer that also closes the connection: an unread body must not be parsed."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"0"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


class SlackWeb:
    """The Slack adapter as ``quickscan serve`` hosts it (see ``adapters.startup.web``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        rosters: RosterRegistry,
        environ: Mapping[str, str],
        rates: SlackRates | None = None,
        workers: int = DELIVERY_WORKERS,
        shutdown_grace_s: float = SHUTDOWN_GRACE_S,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Read the configuration and build the adapter; nothing is served or sent yet.

        ``SLACK_HOST`` and ``SLACK_PORT`` are not used: the server's address is
        ``quickscan serve``'s own.

        Raises:
            SlackConfigError: the variables are incomplete, or they choose Socket
                Mode, which ``quickscan run`` serves (no signing secret to check).
        """
        config = SlackConfig.from_environ(environ=environ)
        secret = config.signing_secret
        if secret is None:
            raise SlackConfigError(
                "quickscan serve takes Slack's requests over HTTP: set SLACK_SIGNING_SECRET "
                "(and SLACK_MODE=http when SLACK_APP_TOKEN is set as well); Socket Mode "
                "runs with quickscan run."
            )
        self._grace = shutdown_grace_s
        self._parts = assemble(
            engine=engine, rosters=rosters, config=config, rates=rates, workers=workers
        )
        handler = GuardedRequestHandler(
            self._parts.app, secret=secret.get_secret_value(), path=EVENTS_PATH, now=now
        )
        self._routes: tuple[BaseRoute, ...] = (Route(EVENTS_PATH, handler, methods=["POST"]),)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        """Slack's request URL, ``/slack/events``."""
        return self._routes

    async def start(self) -> None:
        """Start delivering the outbox's Slack rows."""
        self._parts.dispatcher.start()
        logger.info("Slack events served at %s", EVENTS_PATH)

    async def close_intake(self) -> None:
        """Acknowledge nothing from now on: an event arriving now is redelivered by Slack."""
        self._parts.listeners.close()

    async def stop(self) -> None:
        """Let the sends in flight finish; the rest stays in the outbox for the next start."""
        finished = await asyncio.to_thread(self._parts.dispatcher.stop, timeout=self._grace)
        logger.info("Slack delivery stopped (sends in flight finished: %s)", finished)
