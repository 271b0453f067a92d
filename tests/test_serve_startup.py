"""``quickscan serve`` when it cannot serve: readiness, start-up failures, a taken address.

/readyz answers 503 with a content-free reason when the database is away or
not migrated; an adapter that cannot start (a wrong token) ends ``serve`` with
status 1 and a log line without the token; an address in use ends it with
status 2 and the address on stderr; only platforms with a web adapter are hosted.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message

from adapters.startup.runners import UnknownAdapterError
from adapters.startup.serve import serve
from adapters.startup.web import build_web_adapters, registered_web_adapters
from adapters.startup.web_health import health_routes
from bot.core.engine import Engine
from bot.core.metrics import Metrics
from bot.core.ports import RosterRegistry
from conversations.instrument import load_instruments
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.fakes.telegram import FakeTelegram

WEBHOOK_URL = "http://127.0.0.1:1/telegram/hook"


@pytest.fixture
def rosters() -> RosterRegistry:
    return RosterRegistry()


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock, rosters: RosterRegistry) -> Iterator[Engine]:
    """An engine on a fresh SQLite file, closed after the test."""
    store = Store.open(url=f"sqlite:///{tmp_path / 'quickscan.sqlite3'}")
    try:
        yield Engine(
            store=store,
            instruments=load_instruments(),
            roster=rosters,
            clock=clock,
            output_dir=tmp_path,
        )
    finally:
        store.close()


def call(app: ASGIApp, method: str, path: str, *, body: bytes = b"") -> tuple[int, str]:
    """One request straight into an ASGI application (no socket): status and body text."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[Message] = []
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, content.decode()


def test_readyz_is_503_when_the_database_is_unreachable_or_not_migrated(
    tmp_path: Path,
) -> None:
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/quickscan")
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        for database, reason in [
            (unreachable, "database unreachable"),
            (empty, "migrations behind: none != "),
        ]:
            routes = health_routes(database=database, metrics=Metrics(), serving=lambda: True)
            app = Starlette(routes=routes)
            status, content = call(app, "GET", "/readyz")
            assert status == 503
            assert content.startswith(reason)
            assert "127.0.0.1" not in content
            assert call(app, "GET", "/healthz") == (200, "ok")
    finally:
        unreachable.dispose()
        empty.dispose()


def test_serve_hosts_the_installed_web_adapters_only(
    engine: Engine, rosters: RosterRegistry
) -> None:
    known = registered_web_adapters()
    for platform in ("slack", "telegram"):
        factory = known[platform].load()
        parameters = inspect.signature(factory).parameters
        for name in ("engine", "rosters", "environ"):
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, (platform, name)
        for step in ("start", "close_intake", "stop"):
            assert inspect.iscoroutinefunction(getattr(factory, step)), (platform, step)
        assert isinstance(inspect.getattr_static(factory, "routes"), property), platform
    with pytest.raises(UnknownAdapterError, match="console"):
        build_web_adapters(platforms=["console"], engine=engine, rosters=rosters, environ={})


def test_an_adapter_that_cannot_start_ends_serve_with_status_1(
    engine: Engine,
    rosters: RosterRegistry,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeTelegram() as telegram:
        environ = {
            "TELEGRAM_BOT_TOKEN": "7000001:not-the-token",  # getMe answers 401
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
        }
        status = serve(
            engine=engine,
            rosters=rosters,
            platforms=["telegram"],
            host="127.0.0.1",
            port=0,
            environ=environ,
        )
    assert status == 1
    assert "quickscan serve did not start" in capsys.readouterr().err
    (failure,) = [r for r in caplog.records if "starting quickscan serve failed" in r.message]
    assert "InvalidToken" in failure.message
    assert "not-the-token" not in caplog.text
    assert telegram.calls_of("setWebhook") == []


def test_an_address_in_use_ends_serve_with_status_2(
    engine: Engine, rosters: RosterRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"TELEGRAM_BOT_TOKEN": "7000001:token", "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = serve(
            engine=engine,
            rosters=rosters,
            platforms=["telegram"],
            host="127.0.0.1",
            port=port,
            environ=environ,
        )
    assert status == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
