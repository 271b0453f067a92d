"""What each simulated member sees, followed from the fakes' records without scanning them.

The fakes keep every message and call in one dict and one list. Their own
helpers (``prompt``, ``last_message``) scan and sort all of it under the fake's
lock, which is fine for a test of one team and far too slow when hundreds of
members poll at once. One watcher thread per fake reads only what was added
since its last look (the newest dict entries through ``reversed``, the list from
an offset) and tells the chats concerned; a member waits on its own chat.
"""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

TICK_S = 0.01
SLACK_EDITS = frozenset({"chat.update"})
TELEGRAM_EDITS = frozenset({"editMessageText", "editMessageReplyMarkup"})


class ChatState:
    """One conversation as its member sees it: the bot's messages, newest prompt, changes."""

    def __init__(self, *, text_of: Callable[[Any], str]) -> None:
        self.cond = threading.Condition()
        self.version = 0
        self.messages: list[Any] = []
        self.first_texts: list[str] = []  # what each message showed when it arrived
        self.prompt: Any = None
        self._text_of = text_of

    def text(self, message: Any) -> str:
        """What ``message`` shows now (edits included)."""
        return "" if message is None else self._text_of(message)

    def shows(self, expected: str) -> bool:
        """Whether the newest message or the newest prompt shows ``expected``."""
        latest = self.messages[-1] if self.messages else None
        return expected in self.text(latest) or expected in self.text(self.prompt)

    def count(self, expected: str) -> int:
        """How many of the bot's messages here showed ``expected`` when they arrived.

        Not what they show now: an invitation is edited into question 1 when clicked.
        """
        return sum(1 for shown in self.first_texts if expected in shown)

    def wait(self, check: Callable[[ChatState], bool], *, timeout: float, what: str) -> None:
        """Block until ``check`` holds (re-checked at every change), or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not check(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
                self.cond.wait(min(remaining, 0.5))


class Watcher(ABC):
    """A thread that hands the fake's new messages and edits to the chats they concern."""

    def __init__(self, *, states: dict[Hashable, ChatState]) -> None:
        self.states = states
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._messages = 0
        self._calls = 0

    def start(self) -> None:
        """Start following."""
        self._thread.start()

    def stop(self) -> None:
        """Stop following (after one last look)."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            self.tick()
        self.tick()

    def tick(self) -> None:
        """Take in what was added since the last look and wake the chats it touched."""
        touched: set[Hashable] = set()
        for chat, message in self._new_messages():
            state = self.states.get(chat)
            if state is not None:
                state.messages.append(message)
                state.first_texts.append(state.text(message))
                if self.has_buttons(message):
                    state.prompt = message
                touched.add(chat)
        touched.update(chat for chat in self._edited() if chat in self.states)
        for chat in touched:
            state = self.states[chat]
            with state.cond:
                state.version += 1
                state.cond.notify_all()

    @abstractmethod
    def _new_messages(self) -> list[tuple[Hashable, Any]]:
        """The bot's new messages since the last look, with the chat each is in."""

    @abstractmethod
    def _edited(self) -> Iterable[Hashable]:
        """The chats of the edits among the calls taken in by ``_new_messages``."""

    def has_buttons(self, message: Any) -> bool:
        """Whether ``message`` carries buttons (a prompt)."""
        return bool(message.buttons)

    def _take(
        self, lock: Any, messages: dict[Any, Any], calls: list[Any]
    ) -> tuple[list[Any], list[Any]]:
        """The messages and calls added since the last look, read under the fake's lock."""
        with lock:
            added = len(messages) - self._messages
            keys = list(itertools.islice(reversed(messages), added))
            new_messages = [messages[key] for key in reversed(keys)]
            new_calls = calls[self._calls :]
        self._messages += added
        self._calls += len(new_calls)
        return new_messages, new_calls


class SlackWatcher(Watcher):
    """Chats are channel ids (a member's DM ``D…``, a team's channel ``C…``); top level only."""

    def __init__(self, *, fake: FakeSlack, chats: Iterable[str]) -> None:
        super().__init__(states={chat: ChatState(text_of=_slack_text) for chat in chats})
        self._fake = fake
        self._pending_calls: list[Any] = []

    def _new_messages(self) -> list[tuple[Hashable, Any]]:
        fake = self._fake
        messages, self._pending_calls = self._take(fake._lock, fake.messages, fake.calls)
        return [(m.channel, m) for m in messages if m.thread_ts is None]

    def _edited(self) -> Iterable[Hashable]:
        return [
            str(call.params.get("channel"))
            for call in self._pending_calls
            if call.method in SLACK_EDITS
        ]


class TelegramWatcher(Watcher):
    """Chats are chat ids (a member's private chat is the user id, a group is negative)."""

    def __init__(self, *, fake: FakeTelegram, chats: Iterable[int]) -> None:
        super().__init__(states={chat: ChatState(text_of=_telegram_text) for chat in chats})
        self._fake = fake
        self._pending_calls: list[Any] = []

    def _new_messages(self) -> list[tuple[Hashable, Any]]:
        fake = self._fake
        messages, self._pending_calls = self._take(fake._cond, fake.messages, fake.calls)
        return [(m.chat_id, m) for m in messages if m.from_bot]

    def _edited(self) -> Iterable[Hashable]:
        return [
            call.chat_id
            for call in self._pending_calls
            if call.method in TELEGRAM_EDITS and call.chat_id is not None
        ]


def _slack_text(message: Any) -> str:
    text: str = message.body
    return text


def _telegram_text(message: Any) -> str:
    text: str = message.shown()
    return text
