"""The webhook endpoint: Telegram POSTs updates here, authenticated by a secret header.

PTB's own webhook server compares the secret token with ``!=``, which leaks its
length of common prefix through timing, and answers 200 as soon as the update is
queued in memory, so a crash before it was handled loses it. This small tornado
server compares in constant time (:func:`hmac.compare_digest`) and answers only
after the update was handled (``adapters.telegram.intake``): 200 then, 503 when
the bot is stopping, so Telegram sends the update again to the next process.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
from http import HTTPStatus

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, Update

from adapters.telegram.intake import Intake

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_BODY_BYTES = 1024 * 1024  # updates are a few kilobytes; refuse anything absurd
_LOG = logging.getLogger(__name__)


class _UpdateHandler(tornado.web.RequestHandler):
    """One POSTed update: checked, parsed and handled; nothing else is served."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, *, bot: Bot, intake: Intake, secret: str) -> None:
        """Take the route's arguments (tornado calls this for every request)."""
        self._bot = bot
        self._intake = intake
        self._secret = secret.encode()

    async def post(self) -> None:
        """Handle the update and then confirm it, or refuse it without looking at it."""
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self.set_status(HTTPStatus.FORBIDDEN)
            return
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            self.set_status(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self._bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            _LOG.warning("webhook received an update that does not parse")
            self.set_status(HTTPStatus.BAD_REQUEST)
            return
        handled = await self._intake.process(update)
        self.set_status(HTTPStatus.OK if handled else HTTPStatus.SERVICE_UNAVAILABLE)


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Status only, at debug level: the access log never shows headers or bodies."""
    _LOG.debug("webhook %s %s", handler.request.method, handler.get_status())


class WebhookServer:
    """Serves the webhook path on ``listen:port`` until stopped."""

    def __init__(
        self, *, bot: Bot, intake: Intake, path: str, secret: str, listen: str, port: int
    ) -> None:
        route = rf"{re.escape(path.rstrip('/'))}/?"
        arguments = {"bot": bot, "intake": intake, "secret": secret}
        app = tornado.web.Application(
            [(route, _UpdateHandler, arguments)],
            log_function=_log_request,
        )
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY_BYTES)
        self._listen = listen
        self._port = port
        self._sockets: list[socket.socket] = []

    @property
    def port(self) -> int:
        """The port actually bound (differs from the configured one when that was 0)."""
        if not self._sockets:
            return self._port
        bound: int = self._sockets[0].getsockname()[1]
        return bound

    def start(self) -> None:
        """Bind and serve (must run on the event loop)."""
        self._sockets = tornado.netutil.bind_sockets(self._port, address=self._listen)
        self._server.add_sockets(self._sockets)

    def stop_accepting(self) -> None:
        """Accept no new connections; requests in hand go on (their updates finish)."""
        self._server.stop()

    async def close(self) -> None:
        """Close the connections left (after the updates in hand were finished)."""
        self._server.stop()
        await self._server.close_all_connections()
