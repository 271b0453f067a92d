"""``quickscan serve``: Slack and Telegram in one ASGI application under uvicorn (issue 11).

The real adapters (:class:`~adapters.slack.asgi.SlackWeb`,
:class:`~adapters.telegram.asgi.TelegramWeb`) run in one
:class:`~adapters.startup.serve.WebService` on a free port, in a thread of the
test, against the fake Slack and the fake Telegram, on SQLite and PostgreSQL:
the operator's endpoints, the hostile-input guard of both platforms, and the
stop. The burst of 100 simultaneous requests per platform and SIGTERM run
against a ``quickscan serve`` process (tests/test_serve_process.py).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.slack.asgi import SlackWeb
from adapters.slack.http_server import MAX_BODY_BYTES
from adapters.slack.rates import SlackRates
from adapters.startup.serve import WebService
from adapters.telegram.asgi import TelegramWeb
from bot.calendar.scheduling import PingScheduler
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.instrument import load_instruments
from storage.delivery.outbox import OutboxStore
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.fakes.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    RunningClock,
    SlackTeam,
    add_school,
    wait_delivered,
)
from tests.fakes.telegram import FAST_LIMITS, FakeTelegram, free_port
from tests.test_serve_process import FIRST_TELEGRAM_USER, GROUP, MEMBERS, WEBHOOK_PATH
from tests.test_serve_startup import call

WAIT_S = 30.0


@dataclass
class Served:
    """``quickscan serve`` running, and the fakes on the other side."""

    service: WebService
    slack: FakeSlack
    telegram: FakeTelegram
    team: SlackTeam
    members: dict[str, str]
    store: Store
    engine: Engine

    @property
    def address(self) -> tuple[str, int]:
        return self.service.address


@contextmanager
def serving(*, database_url: str, clock: FakeClock, output_dir: Path) -> Iterator[Served]:
    """Start the fakes and ``quickscan serve`` with both platforms; stop it all afterwards."""
    with FakeSlack() as slack, FakeTelegram() as telegram:
        ids = add_school(slack, MEMBERS)
        telegram.add_group(GROUP, title="Team", admins=(FIRST_TELEGRAM_USER,))
        store = Store.open(url=database_url)
        rosters = RosterRegistry()
        engine = Engine(
            store=store,
            instruments=load_instruments(),
            roster=rosters,
            clock=RunningClock(clock),
            output_dir=output_dir,
        )
        port = free_port()
        environ = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
        }
        adapters = [
            SlackWeb(engine=engine, rosters=rosters, environ=environ, rates=SlackRates.generous()),
            TelegramWeb(engine=engine, rosters=rosters, environ=environ, limits=FAST_LIMITS),
        ]
        service = WebService(
            engine=engine,
            adapters=adapters,
            scheduler=PingScheduler(engine=engine),
            host="127.0.0.1",
            port=port,
        )
        errors: list[BaseException] = []

        def run() -> None:
            try:
                service.run()
            except BaseException as error:  # handed to the test, which fails on it
                errors.append(error)

        thread = threading.Thread(target=run, name="quickscan-serve")
        thread.start()
        outbox = OutboxStore(engine=store.engine, cipher=store.cipher)
        try:
            assert service.wait_ready(timeout=WAIT_S), errors
            team = SlackTeam(
                fake=slack, address=service.address, wait_idle=lambda: wait_delivered(outbox)
            )
            members = dict(zip(MEMBERS, ids, strict=True))
            yield Served(
                service=service,
                slack=slack,
                telegram=telegram,
                team=team,
                members=members,
                store=store,
                engine=engine,
            )
        finally:
            service.stop()
            thread.join(WAIT_S)
            store.close()
        assert not thread.is_alive(), "quickscan serve did not stop"
        assert errors == []


@pytest.fixture
def served(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Served]:
    with serving(database_url=database_url, clock=clock, output_dir=tmp_path) as running:
        yield running


def request(
    address: tuple[str, int],
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    """One plain request: status, body text and headers (lower-case names)."""
    connection = http.client.HTTPConnection(*address, timeout=WAIT_S)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read().decode("utf-8", "replace")
        return response.status, content, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_operator_endpoints(served: Served) -> None:
    assert request(served.address, "GET", "/healthz")[:2] == (200, "ok")
    assert request(served.address, "GET", "/readyz")[:2] == (200, "ready")
    anna = served.members["anna"]
    assert served.team.command(anna, "help").status == 200
    status, content, headers = request(served.address, "GET", "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    for name in (
        "quickscan_events_total",
        "quickscan_answer_latency_seconds_bucket",
        "quickscan_deliveries_total",
        "quickscan_outbox_pending",
    ):
        assert f"\n{name}" in content, name
    assert 'platform="slack"' in content
    assert request(served.address, "GET", "/nothing-here")[0] == 404


def test_readyz_says_so_when_the_schema_is_behind(served: Served) -> None:
    with served.store.engine.begin() as connection:
        (head,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        status, reason, _headers = request(served.address, "GET", "/readyz")
        assert (status, reason) == (503, f"migrations behind: 0001 != {head}")
        assert request(served.address, "GET", "/healthz")[0] == 200  # alive all the same
    finally:
        with served.store.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
    assert request(served.address, "GET", "/readyz")[0] == 200


def slack_post(
    served: Served,
    body: bytes,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    signed: bool = True,
) -> int:
    """POST raw bytes to Slack's request URL, signed on those bytes unless told otherwise."""
    headers = {"Content-Type": content_type}
    if signed:
        stamp = str(int(time.time()))
        base = b"v0:" + stamp.encode() + b":" + body
        digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
        headers.update({"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest})
    return request(served.address, "POST", "/slack/events", body=body, headers=headers)[0]


def announce_only(served: Served, path: str, *, length: str, headers: dict[str, str]) -> int:
    """Headers announcing a body of ``length`` bytes, and no body: answered before it comes."""
    connection = http.client.HTTPConnection(*served.address, timeout=WAIT_S)
    try:
        connection.putrequest("POST", path)
        for name, value in {**headers, "Content-Length": length}.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def slack_post_chunked(served: Served, size: int) -> int:
    """POST a chunked body of ``size`` bytes (no Content-Length announced)."""
    connection = http.client.HTTPConnection(*served.address, timeout=WAIT_S)
    try:
        chunk = b"x" * 65536

        def chunks() -> Iterator[bytes]:
            for _ in range(size // len(chunk)):
                yield chunk

        connection.request(
            "POST",
            "/slack/events",
            body=chunks(),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        return connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError):  # refused while still sending: fine too
        return 413
    finally:
        connection.close()


def test_hostile_requests_are_refused_quietly(
    served: Served, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    form = b"command=/quickscan&text=start"
    assert slack_post(served, form, signed=False) == 401
    assert slack_post(served, form, content_type="text/plain") == 415
    assert (
        slack_post(served, b'{"type": "event_callback", ', content_type="application/json") == 400
    )
    assert slack_post(served, b"\xff\xfe", content_type="application/json") == 400
    too_long = str(MAX_BODY_BYTES + 1)
    as_form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert announce_only(served, "/slack/events", length=too_long, headers=as_form) == 413
    assert announce_only(served, "/slack/events", length="12ab", headers=as_form) == 400
    assert slack_post_chunked(served, MAX_BODY_BYTES + 65536) == 413
    assert request(served.address, "GET", "/slack/events")[0] == 405

    telegram = served.telegram
    telegram.add_user(FIRST_TELEGRAM_USER, "Lid", started=True)
    update = telegram.send_private(FIRST_TELEGRAM_USER, "/start")
    secret = telegram.webhook_secret
    assert secret is not None
    assert telegram.post_webhook(update, secret="x" * len(secret)) == 403
    assert telegram.post_webhook(update, secret=None) == 403
    hook = {"X-Telegram-Bot-Api-Secret-Token": secret}
    plain = {**hook, "Content-Type": "text/plain"}
    assert request(served.address, "POST", WEBHOOK_PATH, body=b"{}", headers=plain)[0] == 415
    broken = {**hook, "Content-Type": "application/json"}
    assert request(served.address, "POST", WEBHOOK_PATH, body=b"[1,", headers=broken)[0] == 400
    assert announce_only(served, WEBHOOK_PATH, length=too_long, headers=broken) == 413

    # Nothing reached the engine or a platform, and nothing left a traceback.
    assert telegram.calls_of("sendMessage") == []
    assert not [c for c in served.slack.calls if c.method not in {"auth.test"}]
    assert not [record for record in caplog.records if record.exc_info]
    assert "Traceback" not in capfd.readouterr().err
    # A genuine request still works afterwards.
    assert telegram.post_webhook(update, secret=secret) == 200
    assert served.team.command(served.members["anna"], "help").status == 200


def test_once_stopping_platform_requests_get_503_so_the_platform_retries(
    served: Served,
) -> None:
    anna = served.members["anna"]
    body = served.team.command_body(anna, "help").encode()
    served.service.stop()  # as SIGTERM does: the gate closes before uvicorn winds down
    # Straight into the application (the listening socket is closing meanwhile).
    app = served.service.app
    assert call(app, "POST", "/slack/events", body=body)[0] == 503
    assert call(app, "POST", WEBHOOK_PATH, body=b"{}")[0] == 503
    assert call(app, "GET", "/healthz") == (503, "stopping")
    assert call(app, "GET", "/readyz") == (503, "stopping")
    assert served.slack.ephemerals_for(anna) == []
