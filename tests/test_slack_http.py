"""HTTP mode checks the signature before it reads anything into a parser.

Unsigned, badly signed or stale requests get 401 whatever their body (malformed
JSON or form, invalid UTF-8, a wrong content type); a body over the cap gets 413
before it is read; a signed but malformed body gets 400. None of it reaches Bolt
or the engine, and none of it leaves a traceback in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.slack.http_server import MAX_BODY_BYTES, signature_ok
from tests.conftest import FakeClock
from tests.fakes.slack import SIGNING_SECRET, WAIT_S, SlackWorld, slack_world


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[SlackWorld]:
    """The adapter in HTTP mode on SQLite with two members."""
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(
        database_url=url, clock=clock, output_dir=tmp_path, names=("anna", "bram")
    ) as (made, _ids):
        yield made


def send(
    world: SlackWorld,
    body: bytes,
    *,
    content_type: str | None,
    signature: str | None = None,
    timestamp: str | None = None,
    length: str | None = None,
) -> int:
    """POST raw bytes with exactly these headers; the status."""
    assert world.team.address is not None
    host, port = world.team.address
    connection = http.client.HTTPConnection(host, port, timeout=WAIT_S)
    try:
        connection.putrequest("POST", "/slack/events")
        if content_type is not None:
            connection.putheader("Content-Type", content_type)
        if signature is not None:
            connection.putheader("X-Slack-Signature", signature)
        if timestamp is not None:
            connection.putheader("X-Slack-Request-Timestamp", timestamp)
        connection.putheader("Content-Length", length if length is not None else str(len(body)))
        connection.endheaders()
        if length is None:
            connection.send(body)
        return connection.getresponse().status
    finally:
        connection.close()


def signed(body: bytes, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    """The two signature headers Slack would send for ``body``."""
    stamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"signature": "v0=" + digest.hexdigest(), "timestamp": stamp}


HOSTILE_BODIES = [
    (b'{"type": "event_callback", "event": ', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"payload=%7B%22type%22%3A", "application/x-www-form-urlencoded"),
    (b"command=/quickscan&text=start", "text/plain"),
    (b"<xml/>", "application/xml"),
    (b"", None),
]


@pytest.mark.parametrize(("body", "content_type"), HOSTILE_BODIES)
def test_unsigned_or_forged_requests_get_401_without_a_traceback(
    world: SlackWorld,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    body: bytes,
    content_type: str | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert send(world, body, content_type=content_type) == 401
    forged = signed(body, secret="not-the-secret")  # noqa: S106 - a wrong secret on purpose
    assert send(world, body, content_type=content_type, **forged) == 401
    stale = signed(body, at=int(time.time()) - 6 * 60)
    assert send(world, body, content_type=content_type, **stale) == 401
    odd = {"signature": "v0=ÿ", "timestamp": "¹²³"}  # superscript digits are no timestamp
    assert send(world, body, content_type=content_type, **odd) == 401
    world.team.wait_idle()
    assert [c.method for c in world.fake.calls if c.method != "auth.test"] == []
    assert not [r for r in caplog.records if r.exc_info]
    assert "Traceback" not in capfd.readouterr().err


def test_a_huge_body_is_refused_before_it_is_read(world: SlackWorld) -> None:
    announced = str(MAX_BODY_BYTES + 1)
    assert send(world, b"", content_type="application/json", length=announced) == 413
    assert send(world, b"", content_type="application/json", length="12ab") == 400


def test_signed_but_malformed_or_mistyped_bodies_are_refused_quietly(
    world: SlackWorld, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    broken_json = b'{"type": "event_callback", "event": '
    assert send(world, broken_json, content_type="application/json", **signed(broken_json)) == 400
    not_utf8 = b"\xff\xfe"
    assert send(world, not_utf8, content_type="application/json", **signed(not_utf8)) == 400
    form = b"payload=%7Bnot-json"
    kind = "application/x-www-form-urlencoded"
    assert send(world, form, content_type=kind, **signed(form)) == 400
    plain = b"command=/quickscan&text=start"
    assert send(world, plain, content_type="text/plain", **signed(plain)) == 415
    world.team.wait_idle()
    assert not [r for r in caplog.records if r.exc_info]
    assert "Traceback" not in capfd.readouterr().err
    # A well-formed signed request still works afterwards.
    assert world.team.command(world.team.fake.channels["C0TEAM001"][0], "status").status == 200


def test_the_signature_check_itself() -> None:
    secret, body, now = b"s", b"x=1", 1_800_000_000.0
    good = "v0=" + hmac.new(secret, b"v0:1800000000:x=1", hashlib.sha256).hexdigest()
    assert signature_ok(secret=secret, body=body, timestamp="1800000000", signature=good, now=now)
    for timestamp, signature, at in [
        ("1800000000", good.upper(), now),
        ("1800000000", "", now),
        ("", good, now),
        ("-1800000000", good, now),
        ("1800000000", good, now + 301),
        ("9" * 40, good, now),
    ]:
        assert not signature_ok(
            secret=secret, body=body, timestamp=timestamp, signature=signature, now=at
        )
