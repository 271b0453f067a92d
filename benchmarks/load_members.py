"""The simulated people: what they send, to which replica, and how long each answer took.

Slack's side sends signed requests (``v0`` HMAC, as Slack signs them) and
Telegram's side POSTs updates to the webhook with its secret header, each to
the next replica in turn, so consecutive clicks of one member land on
different processes (any event may reach any replica). A request is timed
until the replica's HTTP answer, which comes only after the event was handled
and committed (its ack); a step is timed until the member sees the next
question (its visible latency, which includes the outbox and the platform's
rate limits).
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from benchmarks.load_watch import ChatState
from tests.fakes.slack import FakeSlack, SlackTeam, sign
from tests.fakes.telegram import FakeTelegram

SCALE = ("++", "+", "+/-", "-", "--", "?")
QUESTIONS = 48
GRADES = ("7", "6", "8")
INTRO = "individuele antwoorden worden nooit"  # the invitation's privacy promise
THANKS = "Bedankt"
REQUEST_TIMEOUT_S = 120.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@dataclass(frozen=True, slots=True)
class Step:
    """Press ``label`` on the prompt, then wait until ``expect`` shows."""

    label: str
    expect: str


def walkthrough(rng: random.Random) -> list[Step]:
    """A member's steps from the invitation to "versturen": random answers, no open text."""
    steps = [Step("start", f"vraag 1 van {QUESTIONS}")]
    for number in range(1, QUESTIONS + 1):
        following = (
            f"vraag {number + 1} van {QUESTIONS}" if number < QUESTIONS else "cijfer 1 van 3"
        )
        steps.append(Step(rng.choice(SCALE), following))
    steps += [Step("7", "cijfer 2 van 3"), Step("6", "cijfer 3 van 3"), Step("8", "open vraag 1")]
    steps += [Step("overslaan", "open vraag 2"), Step("overslaan", "open vraag 3")]
    steps += [Step("overslaan", "Samenvatting"), Step("versturen", THANKS)]
    return steps


@dataclass
class Recorder:
    """Every timed request and step, from all threads."""

    acks: dict[str, list[float]] = field(default_factory=lambda: {"slack": [], "telegram": []})
    visible: dict[str, list[float]] = field(default_factory=lambda: {"slack": [], "telegram": []})
    refused: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_link: list[str] = field(default_factory=list)  # uninvited members who used the link
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, platform: str, answer: tuple[int, float]) -> None:
        """One request's (status, round trip); a status other than 200 is counted as refused."""
        status, seconds = answer
        with self._lock:
            self.acks[platform].append(seconds)
            if status != 200:
                self.refused.append((platform, status))

    def step(self, platform: str, seconds: float) -> None:
        """One step from the click until the next question showed."""
        with self._lock:
            self.visible[platform].append(seconds)

    def error(self, text: str) -> None:
        """A member who got stuck (timed out or failed), by what they waited for."""
        with self._lock:
            self.errors.append(text)
        print(f"stuck: {text}", file=sys.stderr, flush=True)


class Replicas:
    """Hands out the replicas in turn, across every thread."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._turn: Iterator[int] = itertools.count()

    def next(self) -> int:
        """The index of the replica the next request goes to."""
        return next(self._turn) % self._count


def _post(
    address: tuple[str, int], path: str, body: bytes, headers: Mapping[str, str]
) -> tuple[int, float]:
    """POST ``body``; the HTTP status and the seconds until the answer was read."""
    began = time.monotonic()
    connection = http.client.HTTPConnection(*address, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - began
    finally:
        connection.close()


class SlackSide:
    """Slack sending signed commands and clicks to the replicas' ``/slack/events``."""

    platform = "slack"

    def __init__(
        self, *, fake: FakeSlack, addresses: Sequence[tuple[str, int]], path: str, secret: str
    ) -> None:
        self.fake = fake
        self._addresses = addresses
        self._path = path
        self._secret = secret
        self._replicas = Replicas(len(addresses))
        # Only its payload builders are used: one builder, so trigger ids never repeat.
        self._team = SlackTeam(fake=fake, address=None, wait_idle=lambda: None)

    def _send(self, body: str, *, content_type: str) -> tuple[int, float]:
        stamp = int(time.time())
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": sign(body, timestamp=stamp, secret=self._secret),
        }
        address = self._addresses[self._replicas.next()]
        return _post(address, self._path, body.encode(), headers)

    def command(self, user: str, text: str, *, team: str) -> tuple[int, float]:
        """``user`` types ``/quickscan <text>`` in channel ``team``."""
        body = self._team.command_body(user, text, channel=team)
        return self._send(body, content_type="application/x-www-form-urlencoded")

    def click(self, user: str, prompt: Any, label: str) -> tuple[int, float]:
        """``user`` presses ``label`` on ``prompt``."""
        body = self._team.action_body(user, prompt, prompt.button(label))
        return self._send(body, content_type="application/x-www-form-urlencoded")


class TelegramSide:
    """Telegram POSTing updates made by the fake to the replicas' webhook."""

    platform = "telegram"

    def __init__(
        self, *, fake: FakeTelegram, ports: Sequence[int], path: str, secret: str
    ) -> None:
        self.fake = fake
        self._ports = ports
        self._path = path
        self._secret = secret
        self._replicas = Replicas(len(ports))

    def deliver(self, update: Mapping[str, Any]) -> tuple[int, float]:
        """POST one update to the next replica's webhook."""
        headers = {"Content-Type": "application/json", SECRET_HEADER: self._secret}
        port = self._ports[self._replicas.next()]
        return _post(("127.0.0.1", port), self._path, json.dumps(update).encode(), headers)

    def private(self, user: int, text: str) -> tuple[int, float]:
        """``user`` writes ``text`` to the bot in private."""
        return self.deliver(self.fake.send_private(user, text))

    def group(self, user: int, group: int, text: str) -> tuple[int, float]:
        """``user`` writes ``text`` in ``group``."""
        return self.deliver(self.fake.send_group(user, group, text))

    def click(self, user: int, prompt: Any, label: str) -> tuple[int, float]:
        """``user`` presses ``label`` on ``prompt``."""
        query = self.fake.press(user, prompt, label=label)
        return self.deliver(self.fake.update_of(query))


Side = SlackSide | TelegramSide


@dataclass(frozen=True, slots=True)
class Pace:
    """How long a member takes to read a question and click (uniform, seconds)."""

    think_min: float
    think_max: float
    wait_s: float  # how long a member waits for the next question before giving up


def play_member(
    *,
    side: Side,
    user: Any,
    chat: ChatState,
    steps: Sequence[Step],
    rng: random.Random,
    pace: Pace,
    recorder: Recorder,
    join: Callable[[], tuple[int, float]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait for the invitation, then click through ``steps``; whether the member finished.

    ``join`` is how a member who gets no private invitation joins: on Telegram,
    by the round's deep link in the group's announcement.
    """
    platform = side.platform
    try:
        if join is not None:
            sleep(rng.uniform(pace.think_min, pace.think_max))
            recorder.ack(platform, join())
        chat.wait(_has_start, timeout=pace.wait_s, what=f"{platform} invitation")
        for step in steps:
            sleep(rng.uniform(pace.think_min, pace.think_max))
            began = time.monotonic()
            recorder.ack(platform, side.click(user, chat.prompt, step.label))
            chat.wait(
                partial(_shows, expect=step.expect),
                timeout=pace.wait_s,
                what=f"{platform} {step.expect!r}",
            )
            recorder.step(platform, time.monotonic() - began)
    except (TimeoutError, OSError, AssertionError) as error:
        recorder.error(str(error))
        return False
    return True


def _shows(state: ChatState, *, expect: str) -> bool:
    return state.shows(expect)


def _has_start(state: ChatState) -> bool:
    prompt = state.prompt
    if prompt is None:
        return False
    labels = [
        button["text"]["text"]
        if "text" in button and isinstance(button["text"], dict)
        else button.get("text")
        for button in prompt.buttons
    ]
    return "start" in labels
