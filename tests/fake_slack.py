"""A fake Slack for the Slack adapter's tests: its Web API, and Slack's signed requests.

:class:`FakeSlack` is an HTTP server on 127.0.0.1 (ephemeral port, own thread)
answering the Web API methods the adapter uses the way Slack does: JSON
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``, ``response_metadata``
cursors, a 429 with Retry-After when asked to, and upload URLs on itself for
``files_upload_v2``. It checks Block Kit limits like Slack would, records every
call, and keeps the messages so tests can click their buttons.

:class:`SlackTeam` plays Slack's other side: it builds slash command, block
action, view submission and event payloads, signs them (``v0`` HMAC-SHA256) and
POSTs them to the adapter running in HTTP mode.

The real slack_sdk talks to the fake through ``SLACK_API_URL``; nothing is
monkeypatched and nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from adapters.slack.pacing import PacingIntervals
from adapters.slack.runner import SlackRunner
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.core.clock import Clock
from conversations.instrument import load_instruments
from storage.quickscan.store import Store

BOT_TOKEN = "xoxb-test-token"  # noqa: S105 - the fake's own token, not a credential
APP_TOKEN = "xapp-test-token"  # noqa: S105 - the fake's Socket Mode token
SIGNING_SECRET = "test-signing-secret"  # noqa: S105 - signs test requests only
WORKSPACE = "T0SCHOOL1"
CHANNEL = "C0TEAM001"
BOT_USER = "U0QSBOT01"
WAIT_S = 30.0

# Slack's Block Kit limits, checked like Slack checks them (invalid_blocks).
_MAX_BLOCKS = 50
_MAX_SECTION = 3000
_MAX_ACTIONS = 25
_MAX_BUTTON_TEXT = 75
_MAX_VALUE = 2000


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received it."""

    method: str
    params: Mapping[str, Any]
    at: float
    status: int


@dataclass
class Message:
    """A message the bot posted (its latest version after chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button element, in order."""
        return [
            element
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        ]

    @property
    def body(self) -> str:
        """The texts of its section blocks (what a reader sees), else its text."""
        sections = [
            block["text"]["text"] for block in self.blocks if block.get("type") == "section"
        ]
        return "\n\n".join(sections) if sections else self.text

    def button(self, label: str) -> dict[str, Any]:
        """The button labelled ``label``."""
        for element in self.buttons:
            if element["text"]["text"] == label:
                return element
        labels = [element["text"]["text"] for element in self.buttons]
        raise AssertionError(f"no button {label!r} in {labels}")


@dataclass
class Upload:
    """A file uploaded through files.getUploadURLExternal and the upload URL."""

    file_id: str
    filename: str
    length: int
    data: bytes = b""
    channel: str | None = None
    thread_ts: str | None = None
    comment: str | None = None
    completed: bool = False


@dataclass
class FakeSlack:
    """The fake Web API server. Use as a context manager (starts and stops the thread)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, list[str]] = field(default_factory=dict)
    page_size: int = 3
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    _rate_limits: dict[str, int] = field(default_factory=dict)
    _dm_failures: dict[str, str] = field(default_factory=dict)
    _post_failures: dict[str, str] = field(default_factory=dict)
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
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
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
        with self._lock:
            self._rate_limits[method] = retry_after

    def fail_dm(self, user: str, *, error: str = "cannot_dm_bot") -> None:
        """Make conversations.open for ``user`` fail with ``error``."""
        with self._lock:
            self._dm_failures[user] = error

    def fail_posts(self, channel: str, *, error: str = "is_archived") -> None:
        """Make chat.postMessage into ``channel`` fail with ``error``."""
        with self._lock:
            self._post_failures[channel] = error

    # -------------------------------------------------------------- queries

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in order (rate-limited attempts included)."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    @staticmethod
    def dm_channel(user: str) -> str:
        """The DM channel conversations.open gives for ``user``."""
        return f"D{user[1:]}"

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
        with self._lock:
            retry_after = self._rate_limits.pop(method, None)
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

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "conversations.members": self._members,
            "users.info": self._user_info,
            "conversations.open": self._open,
            "chat.postMessage": self._post,
            "chat.postEphemeral": self._ephemeral,
            "chat.update": self._update,
            "views.open": self._view,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(params)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://school.slack.com/",
            "team": "School",
            "user": "quickscan",
            "team_id": WORKSPACE,
            "user_id": BOT_USER,
            "bot_id": "B0QSBOT01",
        }

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.base_url.replace("http", "ws", 1) + "/link/?ticket=1"}

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

    def _members(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self.channels.get(params.get("channel", ""))
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        start = int(str(params.get("cursor") or "0").removeprefix("page-"))
        size = min(int(params.get("limit") or 100), self.page_size)
        page = members[start : start + size]
        more = start + size < len(members)
        cursor = f"page-{start + size}" if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _user_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(params.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _open(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("users", ""))
        if user in self._dm_failures:
            return {"ok": False, "error": self._dm_failures[user]}
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        channel = self.dm_channel(user)
        self.channels.setdefault(channel, [user, BOT_USER])
        return {"ok": True, "channel": {"id": channel}}

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self._post_failures:
            return {"ok": False, "error": self._post_failures[channel]}
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        blocks = params.get("blocks") or []
        problem = _check_blocks(blocks, params.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        thread_ts = params.get("thread_ts")
        if thread_ts is not None and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = f"{1_700_000_000 + next(self._ids)}.000100"
        self.messages[(channel, ts)] = Message(
            channel=channel,
            ts=ts,
            text=str(params.get("text") or ""),
            blocks=blocks,
            thread_ts=thread_ts,
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text")}}

    def _ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = str(params.get("channel", "")), str(params.get("user", ""))
        members = self.channels.get(channel)
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        if user not in members:
            return {"ok": False, "error": "user_not_in_channel"}
        blocks = params.get("blocks") or []
        problem = _check_blocks(blocks, params.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        self.ephemerals.append({"channel": channel, "user": user, "text": params.get("text")})
        return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ids)}.000200"}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel", "")), str(params.get("ts", "")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        blocks = params.get("blocks") or []
        problem = _check_blocks(blocks, params.get("text"))
        if problem:
            return {"ok": False, "error": problem}
        message.text = str(params.get("text") or "")
        message.blocks = blocks
        message.updates += 1
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        too_long = any(len(view[name]["text"]) > 24 for name in ("title", "submit", "close"))
        if too_long or len(view.get("private_metadata", "")) > 3000:
            return {"ok": False, "error": "invalid_arguments"}
        problem = _check_blocks(view.get("blocks", []), "modal")
        if problem:
            return {"ok": False, "error": problem}
        opened = {**view, "id": f"V{next(self._ids):08d}", "hash": "h1", "team_id": WORKSPACE}
        self.views.append({"trigger_id": params["trigger_id"], "view": opened})
        return {"ok": True, "view": opened}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = Upload(
            file_id=file_id, filename=str(params["filename"]), length=int(params["length"])
        )
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(params.get("files") or "[]")
        channel = params.get("channel_id")
        thread_ts = params.get("thread_ts")
        if channel is not None and channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if thread_ts is not None and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        for entry in files:
            upload = self.uploads.get(entry["id"])
            if upload is None or len(upload.data) != upload.length:
                return {"ok": False, "error": "file_not_found"}
            upload.channel, upload.thread_ts = channel, thread_ts
            upload.comment, upload.completed = params.get("initial_comment"), True
        return {
            "ok": True,
            "files": [{"id": entry["id"], "title": entry.get("title")} for entry in files],
        }

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


def _check_blocks(blocks: Sequence[dict[str, Any]], text: object) -> str | None:
    """Slack's own validation, in short: the error Slack would answer, or None."""
    if not blocks and not text:
        return "no_text"
    if len(blocks) > _MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if block.get("type") == "section":
            body = block.get("text", {}).get("text", "")
            if not body or len(body) > _MAX_SECTION:
                return "invalid_blocks"
        if block.get("type") == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > _MAX_ACTIONS:
                return "invalid_blocks"
    action_ids = [
        element.get("action_id")
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]
    if len(action_ids) != len(set(action_ids)):
        return "invalid_blocks"
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if len(element["text"]["text"]) > _MAX_BUTTON_TEXT:
                return "invalid_blocks"
            if len(element.get("value", "")) > _MAX_VALUE:
                return "invalid_blocks"
    return None


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


# ------------------------------------------------------------ Slack's other side


def sign(body: str, *, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reply:
    """The adapter's HTTP answer to one request."""

    status: int
    body: str


@dataclass
class SlackTeam:
    """Slack sending a team's commands and clicks to the adapter.

    Over HTTP (signed like Slack signs), or with ``socket`` as Socket Mode
    envelopes through the fake's WebSocket (no signature there: the app dialled
    out with its app token).
    """

    fake: FakeSlack
    address: tuple[str, int] | None
    wait_idle: Callable[[], None]
    path: str = "/slack/events"
    socket: bool = False
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------- payloads

    def command_body(self, user: str, text: str, *, channel: str = CHANNEL) -> str:
        """A form-encoded ``/quickscan`` body with a fresh trigger_id."""
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": WORKSPACE,
                "team_domain": "school",
                "channel_id": channel,
                "channel_name": "team",
                "user_id": user,
                "user_name": self.fake.users[user]["name"],
                "command": "/quickscan",
                "text": text,
                "api_app_id": "A0QUICK01",
                "is_enterprise_install": "false",
                "response_url": f"{self.fake.base_url}/hooks/commands/{next(self._ids)}",
                "trigger_id": f"{next(self._ids)}.1234.abcdef",
            }
        )

    def action_body(self, user: str, message: Message, button: Mapping[str, Any]) -> str:
        """A ``block_actions`` payload for a click on ``button`` of ``message``."""
        payload = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": WORKSPACE,
            },
            "api_app_id": "A0QUICK01",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._ids)}.5678.fedcba",
            "team": {"id": WORKSPACE, "domain": "school"},
            "channel": {"id": message.channel, "name": "directmessage"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": BOT_USER,
            },
            "response_url": f"{self.fake.base_url}/hooks/actions/{next(self._ids)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

    def view_body(self, user: str, view: Mapping[str, Any], text: str) -> str:
        """A ``view_submission`` payload of the answer modal with ``text`` typed."""
        payload = {
            "type": "view_submission",
            "team": {"id": WORKSPACE, "domain": "school"},
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": WORKSPACE,
            },
            "api_app_id": "A0QUICK01",
            "token": "legacy-verification-token",
            "trigger_id": f"{next(self._ids)}.9012.abcabc",
            "view": {
                **view,
                "state": {
                    "values": {
                        "qs_answer": {
                            "qs_answer_text": {"type": "plain_text_input", "value": text}
                        }
                    }
                },
            },
            "response_urls": [],
        }
        return urlencode({"payload": json.dumps(payload)})

    def event_body(self, user: str, text: str) -> str:
        """An Events API ``message.im`` delivery: ``user`` typed ``text`` in the DM."""
        ts = f"{time.time():.6f}"
        return json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": WORKSPACE,
                "api_app_id": "A0QUICK01",
                "event": {
                    "type": "message",
                    "channel": self.fake.dm_channel(user),
                    "user": user,
                    "text": text,
                    "ts": ts,
                    "event_ts": ts,
                    "channel_type": "im",
                },
                "type": "event_callback",
                "event_id": f"Ev{next(self._ids):08d}",
                "event_time": int(time.time()),
            }
        )

    # -------------------------------------------------------------- sending

    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        signature: str | None = None,
        retry: int | None = None,
        wait: bool = True,
    ) -> Reply:
        """POST a body to the adapter, signed (unless told otherwise); wait for its work."""
        if self.socket:
            ack = self.fake.send_envelope(_envelope(body, content_type, retry or 0))
            if wait:
                self.wait_idle()
            payload = ack.get("payload")
            return Reply(status=200, body=json.dumps(payload) if payload else "")
        assert self.address is not None
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": signature or sign(body, timestamp=stamp),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        host, port = self.address
        connection = http.client.HTTPConnection(host, port, timeout=WAIT_S)
        try:
            connection.request("POST", self.path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            reply = Reply(status=response.status, body=response.read().decode())
        finally:
            connection.close()
        if wait:
            self.wait_idle()
        return reply

    def command(self, user: str, text: str) -> Reply:
        """``user`` types ``/quickscan <text>`` in the team channel."""
        return self.post(self.command_body(user, text))

    def click(self, user: str, label: str, *, message: Message | None = None) -> Reply:
        """``user`` presses ``label`` on ``message`` (default: their newest prompt)."""
        shown = message or self.fake.prompt(user)
        return self.post(self.action_body(user, shown, shown.button(label)))

    def type_answer(self, user: str, text: str) -> Reply:
        """``user`` opens the answer modal from their prompt and submits ``text``."""
        opened = len(self.fake.views)
        reply = self.click(user, "Typ je antwoord")
        assert reply.status == 200
        assert len(self.fake.views) == opened + 1, "views.open was not called"
        view = self.fake.views[-1]["view"]
        return self.post(self.view_body(user, view, text))

    def say_in_dm(self, user: str, text: str) -> Reply:
        """``user`` types ``text`` in their DM with the bot (Events API)."""
        return self.post(self.event_body(user, text), content_type="application/json")


def _envelope(body: str, content_type: str, retry: int) -> dict[str, Any]:
    """The Socket Mode envelope Slack would send instead of the HTTP request ``body``."""
    if "json" in content_type:
        kind, payload = "events_api", json.loads(body)
    else:
        form = dict(parse_qsl(body))
        if "payload" in form:
            kind, payload = "interactive", json.loads(form["payload"])
        else:
            kind, payload = "slash_commands", form
    return {
        "envelope_id": "env-" + hashlib.sha256(body.encode()).hexdigest()[:16],
        "type": kind,
        "payload": payload,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
    }


# --------------------------------------------------------------- the whole setup


@dataclass
class SlackWorld:
    """The fake Slack, the real adapter in HTTP mode, and the engine with its store."""

    fake: FakeSlack
    runner: SlackRunner
    engine: Engine
    store: Store
    team: SlackTeam


def add_school(fake: FakeSlack, names: Sequence[str]) -> list[str]:
    """Members ``names`` in the team channel, plus the bot, Slackbot, a bot and a leaver."""
    ids = [f"U0{name.upper()[:6]:<06}".replace(" ", "X") for name in names]
    for user, name in zip(ids, names, strict=True):
        fake.add_user(user, name)
    fake.add_user(BOT_USER, "quickscan", is_bot=True)
    fake.add_user("USLACKBOT", "Slackbot")
    fake.add_user("U0OTHERBT", "otherbot", is_bot=True)
    fake.add_user("U0LEAVER1", "leaver", deleted=True)
    fake.channels[CHANNEL] = [ids[0], BOT_USER, "USLACKBOT", *ids[1:], "U0OTHERBT", "U0LEAVER1"]
    return ids


@contextmanager
def slack_world(
    *,
    database_url: str,
    clock: Clock,
    output_dir: Path,
    names: Sequence[str],
    prepare: Callable[[FakeSlack], None] | None = None,
    pacing: PacingIntervals | None = None,
    socket_mode: bool = False,
) -> Iterator[tuple[SlackWorld, list[str]]]:
    """Start the fake, an engine on ``database_url`` and the adapter; stop them all after.

    The adapter runs in HTTP mode on a free port, or with ``socket_mode`` in
    Socket Mode connected to the fake's WebSocket.
    """
    with FakeSlack() as fake:
        ids = add_school(fake, names)
        if prepare is not None:
            prepare(fake)
        store = Store.open(url=database_url)
        rosters = RosterRegistry()
        engine = Engine(
            store=store,
            instruments=load_instruments(),
            roster=rosters,
            clock=clock,
            output_dir=output_dir,
        )
        environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}
        if socket_mode:
            environ["SLACK_APP_TOKEN"] = APP_TOKEN
        else:
            environ.update({"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_PORT": "0"})
        runner = SlackRunner(
            engine=engine,
            rosters=rosters,
            environ=environ,
            pacing=pacing or PacingIntervals.none(),
            shutdown_grace_s=WAIT_S,
        )
        thread = threading.Thread(target=runner.run_forever, name="slack-runner")
        thread.start()
        try:
            assert runner.wait_ready(timeout=WAIT_S)

            def wait_idle() -> None:
                assert runner.wait_idle(timeout=WAIT_S), "the adapter's work did not finish"

            address = None if socket_mode else runner.address
            team = SlackTeam(fake=fake, address=address, wait_idle=wait_idle, socket=socket_mode)
            yield SlackWorld(fake=fake, runner=runner, engine=engine, store=store, team=team), ids
        finally:
            runner.stop()
            thread.join(timeout=WAIT_S)
            store.close()
