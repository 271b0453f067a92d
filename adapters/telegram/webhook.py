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
from adapters.telegram.polling import ALLOWED_UPDATES
from adapters.telegram.settings import TelegramSettings

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
        status = await accept(
            bot=self._bot,
            intake=self._intake,
            secret=self._secret,
            given=self.request.headers.get(SECRET_HEADER, ""),
            content_type=self.request.headers.get("Content-Type", ""),
            body=self.request.body,
        )
        self.set_status(status)


async def accept(
    *, bot: Bot, intake: Intake, secret: bytes, given: str, content_type: str, body: bytes
) -> HTTPStatus:
    """The webhook's answer to one POSTed update, after handling it when it is genuine.

    403 unless the secret header matches (in constant time, before anything is
    parsed), 415 unless JSON, 400 when it is no update; otherwise the update is
    handled and the answer is 200, or 503 when the bot is stopping (Telegram
    then sends it again, to this process or another). Every webhook transport
    (this tornado server, ``adapters.telegram.asgi``) answers through here.
    """
    if not hmac.compare_digest(given.encode(), secret):
        return HTTPStatus.FORBIDDEN
    if content_type.split(";")[0].strip() != "application/json":
        return HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    try:
        update = Update.de_json(json.loads(body), bot)
    except (ValueError, TypeError, KeyError, AttributeError):
        _LOG.warning("webhook received an update that does not parse")
        return HTTPStatus.BAD_REQUEST
    handled = await intake.process(update)
    return HTTPStatus.OK if handled else HTTPStatus.SERVICE_UNAVAILABLE


async def register_webhook(*, bot: Bot, settings: TelegramSettings) -> None:
    """Ask Telegram to POST the updates the bot handles to the webhook URL, with the secret."""
    await bot.set_webhook(
        url=settings.webhook_url or "",
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=list(ALLOWED_UPDATES),
    )


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
