"""HTTP mode: a small threaded server that checks Slack's signature, then hands over to Bolt.

Every request is hostile until its signature proves it came from Slack: the body
size is capped before it is read (413), then the ``X-Slack-Signature`` (HMAC-SHA256
over ``v0:{timestamp}:{body}`` with the signing secret) and the timestamp's age are
checked on the raw bytes (401), and only a signed request is decoded, parsed and
given to Bolt (which checks the signature again). A forged request therefore costs
one HMAC and never reaches a parser, and a malformed body never raises into the
log. Slack requires HTTPS, so in production a reverse proxy terminates TLS and
forwards to this port.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest

from adapters.slack.config import EVENTS_PATH
from adapters.slack.logs import log_failure

logger = logging.getLogger(__name__)

# Slack's payloads are a few kilobytes; anything this large is not from Slack.
MAX_BODY_BYTES = 1 << 20
MAX_REQUEST_AGE_S = 5 * 60  # Slack's advice: refuse replays older than five minutes
BODY_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded"})
REQUEST_TIMEOUT_S = 10
_TIMESTAMP_DIGITS = 12  # seconds since 1970 stay below this for a long while
_SHUTDOWN_POLL_S = 0.1  # how soon the server notices a stop (intake closes on SIGTERM)


def signature_ok(
    *, secret: bytes, body: bytes, timestamp: str, signature: str, now: float
) -> bool:
    """Whether ``signature`` is Slack's ``v0`` signature of ``body`` at a fresh ``timestamp``.

    Everything is checked on bytes: the timestamp must be ASCII digits (no
    ``int()`` of hostile text), and the comparison is in constant time.
    """
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _TIMESTAMP_DIGITS:
        return False
    if abs(now - int(timestamp)) > MAX_REQUEST_AGE_S:
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def parses(body: str, content_type: str) -> bool:
    """Whether a signed body is well-formed for its type (Bolt's parser would raise else)."""
    if content_type == "application/json":
        try:
            return isinstance(json.loads(body), dict)
        except ValueError:
            return False
    try:
        form = parse_qs(body, strict_parsing=bool(body), max_num_fields=100)
    except ValueError:
        return False
    payload = form.get("payload")
    if payload is None:
        return True
    try:
        return isinstance(json.loads(payload[0]), dict)
    except ValueError:
        return False


def length_refusal(raw_length: str) -> int | None:
    """The status refusing a request by its announced ``Content-Length``, before any read.

    400 for a length that is not plain ASCII digits, 413 above :data:`MAX_BODY_BYTES`;
    None when the body may be read.
    """
    if not (raw_length.isascii() and raw_length.isdigit()):
        return 400
    if int(raw_length) > MAX_BODY_BYTES:
        return 413
    return None


def screen(
    *, secret: bytes, raw: bytes, timestamp: str, signature: str, content_type: str, now: float
) -> int | str:
    """Everything a request must pass before Bolt sees it: the decoded body, or a status.

    In this order, so a forged request costs one HMAC and never reaches a
    decoder or parser: 401 unless signed by Slack at a fresh timestamp (on the
    raw bytes), 415 for a body type Slack never sends, 400 for a body that is
    not UTF-8 or does not parse as its type. Every transport in front of Bolt
    (this server, ``adapters.slack.asgi``) asks this one function.
    """
    if not signature_ok(
        secret=secret, body=raw, timestamp=timestamp, signature=signature, now=now
    ):
        logger.info("Slack HTTP request refused: missing or bad signature")
        return 401
    kind = content_type.split(";")[0].strip().lower()
    if kind not in BODY_TYPES:
        return 415
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return 400
    if not parses(body, kind):
        logger.warning("a signed Slack request did not parse (%s)", kind)
        return 400
    return body


class _Handler(BaseHTTPRequestHandler):
    """One request: POST /slack/events to Bolt once it is signed, everything else 404."""

    server: _Server
    timeout = REQUEST_TIMEOUT_S  # a client that sends less than it announced is cut off

    def do_POST(self) -> None:  # named by the base class: the name http.server dispatches to
        """Check size and signature, then pass the request to Bolt and write its response."""
        target, _, query = self.path.partition("?")
        if target != self.server.events_path:
            self._reply(404)
            return
        raw_length = self.headers.get("Content-Length") or "0"
        too_big = length_refusal(raw_length)
        if too_big is not None:
            self._reply(too_big)
            return
        checked = screen(
            secret=self.server.secret,
            raw=self.rfile.read(int(raw_length)),
            timestamp=self.headers.get("X-Slack-Request-Timestamp") or "",
            signature=self.headers.get("X-Slack-Signature") or "",
            content_type=self.headers.get("Content-Type") or "",
            now=self.server.now(),
        )
        if isinstance(checked, int):
            self._reply(checked)
            return
        self._dispatch(body=checked, query=query)

    def _dispatch(self, *, body: str, query: str) -> None:
        headers: dict[str, str | Sequence[str]] = {}
        for name, value in self.headers.items():
            seen = headers.get(name.lower())
            headers[name.lower()] = [*seen, value] if isinstance(seen, list) else [value]
        response = self.server.app.dispatch(BoltRequest(body=body, query=query, headers=headers))
        content = response.body.encode("utf-8") if response.body else b""
        self.send_response(response.status)
        for name, values in response.headers.items():
            if name.lower() == "content-length":
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:  # named by the base class: the name http.server dispatches to
        """Nothing to see here (Slack only POSTs)."""
        self._reply(404)

    def _reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        if status >= 400:
            self.send_header("Connection", "close")  # an unread body must not be parsed next
            self.close_connection = True
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # base signature
        """Request lines go to logging (method, path, status: no payloads)."""
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    """A threading server that knows its Bolt app and events path."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        app: App,
        events_path: str,
        secret: str,
        now: Callable[[], float],
    ) -> None:
        self.app = app
        self.events_path = events_path
        self.secret = secret.encode("utf-8")
        self.now = now
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failed request is logged by type and frames (socketserver prints it whole)."""
        error = sys.exc_info()[1]
        if error is not None:
            log_failure(logger, "a Slack HTTP request", error)


class EventsServer:
    """Serves Slack's request URL in a background thread."""

    def __init__(
        self,
        *,
        app: App,
        secret: str,
        host: str,
        port: int,
        path: str = EVENTS_PATH,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Bind ``host:port``; requests must be signed with ``secret`` at a time near ``now``."""
        if not secret:
            raise ValueError(
                "HTTP mode needs the signing secret: anyone could sign with an empty one"
            )
        self._server = _Server((host, port), app=app, events_path=path, secret=secret, now=now)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_S},
            name="slack-http",
            daemon=True,
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Start accepting requests."""
        self._thread.start()
        logger.info(
            "Slack HTTP mode listening on %s:%d%s", *self.address, self._server.events_path
        )

    def close(self) -> None:
        """Stop accepting requests and release the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
