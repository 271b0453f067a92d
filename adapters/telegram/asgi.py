"""Telegram's webhook inside ``quickscan serve``: a route of the one ASGI application.

The route answers exactly as the webhook server of ``quickscan run`` does
(:func:`adapters.telegram.webhook.accept`): 403 unless the secret header matches
(constant time), 415 unless JSON, 400 when it is no update, and 200 only after
the intake handled the update, 503 while stopping, so Telegram sends an update
that was not handled again. A body announced or streamed beyond the cap gets
413 and is not read further.

The PTB Bot is initialized on the server's event loop when the server starts
(:meth:`TelegramWeb.start`): its HTTP client, the intake's lanes and the
sender's hand-over all belong to that loop. Then the webhook is registered with
its secret and the delivery dispatcher starts. Every replica registers the same
URL (the load balancer's), so a second one changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from http import HTTPStatus

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.telegram.assembly import (
    DEFAULT_WORKERS,
    INTAKE_STOP_S,
    Online,
    TelegramAssembly,
)
from adapters.telegram.settings import TelegramConfigError, TelegramLimits
from adapters.telegram.webhook import MAX_BODY_BYTES, SECRET_HEADER, accept, register_webhook
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry

_LOG = logging.getLogger(__name__)


class TelegramWeb:
    """The Telegram adapter as ``quickscan serve`` hosts it (see ``adapters.startup.web``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        rosters: RosterRegistry,
        environ: Mapping[str, str],
        limits: TelegramLimits | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        """Read the settings and register the roster; nothing is served or sent yet.

        ``TELEGRAM_WEBHOOK_LISTEN`` and ``TELEGRAM_WEBHOOK_PORT`` are not used:
        the server's address is ``quickscan serve``'s own.

        Raises:
            TelegramConfigError: a variable is wrong, or ``TELEGRAM_WEBHOOK_URL``
                is missing (long polling runs with ``quickscan run``).
        """
        self._assembly = TelegramAssembly(
            engine=engine, rosters=rosters, environ=environ, limits=limits, workers=workers
        )
        settings = self._assembly.settings
        if settings.webhook_url is None:
            raise TelegramConfigError(
                "quickscan serve receives Telegram's updates on its webhook: set "
                "TELEGRAM_WEBHOOK_URL (the public https URL that reaches this server); "
                "long polling runs with quickscan run."
            )
        self._secret = settings.webhook_secret.get_secret_value().encode()
        self._stack = AsyncExitStack()
        self._online: Online | None = None
        self._routes: tuple[BaseRoute, ...] = (
            Route(settings.webhook_path, self._receive, methods=["POST"]),
        )

    @property
    def routes(self) -> Sequence[BaseRoute]:
        """The webhook's path, taken from ``TELEGRAM_WEBHOOK_URL``."""
        return self._routes

    async def start(self) -> None:
        """Bring the Bot online (getMe), start delivering, then register the webhook."""
        online = await self._stack.enter_async_context(self._assembly.online())
        try:
            await register_webhook(bot=online.bot, settings=self._assembly.settings)
        except BaseException:
            await self._stack.aclose()  # not started: nothing may stay running
            raise
        self._online = online
        _LOG.info("Telegram bot %s serving its webhook", self._assembly.roster.workspace)

    async def close_intake(self) -> None:
        """Take no new update (503); let the updates in hand finish (or stay unconfirmed)."""
        if self._online is not None:
            await self._online.intake.close(grace_s=INTAKE_STOP_S)

    async def stop(self) -> None:
        """Let the sends in flight finish and shut the Bot down."""
        self._online = None
        await self._stack.aclose()

    async def _receive(self, request: Request) -> Response:
        """One POSTed update: refused, or answered once it was handled."""
        online = self._online
        if online is None:  # not started yet, or stopped: Telegram tries again
            return Response(status_code=HTTPStatus.SERVICE_UNAVAILABLE)
        announced = request.headers.get("content-length", "0")
        if not (announced.isascii() and announced.isdigit()):
            return _closing(HTTPStatus.BAD_REQUEST)
        if int(announced) > MAX_BODY_BYTES:
            return _closing(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        body = bytearray()
        try:
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > MAX_BODY_BYTES:
                    return _closing(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        except ClientDisconnect:
            return Response(status_code=HTTPStatus.BAD_REQUEST)  # nobody is left to read it
        status = await accept(
            bot=online.bot,
            intake=online.intake,
            secret=self._secret,
            given=request.headers.get(SECRET_HEADER, ""),
            content_type=request.headers.get("content-type", ""),
            body=bytes(body),
        )
        return Response(status_code=status)


def _closing(status: HTTPStatus) -> Response:
    """A refusal that closes the connection: the unread rest of the body must not be parsed."""
    return Response(status_code=status, headers={"Connection": "close"})
