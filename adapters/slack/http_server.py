"""HTTP mode: a small threaded server that hands Slack's requests to Bolt.

Bolt verifies each request's signature (``X-Slack-Signature``, HMAC-SHA256 over
``v0:{timestamp}:{body}`` with the signing secret) and rejects old timestamps,
answering 401; this server only moves bytes. Slack requires HTTPS, so in
production a reverse proxy terminates TLS and forwards to this port.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest

from adapters.slack.config import EVENTS_PATH

logger = logging.getLogger(__name__)

# Slack's payloads are a few kilobytes; anything this large is not from Slack.
MAX_BODY_BYTES = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    """One request: POST /slack/events to Bolt, everything else 404."""

    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Pass the request to Bolt and write its response."""
        target, _, query = self.path.partition("?")
        if target != self.server.events_path:
            self._reply(404, b"")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._reply(413 if length > 0 else 400, b"")
            return
        try:
            body = self.rfile.read(length).decode("utf-8")
        except UnicodeDecodeError:
            self._reply(400, b"")
            return
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

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Nothing to see here (Slack only POSTs)."""
        self._reply(404, b"")

    def _reply(self, status: int, content: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Request lines go to logging (method, path, status: no payloads)."""
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    """A threading server that knows its Bolt app and events path."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, app: App, events_path: str) -> None:
        self.app = app
        self.events_path = events_path
        super().__init__(address, _Handler)


class EventsServer:
    """Serves Slack's request URL in a background thread."""

    def __init__(self, *, app: App, host: str, port: int, path: str = EVENTS_PATH) -> None:
        self._server = _Server((host, port), app=app, events_path=path)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-http", daemon=True
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
