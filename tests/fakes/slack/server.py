"""The fake Slack's HTTP server: the Web API, upload URLs, hooks and a Socket Mode link.

:class:`FakeSlack` is an HTTP server on 127.0.0.1 (ephemeral port, own thread)
answering the Web API methods the adapter uses the way Slack does: JSON
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``, ``response_metadata``
cursors, a 429 with Retry-After when told to (per method, per channel, for a while),
and upload URLs on itself for ``files_upload_v2``. It records every call, keeps the
messages so tests can click their buttons, and can hold calls "on the wire" to
catch the adapter mid-send. It keeps what pins.add pinned per channel; a method
needing a scope the app manifest does not ask for answers ``missing_scope``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.slack.methods import WebApiMethods
from tests.fakes.slack.records import (
    APP_TOKEN,
    BOT_SCOPES,
    BOT_TOKEN,
    WAIT_S,
    WORKSPACE,
    Call,
    Hold,
    Message,
    RateRule,
    Upload,
)


@dataclass
class FakeSlack(WebApiMethods):
    """The fake Web API server. Use as a context manager (starts and stops the thread)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, list[str]] = field(default_factory=dict)
    private_channels: set[str] = field(default_factory=set)
    page_size: int = 3
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    _rate_rules: list[RateRule] = field(default_factory=list)
    _hold: Hold | None = None
    _dm_failures: dict[str, str] = field(default_factory=dict)
    _post_failures: dict[str, str] = field(default_factory=dict)
    _pin_failures: dict[str, str] = field(default_factory=dict)
    pins: dict[str, list[str]] = field(default_factory=dict)
    scopes: set[str] = field(default_factory=lambda: set(BOT_SCOPES))
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _socket: _WebSocket | None = None
    _socket_open: threading.Event = field(default_factory=threading.Event)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # named by the base class: http.server's name
                fake._handle(self)

            def do_POST(self) -> None:  # named by the base class: http.server's name
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` is set to."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------- switches

    def add_user(self, user: str, name: str, **flags: Any) -> None:
        """A workspace member (``is_bot=True``, ``deleted=True`` ... as users.info says)."""
        self.users[user] = {
            "id": user,
            "team_id": WORKSPACE,
            "name": name.lower(),
            "real_name": name,
            "profile": {"display_name": name, "real_name": name},
            **flags,
        }

    def rate_limit_once(self, method: str, *, retry_after: int) -> None:
        """Answer the next call of ``method`` with HTTP 429 and Retry-After."""
        self.rate_limit(method, retry_after=retry_after, times=1)

    def rate_limit(
        self,
        method: str,
        *,
        retry_after: int,
        channel: str | None = None,
        times: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer calls of ``method`` (into ``channel``, if given) with 429 and Retry-After.

        The first ``after`` matching calls still succeed; ``times`` None keeps
        answering 429 until :meth:`clear_rate_limits`, like a conversation that
        stays over its limit while the bot keeps trying.
        """
        rule = RateRule(
            method=method, retry_after=retry_after, channel=channel, remaining=times, after=after
        )
        with self._lock:
            self._rate_rules.append(rule)

    def clear_rate_limits(self) -> None:
        """Stop answering 429."""
        with self._lock:
            self._rate_rules.clear()

    def hold(self, method: str, *, after: int, channel_prefix: str = "") -> None:
        """Answer ``after`` more calls of ``method`` (into channels starting with
        ``channel_prefix``), then keep each further one waiting until :meth:`release`.

        A held call has not reached Slack yet: it is neither recorded nor carried out
        until released, like a request still on the wire.
        """
        with self._lock:
            self._hold = Hold(method=method, prefix=channel_prefix, after=after)

    def held(self) -> int:
        """How many calls are being held right now."""
        with self._lock:
            return self._hold.held if self._hold is not None else 0

    def release(self) -> None:
        """Let every held call (and every later one) through."""
        with self._lock:
            hold, self._hold = self._hold, None
        if hold is not None:
            hold.released.set()

    def fail_dm(self, user: str, *, error: str = "cannot_dm_bot") -> None:
        """Make conversations.open for ``user`` fail with ``error``."""
        with self._lock:
            self._dm_failures[user] = error

    def fail_posts(self, channel: str, *, error: str = "is_archived") -> None:
        """Make chat.postMessage into ``channel`` fail with ``error``."""
        with self._lock:
            self._post_failures[channel] = error

    def fail_pins(self, channel: str, *, error: str = "not_pinnable") -> None:
        """Make pins.add in ``channel`` fail with ``error`` (``not_pinnable``...)."""
        with self._lock:
            self._pin_failures[channel] = error

    def drop_scope(self, scope: str) -> None:
        """The app was installed without ``scope`` (methods needing it: missing_scope)."""
        with self._lock:
            self.scopes.discard(scope)

    # -------------------------------------------------------------- queries

    def pinned_in(self, channel: str) -> list[Message]:
        """The messages pinned in ``channel``, in the order they were pinned."""
        with self._lock:
            return [self.messages[(channel, ts)] for ts in self.pins.get(channel, [])]

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in order (rate-limited attempts included)."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages_in(self, channel: str, *, thread_ts: str | None = None) -> list[Message]:
        """Top-level messages of a channel (or the replies in one thread), oldest first."""
        with self._lock:
            found = [
                message
                for message in self.messages.values()
                if message.channel == channel and message.thread_ts == thread_ts
            ]
        return sorted(found, key=lambda message: float(message.ts))

    def dm(self, user: str) -> list[Message]:
        """The bot's messages in ``user``'s DM, oldest first."""
        return self.messages_in(self.dm_channel(user))

    def prompt(self, user: str) -> Message:
        """The newest message with buttons in ``user``'s DM."""
        with_buttons = [message for message in self.dm(user) if message.buttons]
        assert with_buttons, f"no message with buttons for {user}"
        return with_buttons[-1]

    def ephemerals_for(self, user: str) -> list[str]:
        """Texts of the ephemeral replies shown to ``user``."""
        with self._lock:
            return [entry["text"] for entry in self.ephemerals if entry["user"] == user]

    # ------------------------------------------------------------- handling

    def send_envelope(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Socket Mode: send an envelope to the connected app; return its ack."""
        assert self._socket_open.wait(timeout=WAIT_S), "the app never connected"
        assert self._socket is not None
        envelope_id = envelope["envelope_id"]
        with self._lock:
            seen = sum(1 for ack in self.socket_acks if ack.get("envelope_id") == envelope_id)
        self._socket.send_text(json.dumps(envelope))
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with self._lock:
                acks = [ack for ack in self.socket_acks if ack.get("envelope_id") == envelope_id]
            if len(acks) > seen:
                return acks[-1]
            time.sleep(0.005)
        raise AssertionError(f"no ack for envelope {envelope_id}")

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        if path.startswith("/link") and request.headers.get("Upgrade", "").lower() == "websocket":
            self._serve_socket(request)
            return
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if path.startswith("/upload/"):
            self._receive_upload(request, path.removeprefix("/upload/"), raw)
            return
        if path.startswith("/hooks/"):
            with self._lock:
                self.hooks.append({"path": path, **json.loads(raw or b"{}")})
            _respond(request, 200, b"ok", content_type="text/plain")
            return
        method = path.removeprefix("/api/")
        params: dict[str, Any] = dict(parse_qsl(query))
        content_type = request.headers.get("Content-Type") or ""
        if raw and "json" in content_type:
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw.decode()))
        self._wait_if_held(method, params)
        with self._lock:
            retry_after = self._rate_limited(method, params)
            status = 429 if retry_after is not None else 200
            self.calls.append(
                Call(method=method, params=params, at=time.monotonic(), status=status)
            )
            if retry_after is not None:
                body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                _respond(request, 429, body, headers={"Retry-After": str(retry_after)})
                return
            token = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
            if request.headers.get("Authorization") != f"Bearer {token}":
                answer: dict[str, Any] = {"ok": False, "error": "invalid_auth"}
            else:
                answer = self._answer(method, params)
        _respond(request, 200, json.dumps(answer).encode())

    def _rate_limited(self, method: str, params: Mapping[str, Any]) -> int | None:
        """Retry-After of the first rule matching this call (used up by it), if any."""
        for rule in self._rate_rules:
            if rule.matches(method, params):
                if rule.after > 0:
                    rule.after -= 1
                    return None
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rate_rules.remove(rule)
                return rule.retry_after
        return None

    def _wait_if_held(self, method: str, params: Mapping[str, Any]) -> None:
        with self._lock:
            hold = self._hold
            channel = str(params.get("channel") or params.get("channel_id") or "")
            if hold is None or method != hold.method or not channel.startswith(hold.prefix):
                return
            if hold.passed < hold.after:
                hold.passed += 1
                return
            hold.held += 1
        try:
            assert hold.released.wait(timeout=WAIT_S), "a held call was never released"
        finally:
            with self._lock:
                hold.held -= 1

    def _serve_socket(self, request: BaseHTTPRequestHandler) -> None:
        """A minimal RFC 6455 server side: handshake, hello, then frames until closed."""
        key = request.headers.get("Sec-WebSocket-Key", "").strip()
        digest = hashlib.sha1((key + _WEBSOCKET_GUID).encode()).digest()  # noqa: S324 - RFC 6455
        request.wfile.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + base64.b64encode(digest)
            + b"\r\n\r\n"
        )
        request.close_connection = True
        socket = _WebSocket(request)
        self._socket = socket
        socket.send_text(json.dumps({"type": "hello", "num_connections": 1}))
        self._socket_open.set()
        while True:
            frame = socket.receive()
            if frame is None:
                break
            opcode, data = frame
            if opcode == 0x9:  # ping
                socket.send(0xA, data)
            elif opcode == 0x1:
                with self._lock:
                    self.socket_acks.append(json.loads(data))
            elif opcode == 0x8:  # close
                socket.send(0x8, data[:2])
                break
        self._socket_open.clear()

    def _receive_upload(self, request: BaseHTTPRequestHandler, file_id: str, raw: bytes) -> None:
        with self._lock:
            self.calls.append(
                Call(method="upload", params={"file_id": file_id}, at=time.monotonic(), status=200)
            )
            upload = self.uploads.get(file_id)
            if upload is not None:
                upload.data = raw
        status = 200 if upload is not None else 404
        _respond(request, status, f"OK - {len(raw)}".encode(), content_type="text/plain")


_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _WebSocket:
    """Frames over an upgraded connection; the server side sends unmasked frames."""

    def __init__(self, request: BaseHTTPRequestHandler) -> None:
        self._request = request
        self._send_lock = threading.Lock()

    def send_text(self, text: str) -> None:
        self.send(0x1, text.encode())

    def send(self, opcode: int, data: bytes) -> None:
        length = len(data)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self._send_lock:
            self._request.wfile.write(header + data)

    def receive(self) -> tuple[int, bytes] | None:
        """The next frame (opcode, unmasked data), or None when the client is gone."""
        read = self._request.rfile.read
        try:
            head = read(2)
        except OSError:  # the client went away without a close frame
            return None
        if len(head) < 2:
            return None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", read(8))
        mask = read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = read(length)
        return opcode, bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))


def _respond(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json; charset=utf-8",
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)
