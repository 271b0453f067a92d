"""A fake Telegram Bot API server on 127.0.0.1, and a harness to run the real adapter on it.

The fake speaks the Bot API over HTTP the way Telegram does: ``/bot<token>/<method>``
with form, JSON or multipart bodies, answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ...}`` with the same HTTP status,
keeps chats and messages (edits change them in place), serves updates by long
polling with offset semantics or POSTs them to a webhook with the secret header,
refuses what Telegram refuses (403 for a user who never started or blocked the
bot, 400 for bad HTML, oversize texts, captions or callback data, unchanged
edits, unknown callback queries), knows who is in which group (getChatMember
answers with the Bot API's ChatMember objects: creator, administrator, member,
restricted with ``is_member``, left, kicked; 400 for an unknown user or chat)
and records every call. Failures such as a 429 with ``parameters.retry_after``
can be injected per method and chat. A basic group can be upgraded to a
supergroup the way Telegram does it: the old chat id then answers every call
with 400 and ``parameters.migrate_to_chat_id``, and the two service messages
(``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in the new
one) arrive as updates. pinChatMessage pins a message in a private chat, or in a
group where the bot is an administrator with ``can_pin_messages``
(:meth:`FakeTelegram.let_bot_pin`); elsewhere it answers 400 "not enough rights
to manage pinned messages in the chat", as Telegram does. Pinned messages are
kept per chat.

The adapter under test is the real python-telegram-bot Application pointed at
the fake with TELEGRAM_API_BASE_URL; nothing in the HTTP stack is patched.
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.telegram.runner import TelegramRunner
from adapters.telegram.settings import TelegramLimits
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.core.clock import Clock
from conversations.instrument import load_instruments
from storage.models.delivery import OutboxMessageRow
from storage.quickscan.store import Store

BOT_ID = 7000001
BOT_USERNAME = "QuickscanTestBot"
TOKEN = f"{BOT_ID}:AAE-fake_token_for_the_tests"
ANONYMOUS_ADMIN_ID = 1087968824  # Telegram's GroupAnonymousBot
MAX_LONG_POLL_S = 0.5  # the fake's cap on getUpdates' timeout, so shutdowns are quick
WAIT_S = 20.0
POLL_S = 0.02
MESSAGE_MAX_CHARS = 4096
CAPTION_MAX_CHARS = 1024
CALLBACK_DATA_MAX_BYTES = 64
CALLBACK_ANSWER_MAX_CHARS = 200
_START_PARAM_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span"}
)
_CANNOT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
_BLOCKED = "Forbidden: bot was blocked by the user"

_UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"
T = TypeVar("T")

# Flood limits off, so tests run at full speed (429s are injected where tested).
FAST_LIMITS = TelegramLimits(overall_per_second=0, group_per_minute=0, per_chat_interval_s=0)


class ApiError(Exception):
    """A Bot API error answer; ``parameters`` is the Bot API's ResponseParameters."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters: dict[str, int] = {}
        if retry_after is not None:
            self.parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            self.parameters["migrate_to_chat_id"] = migrate_to_chat_id


@dataclass
class FakeUser:
    """A Telegram user; ``started`` once they wrote to the bot in private."""

    id: int
    first_name: str
    username: str | None = None
    started: bool = False
    blocked: bool = False

    def as_json(self) -> dict[str, Any]:
        """The User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class FakeChat:
    """A group or a user's private chat with the bot."""

    id: int
    type: str
    title: str | None = None
    admins: list[int] = field(default_factory=list)
    members: dict[int, str] = field(default_factory=dict)  # user -> status, admins aside
    next_message_id: int = 1
    migrated_to: int | None = None  # a basic group upgraded to this supergroup
    bot_can_pin: bool = False  # the bot is an administrator with can_pin_messages
    pinned: list[int] = field(default_factory=list)  # message ids, oldest pin first

    def status_of(self, user_id: int) -> str:
        """The user's ChatMember status: creator, administrator, member, restricted,
        restricted_left (restricted while not in the group), left or kicked."""
        if user_id in self.admins:
            return "creator" if self.admins[0] == user_id else "administrator"
        if self.type == "private":
            return "member" if user_id == self.id else "left"
        return self.members.get(user_id, "left")

    def as_json(self, users: Mapping[int, FakeUser]) -> dict[str, Any]:
        """The Chat object."""
        if self.type == "private":
            return {"id": self.id, "type": "private", "first_name": users[self.id].first_name}
        return {"id": self.id, "type": self.type, "title": self.title or "group"}


@dataclass
class FakeMessage:
    """A message as the fake stores it; ``text`` is what people see (tags parsed)."""

    chat_id: int
    message_id: int
    sender_id: int
    date: int
    text: str | None = None
    html: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    edits: int = 0

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent it."""
        return self.sender_id == BOT_ID

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline buttons, row after row."""
        if not self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    def labels(self) -> list[str]:
        """The button labels in order."""
        return [button["text"] for button in self.buttons]

    def button(self, label: str) -> dict[str, Any]:
        """The button with ``label`` (fails the test when there is none)."""
        for button in self.buttons:
            if button["text"] == label:
                return button
        raise AssertionError(f"no button {label!r} among {self.labels()}")

    def shown(self) -> str:
        """Text or caption."""
        return self.text if self.text is not None else (self.caption or "")


@dataclass(frozen=True)
class Call:
    """One recorded request."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    error_code: int | None
    at: float

    @property
    def chat_id(self) -> int | None:
        """The chat the call addressed, if any."""
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class _Failure:
    method: str
    chat_id: int | None
    code: int
    description: str
    retry_after: int | None
    times: int


class _Html(HTMLParser):
    """Telegram's HTML subset: known tags, properly nested; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self.error = self.error or f'unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f"can't find end tag corresponding to start tag {tag}"
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_html(markup: str) -> str:
    """The visible text of Telegram HTML, or ApiError 400 like Telegram's parser."""
    parser = _Html()
    parser.feed(markup)
    parser.close()
    if parser.error is None and parser.stack:
        parser.error = f"can't find end tag corresponding to start tag {parser.stack[-1]}"
    if parser.error is not None:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.error}")
    return "".join(parser.parts)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # joined on close: no thread outlives the fake
    block_on_close = True

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers
    timeout = 10

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.server.fake.dispatch(
            path=self.path, content_type=self.headers.get("Content-Type", ""), body=body
        )
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a cancelled long poll at shutdown)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake records calls itself."""


class FakeTelegram:
    """The fake Bot API; use as a context manager (it starts and stops its thread)."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self._cond = threading.Condition(threading.RLock())
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.messages: dict[tuple[int, int], FakeMessage] = {}
        self.calls: list[Call] = []
        self.commands: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._updates: list[dict[str, Any]] = []
        self._redelivered: list[dict[str, Any]] = []
        self._next_update_id = 100
        self._confirmed = 0
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._next_callback = 1
        self._failures: list[_Failure] = []
        self._closing = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-telegram", kwargs={"poll_interval": 0.05}
        )

    # ------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=WAIT_S)

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL points at."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ------------------------------------------------------------- the world

    def add_user(self, user_id: int, first_name: str, *, started: bool = False) -> FakeUser:
        """A person; ``started`` when they opened the bot before the test."""
        with self._cond:
            user = FakeUser(id=user_id, first_name=first_name, username=first_name.lower())
            user.started = started
            self.users[user_id] = user
            if started:
                self._private_chat(user_id)
            return user

    def add_group(
        self,
        chat_id: int,
        *,
        title: str,
        admins: tuple[int, ...],
        members: tuple[int, ...] = (),
        basic: bool = False,
    ) -> FakeChat:
        """A supergroup (or a ``basic`` group) with its administrators and (other) ``members``."""
        with self._cond:
            kind = "group" if basic else "supergroup"
            chat = FakeChat(id=chat_id, type=kind, title=title, admins=list(admins))
            chat.members = dict.fromkeys(members, "member")
            self.chats[chat_id] = chat
            return chat

    def let_bot_pin(self, chat_id: int, *, allowed: bool = True) -> None:
        """Make the bot an administrator of the group with the right to pin (or not)."""
        with self._cond:
            self.chats[chat_id].bot_can_pin = allowed

    def pinned_messages(self, chat_id: int) -> list[FakeMessage]:
        """The messages pinned in a chat, oldest pin first."""
        with self._cond:
            chat = self.chats[chat_id]
            return [self.messages[(chat_id, message_id)] for message_id in chat.pinned]

    def upgrade_group(self, chat_id: int, *, to: int, by: int, notify: bool = True) -> FakeChat:
        """A basic group becomes the supergroup ``to``, as when an admin upgrades it.

        Telegram gives the supergroup a new id; the old id answers every call with
        400 and ``migrate_to_chat_id``. With ``notify`` the service messages arrive
        (``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in the
        new one); without, the bot learns of it only when it writes to the old id.
        """
        with self._cond:
            old = self.chats[chat_id]
            if old.type != "group":
                raise AssertionError(f"chat {chat_id} is no basic group")
            new = FakeChat(
                id=to,
                type="supergroup",
                title=old.title,
                admins=list(old.admins),
                members=dict(old.members),
            )
            self.chats[to] = new
            old.migrated_to = to
            if notify:
                user = self.users[by]
                moved_out = self._textless_message(old, user)
                moved_out["migrate_to_chat_id"] = to
                self._enqueue({"message": moved_out})
                moved_in = self._textless_message(new, user)
                moved_in["migrate_from_chat_id"] = chat_id
                self._enqueue({"message": moved_in})
            return new

    def set_member_status(self, user_id: int, chat_id: int, status: str) -> None:
        """Change someone's standing in a group without a service message (e.g. a ban).

        ``status`` is a ChatMember status (member, left, kicked, restricted) or
        ``restricted_left``: restricted, but not in the group (``is_member`` false).
        """
        with self._cond:
            self.chats[chat_id].members[user_id] = status

    def block(self, user_id: int, *, notify: bool) -> None:
        """The user blocks the bot; ``notify`` sends the my_chat_member update Telegram sends."""
        with self._cond:
            user = self.users[user_id]
            user.blocked = True
            if notify:
                self._enqueue(
                    {
                        "my_chat_member": {
                            "chat": self._private_chat(user_id).as_json(self.users),
                            "from": user.as_json(),
                            "date": int(time.time()),
                            "old_chat_member": {"status": "member", "user": self._bot_user()},
                            "new_chat_member": {
                                "status": "kicked",
                                "user": self._bot_user(),
                                "until_date": 0,
                            },
                        }
                    }
                )

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``) with an error."""
        with self._cond:
            self._failures.append(_Failure(method, chat_id, code, description, retry_after, times))

    # ---------------------------------------------------------- user actions

    def send_private(self, user_id: int, text: str) -> dict[str, Any]:
        """The user writes to the bot in private (starting it, as the app's Start does)."""
        with self._cond:
            user = self.users[user_id]
            user.started, user.blocked = True, False
            chat = self._private_chat(user_id)
            return self._enqueue({"message": self._user_message(chat, user, text)})

    def send_private_location(self, user_id: int) -> dict[str, Any]:
        """The user shares a location in private: a message without any text."""
        with self._cond:
            data = self._textless_message(self._private_chat(user_id), self.users[user_id])
            data["location"] = {"latitude": 51.92, "longitude": 4.48}
            return self._enqueue({"message": data})

    def send_group(self, user_id: int, chat_id: int, text: str) -> dict[str, Any]:
        """The user writes in a group; only members can, so one not known yet becomes one."""
        with self._cond:
            chat, user = self.chats[chat_id], self.users[user_id]
            if chat.migrated_to is not None:
                raise AssertionError(f"group {chat_id} is a supergroup now: {chat.migrated_to}")
            status = chat.status_of(user_id)
            if status in {"left", "kicked", "restricted_left"}:
                if user_id in chat.members:
                    raise AssertionError(
                        f"user {user_id} is {status} and cannot write in {chat_id}"
                    )
                chat.members[user_id] = "member"
            return self._enqueue({"message": self._user_message(chat, user, text)})

    def send_anonymous(self, chat_id: int, text: str) -> dict[str, Any]:
        """An anonymous administrator writes: Telegram names only the group as sender."""
        with self._cond:
            chat = self.chats[chat_id]
            anonymous = FakeUser(
                id=ANONYMOUS_ADMIN_ID, first_name="Group", username="GroupAnonymousBot"
            )
            self.users.setdefault(ANONYMOUS_ADMIN_ID, anonymous)
            data = self._user_message(chat, anonymous, text)
            data["from"] = {**anonymous.as_json(), "is_bot": True}
            data["sender_chat"] = chat.as_json(self.users)
            return self._enqueue({"message": data})

    def leave_group(self, user_id: int, chat_id: int) -> dict[str, Any]:
        """The user leaves the group: the service message every member sees."""
        with self._cond:
            chat, user = self.chats[chat_id], self.users[user_id]
            chat.members[user_id] = "left"
            data = self._textless_message(chat, user)
            data["left_chat_member"] = user.as_json()
            return self._enqueue({"message": data})

    def press(
        self,
        user_id: int,
        message: FakeMessage,
        *,
        label: str | None = None,
        data: str | None = None,
    ) -> str:
        """The user presses a button of ``message`` (or sends ``data`` as if they had)."""
        with self._cond:
            if data is None:
                data = message.button(label or "")["callback_data"]
            query_id = f"cq{self._next_callback}"
            self._next_callback += 1
            current = self.messages[(message.chat_id, message.message_id)]
            update = self._enqueue(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": self.users[user_id].as_json(),
                        "chat_instance": f"ci{message.chat_id}",
                        "data": data,
                        "message": self._message_json(current),
                    }
                }
            )
            self._callbacks[query_id] = {"user": user_id, "answered": None, "update": update}
            return query_id

    def enqueue(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Deliver a hand-made update (its update_id is kept when given: a redelivery)."""
        with self._cond:
            return self._enqueue(dict(update))

    def redeliver(self, update: Mapping[str, Any]) -> None:
        """Serve ``update`` once more with its old update_id.

        Telegram does so when the bot did not confirm it (it crashed before its next
        getUpdates).
        """
        with self._cond:
            self._redelivered.append(dict(update))
            self._cond.notify_all()

    def post_webhook(self, update: Mapping[str, Any], *, secret: str | None) -> int:
        """POST ``update`` to the registered webhook with ``secret``; the HTTP status."""
        with self._cond:
            url = self.webhook_url
        if url is None:
            raise AssertionError("no webhook registered")
        parts = urllib.parse.urlsplit(url)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=WAIT_S)
        try:
            connection.request("POST", parts.path, body=json.dumps(update), headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    # ---------------------------------------------------------- observation

    def wait_for(self, predicate: Callable[[], T | None], *, timeout: float = WAIT_S) -> T:
        """Wait until ``predicate`` (run under the fake's lock) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {predicate}")
                self._cond.wait(remaining)

    def clear_failures(self) -> None:
        """Stop answering with the injected errors."""
        with self._cond:
            self._failures.clear()

    def answered_at(self, query_id: str) -> float | None:
        """When answerCallbackQuery for ``query_id`` succeeded (``time.monotonic``)."""
        with self._cond:
            return next(
                (
                    call.at
                    for call in self.calls
                    if call.method == "answerCallbackQuery"
                    and call.error_code is None
                    and call.params.get("callback_query_id") == query_id
                ),
                None,
            )

    def calls_of(self, method: str, *, chat_id: int | None = None) -> list[Call]:
        """The recorded calls of ``method`` (to ``chat_id``)."""
        with self._cond:
            return [
                call
                for call in self.calls
                if call.method == method and (chat_id is None or call.chat_id == chat_id)
            ]

    def chat_messages(self, chat_id: int, *, from_bot: bool = True) -> list[FakeMessage]:
        """The messages in a chat, oldest first."""
        with self._cond:
            return [
                message
                for (chat, _id), message in sorted(self.messages.items())
                if chat == chat_id and message.from_bot == from_bot
            ]

    def last_message(self, chat_id: int) -> FakeMessage | None:
        """The bot's newest message in a chat."""
        messages = self.chat_messages(chat_id)
        return messages[-1] if messages else None

    def last_text(self, chat_id: int) -> str:
        """What the bot's newest message in a chat shows ("" when there is none)."""
        message = self.last_message(chat_id)
        return message.shown() if message is not None else ""

    def prompt(self, chat_id: int) -> FakeMessage | None:
        """The bot's newest message with buttons in a chat: the question on screen."""
        with self._cond:
            with_buttons = [m for m in self.chat_messages(chat_id) if m.buttons]
            return with_buttons[-1] if with_buttons else None

    def answer_of(self, query_id: str) -> dict[str, Any] | None:
        """The parameters of answerCallbackQuery for ``query_id`` (None until answered)."""
        with self._cond:
            answered: dict[str, Any] | None = self._callbacks[query_id]["answered"]
            return answered

    def update_of(self, query_id: str) -> dict[str, Any]:
        """The callback update a press produced (to deliver it again)."""
        with self._cond:
            update: dict[str, Any] = self._callbacks[query_id]["update"]
            return update

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        with self._cond:
            return len(self._updates)

    # --------------------------------------------------------------- server

    def dispatch(self, *, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        """Serve one request: the HTTP status and the JSON answer."""
        match = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>\w+)", path.split("?")[0])
        if match is None or match["token"] != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = match["method"]
        fields, files = _parse_body(content_type, body)
        try:
            with self._cond:
                self._inject_failure(method, fields)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(fields, files)
        except ApiError as error:
            self._record(method, fields, files, error.code)
            answer: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.parameters:
                answer["parameters"] = dict(error.parameters)
            return error.code, answer
        self._record(method, fields, files, None)
        return 200, {"ok": True, "result": result}

    def _record(
        self,
        method: str,
        fields: dict[str, Any],
        files: dict[str, tuple[str, bytes]],
        code: int | None,
    ) -> None:
        with self._cond:
            self.calls.append(Call(method, fields, files, code, time.monotonic()))
            self._cond.notify_all()

    def _inject_failure(self, method: str, fields: Mapping[str, Any]) -> None:
        for failure in self._failures:
            chat = fields.get("chat_id")
            if (
                failure.method == method
                and failure.times > 0
                and (
                    failure.chat_id is None or (chat is not None and int(chat) == failure.chat_id)
                )
            ):
                failure.times -= 1
                raise ApiError(failure.code, failure.description, retry_after=failure.retry_after)

    # ------------------------------------------------------------ API methods

    def _api_getMe(self, fields: dict[str, Any], files: Any) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_setMyCommands(self, fields: dict[str, Any], files: Any) -> bool:
        with self._cond:
            self.commands = json.loads(fields["commands"])
        return True

    def _api_deleteWebhook(self, fields: dict[str, Any], files: Any) -> bool:
        with self._cond:
            self.webhook_url = self.webhook_secret = None
            if _flag(fields.get("drop_pending_updates")):
                self._updates.clear()
        return True

    def _api_setWebhook(self, fields: dict[str, Any], files: Any) -> bool:
        with self._cond:
            self.webhook_url = fields["url"]
            self.webhook_secret = fields.get("secret_token")
        return True

    def _api_getUpdates(self, fields: dict[str, Any], files: Any) -> list[dict[str, Any]]:
        offset = int(fields.get("offset") or 0)
        limit = int(fields.get("limit") or 100)
        timeout = min(float(fields.get("timeout") or 0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.webhook_url is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if offset:
                # Confirming: updates below the offset are gone for good.
                self._confirmed = max(self._confirmed, offset)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                ready = [
                    *self._redelivered,
                    *[u for u in self._updates if u["update_id"] >= offset],
                ]
                ready = ready[:limit]
                self._redelivered.clear()
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._closing:
                    return ready
                self._cond.wait(remaining)

    def _api_getChatAdministrators(self, fields: dict[str, Any], files: Any) -> list[Any]:
        with self._cond:
            chat = self._chat(fields)
            return [
                self._admin_json(user_id, owner=index == 0)
                for index, user_id in enumerate(chat.admins)
            ]

    def _api_getChatMember(self, fields: dict[str, Any], files: Any) -> dict[str, Any]:
        with self._cond:
            chat = self._chat(fields)
            raw_user = str(fields.get("user_id") or "")
            if not raw_user.lstrip("-").isdigit():
                raise ApiError(400, "Bad Request: invalid user_id specified")
            user_id = int(raw_user)
            if user_id not in self.users:
                raise ApiError(400, "Bad Request: user not found")
            return self._member_json(chat, user_id)

    def _api_sendMessage(self, fields: dict[str, Any], files: Any) -> dict[str, Any]:
        with self._cond:
            chat = self._writable_chat(fields)
            text = _visible(fields.get("text", ""), fields.get("parse_mode"))
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > MESSAGE_MAX_CHARS:
                raise ApiError(400, "Bad Request: message is too long")
            message = self._bot_message(chat, fields)
            message.text, message.html = text, fields.get("text")
            return self._message_json(message)

    def _api_sendPhoto(
        self, fields: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        return self._send_file(fields, files, kind="photo")

    def _api_sendDocument(
        self, fields: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        return self._send_file(fields, files, kind="document")

    def _send_file(
        self, fields: dict[str, Any], files: dict[str, tuple[str, bytes]], *, kind: str
    ) -> dict[str, Any]:
        with self._cond:
            chat = self._writable_chat(fields)
            if kind not in files:
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            caption = _visible(fields.get("caption", ""), fields.get("parse_mode"))
            if len(caption) > CAPTION_MAX_CHARS:
                raise ApiError(400, "Bad Request: message caption is too long")
            message = self._bot_message(chat, fields)
            filename, data = files[kind]
            message.caption, message.filename = caption or None, filename
            if kind == "photo":
                message.photo = data
            else:
                message.document = data
            return self._message_json(message)

    def _api_editMessageText(self, fields: dict[str, Any], files: Any) -> dict[str, Any]:
        with self._cond:
            message = self._editable(fields)
            text = _visible(fields.get("text", ""), fields.get("parse_mode"))
            if len(text) > MESSAGE_MAX_CHARS:
                raise ApiError(400, "Bad Request: message is too long")
            markup = self._markup(fields)
            if (
                text == message.text
                and fields.get("text") == message.html
                and markup == message.reply_markup
            ):
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            message.text, message.html, message.reply_markup = text, fields.get("text"), markup
            message.edits += 1
            return self._message_json(message)

    def _api_editMessageReplyMarkup(self, fields: dict[str, Any], files: Any) -> dict[str, Any]:
        with self._cond:
            message = self._editable(fields)
            markup = self._markup(fields)
            if markup == message.reply_markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message.reply_markup = markup
            message.edits += 1
            return self._message_json(message)

    def _api_pinChatMessage(self, fields: dict[str, Any], files: Any) -> bool:
        """Pins a message; a message pinned already stays pinned (True, as Telegram)."""
        with self._cond:
            chat = self._writable_chat(fields)
            if chat.type != "private" and not chat.bot_can_pin:
                raise ApiError(
                    400, "Bad Request: not enough rights to manage pinned messages in the chat"
                )
            raw = str(fields.get("message_id") or "")
            if not raw.isdigit():
                raise ApiError(400, "Bad Request: message identifier is not specified")
            message_id = int(raw)
            if (chat.id, message_id) not in self.messages:
                raise ApiError(400, "Bad Request: message to pin not found")
            if message_id not in chat.pinned:
                chat.pinned.append(message_id)
            return True

    def _api_answerCallbackQuery(self, fields: dict[str, Any], files: Any) -> bool:
        with self._cond:
            query = self._callbacks.get(fields.get("callback_query_id", ""))
            if query is None or query["answered"] is not None:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid",
                )
            if len(fields.get("text") or "") > CALLBACK_ANSWER_MAX_CHARS:
                raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            query["answered"] = dict(fields)
            return True

    # ------------------------------------------------------------- helpers

    def _enqueue(self, update: dict[str, Any]) -> dict[str, Any]:
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
        self._updates.append(update)
        self._cond.notify_all()
        return update

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Quickscan", "username": BOT_USERNAME}

    def _private_chat(self, user_id: int) -> FakeChat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = FakeChat(id=user_id, type="private")
            self.chats[user_id] = chat
        return chat

    def _new_message_id(self, chat: FakeChat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _textless_message(self, chat: FakeChat, user: FakeUser) -> dict[str, Any]:
        """A recorded message of ``user`` without text; the caller adds what it carries."""
        message = FakeMessage(
            chat_id=chat.id,
            message_id=self._new_message_id(chat),
            sender_id=user.id,
            date=int(time.time()),
        )
        self.messages[(chat.id, message.message_id)] = message
        return self._message_json(message)

    def _user_message(self, chat: FakeChat, user: FakeUser, text: str) -> dict[str, Any]:
        message = FakeMessage(
            chat_id=chat.id,
            message_id=self._new_message_id(chat),
            sender_id=user.id,
            date=int(time.time()),
            text=text,
        )
        self.messages[(chat.id, message.message_id)] = message
        data = self._message_json(message)
        entities = [
            {"type": "mention", "offset": found.start(), "length": len(found[0])}
            for found in re.finditer(r"@\w+", text)
        ]
        command = re.match(r"/\S+", text)
        if command is not None:
            entities.insert(0, {"type": "bot_command", "offset": 0, "length": command.end()})
        if entities:
            data["entities"] = entities
        return data

    def _message_json(self, message: FakeMessage) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        sender = self._bot_user() if message.from_bot else self.users[message.sender_id].as_json()
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.as_json(self.users),
            "from": sender,
        }
        if message.text is not None:
            data["text"] = message.text
        if message.caption is not None:
            data["caption"] = message.caption
        if message.photo is not None:
            data["photo"] = [
                {
                    "file_id": f"photo{message.message_id}",
                    "file_unique_id": "p",
                    "width": 800,
                    "height": 600,
                }
            ]
        if message.document is not None:
            data["document"] = {
                "file_id": f"doc{message.message_id}",
                "file_unique_id": "d",
                "file_name": message.filename,
            }
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _chat(self, fields: Mapping[str, Any]) -> FakeChat:
        chat = self.chats.get(int(fields.get("chat_id") or 0))
        if chat is None:
            chat_id = int(fields.get("chat_id") or 0)
            if chat_id > 0 and chat_id in self.users:
                raise ApiError(403, _CANNOT_INITIATE)
            raise ApiError(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise ApiError(400, _UPGRADED, migrate_to_chat_id=chat.migrated_to)
        return chat

    def _writable_chat(self, fields: Mapping[str, Any]) -> FakeChat:
        chat = self._chat(fields)
        if chat.type == "private":
            user = self.users[chat.id]
            if user.blocked:
                raise ApiError(403, _BLOCKED)
            if not user.started:
                raise ApiError(403, _CANNOT_INITIATE)
        return chat

    def _bot_message(self, chat: FakeChat, fields: Mapping[str, Any]) -> FakeMessage:
        reply = json.loads(fields["reply_parameters"]) if "reply_parameters" in fields else None
        message = FakeMessage(
            chat_id=chat.id,
            message_id=self._new_message_id(chat),
            sender_id=BOT_ID,
            date=int(time.time()),
            reply_markup=self._markup(fields),
            reply_to=reply["message_id"] if reply else None,
        )
        self.messages[(chat.id, message.message_id)] = message
        return message

    def _editable(self, fields: Mapping[str, Any]) -> FakeMessage:
        chat = self._writable_chat(fields)
        message = self.messages.get((chat.id, int(fields.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _markup(self, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        if "reply_markup" not in fields:
            return None
        markup: dict[str, Any] = json.loads(fields["reply_markup"])
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: button text must be non-empty")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not _valid_url(url):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        return markup

    def _member_json(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        """The ChatMember object of the Bot API for the user's status in ``chat``."""
        status = chat.status_of(user_id)
        if status in {"creator", "administrator"}:
            return self._admin_json(user_id, owner=status == "creator")
        user = self.users[user_id].as_json()
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        if status.startswith("restricted"):
            rights = [
                "can_send_messages",
                "can_send_audios",
                "can_send_documents",
                "can_send_photos",
                "can_send_videos",
                "can_send_video_notes",
                "can_send_voice_notes",
                "can_send_polls",
                "can_send_other_messages",
                "can_add_web_page_previews",
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
                "can_manage_topics",
                "can_edit_tag",
                "can_react_to_messages",
            ]
            return {
                "status": "restricted",
                "user": user,
                "is_member": status == "restricted",
                "until_date": 0,
                **dict.fromkeys(rights, False),
            }
        return {"status": status, "user": user}

    def _admin_json(self, user_id: int, *, owner: bool) -> dict[str, Any]:
        user = self.users[user_id].as_json()
        if owner:
            return {"status": "creator", "user": user, "is_anonymous": False}
        rights = [
            "can_be_edited",
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
        ]
        return {
            "status": "administrator",
            "user": user,
            "is_anonymous": False,
            **dict.fromkeys(rights, False),
        }


def _flag(value: Any) -> bool:
    return str(value).lower() in {"true", "1"}


def _visible(text: str, parse_mode: str | None) -> str:
    return parse_html(text) if parse_mode == "HTML" else text


def _valid_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https", "tg"}:
        return False
    if parts.hostname == "t.me":
        start = urllib.parse.parse_qs(parts.query).get("start")
        return start is None or all(_START_PARAM_RE.fullmatch(value) for value in start)
    return True


def _parse_body(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Form, JSON or multipart parameters (complex values stay JSON strings, as PTB sends them)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body or b"{}")
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}, {}
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    return dict(pairs), {}


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        raise ApiError(400, "Bad Request: no multipart boundary")
    delimiter = b"--" + found[1].encode()
    fields: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        disposition = next(
            (
                line.decode()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition")
            ),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name is None:
            continue
        if filename is not None:
            files[name[1]] = (filename[1], content)
        else:
            fields[name[1]] = content.decode()
    return fields, files


# ------------------------------------------------------------------ harness


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (for the webhook)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class BotUnderTest:
    """The real Telegram runner in a thread, on an engine with its own store."""

    runner: TelegramRunner
    engine: Engine
    store: Store
    errors: list[BaseException]

    def outbox(self) -> list[OutboxMessageRow]:
        """The outbox rows of Telegram, oldest first (detached copies)."""
        with Session(self.store.engine, expire_on_commit=False) as session:
            query = select(OutboxMessageRow).where(OutboxMessageRow.platform == "telegram")
            rows = list(session.scalars(query.order_by(OutboxMessageRow.id)))
            session.expunge_all()
            return rows

    def waiting(self, *, error: str, attempts: int) -> list[OutboxMessageRow]:
        """Rows given back after ``attempts`` attempts that failed with ``error``."""
        return [
            row
            for row in self.outbox()
            if row.status == "pending"
            and row.claimed_by is None
            and row.error == error
            and row.attempts == attempts
        ]


class RunningClock:
    """A test clock with real time running on top of it.

    The dispatcher writes ``not_before`` from the engine's clock: a message held
    back for its rate limit must come due a second later, also in a test whose
    fake clock otherwise stands still.
    """

    def __init__(self, base: Clock) -> None:
        """Run on from ``base``'s current time."""
        self._base = base
        self._started = time.monotonic()

    def now(self) -> datetime:
        """The base clock's time plus the seconds since this clock was made."""
        return self._base.now() + timedelta(seconds=time.monotonic() - self._started)


def eventually(predicate: Callable[[], T | None], *, timeout: float = WAIT_S) -> T:
    """Poll ``predicate`` until it is truthy (for state outside the fake, e.g. the outbox)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        time.sleep(POLL_S)


@contextmanager
def running_bot(
    *,
    fake: FakeTelegram,
    database_url: str,
    clock: Clock,
    output_dir: Path,
    environ: Mapping[str, str] | None = None,
    limits: TelegramLimits = FAST_LIMITS,
) -> Iterator[BotUnderTest]:
    """Start the adapter against ``fake`` and stop it cleanly afterwards."""
    store = Store.open(url=database_url)
    rosters = RosterRegistry()
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=rosters,
        clock=clock,
        output_dir=output_dir,
    )
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        **(environ or {}),
    }
    runner = TelegramRunner(
        engine=engine, rosters=rosters, environ=env, limits=limits, poll_timeout_s=1
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            runner.run_forever()
        except BaseException as error:  # handed to the test thread, which fails on it
            errors.append(error)

    thread = threading.Thread(target=run, name="telegram-runner")
    thread.start()
    try:
        if not runner.wait_ready(timeout=WAIT_S):
            raise AssertionError(f"the Telegram runner did not start: {errors}")
        yield BotUnderTest(runner=runner, engine=engine, store=store, errors=errors)
    finally:
        runner.stop()
        thread.join(WAIT_S)
        store.close()
    if thread.is_alive():
        raise AssertionError("the Telegram runner did not stop")
    if errors:
        raise errors[0]
