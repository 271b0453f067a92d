"""The operator's endpoints of ``quickscan serve``: /healthz, /readyz and /metrics.

* ``/healthz`` (liveness): 200 ``ok`` while the process serves; 503 once it is
  stopping, so an orchestrator sees the stop and sends no more.
* ``/readyz`` (readiness): 200 only when the database answers and its schema is
  at the migrations' head (``storage.health.database_ready``), so a load
  balancer sends events only to replicas that can commit them. The reason is
  content-free (never a URL or host). The check blocks on the database, so it
  runs in a worker thread and gets a deadline of its own: a database that
  drops packets answers 503 in time instead of holding the probe.
* ``/metrics``: prometheus-client's ASGI app on the engine's own registry.

Every replica answers for itself; none of these is cached in the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import make_asgi_app
from sqlalchemy.engine import Engine as DatabaseEngine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.core.metrics import Metrics
from storage.health import database_ready

READY_TIMEOUT_S = 5.0  # a probe's own deadline; orchestrators usually wait a few seconds
UNAVAILABLE = 503


def health_routes(
    *, database: DatabaseEngine, metrics: Metrics, serving: Callable[[], bool]
) -> list[BaseRoute]:
    """The three routes; ``serving`` says whether the process still takes requests."""

    async def healthz(request: Request) -> Response:
        if not serving():
            return PlainTextResponse("stopping", status_code=UNAVAILABLE)
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if not serving():
            return PlainTextResponse("stopping", status_code=UNAVAILABLE)
        try:
            readiness = await asyncio.wait_for(
                run_in_threadpool(database_ready, engine=database), READY_TIMEOUT_S
            )
        except TimeoutError:
            return PlainTextResponse("database check timed out", status_code=UNAVAILABLE)
        status = 200 if readiness.ok else UNAVAILABLE
        return PlainTextResponse(readiness.reason, status_code=status)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", _Asgi(make_asgi_app(registry=metrics.registry)), methods=["GET"]),
    ]


class _Asgi:
    """An ASGI callable as a route's endpoint: Starlette calls a plain function with a request."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
