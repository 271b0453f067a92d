"""A scriptable platform sender and clock helpers for the delivery tests.

The fake sender records every delivery it is given, answers from a per-chat
script (Sent by default), and can hold a chat's sends at a gate so the threaded
tests can see which chats progress while another one is stuck.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.delivery.api import Delivery, Limit, SendResult, Sent
from conversations.core.messages import DestinationKind
from tests.conftest import FakeClock

PLATFORM = "slack"
WORKSPACE = "T-school"
HANG_GUARD_SECONDS = 30.0
"""How long a threaded test waits for something before failing (never a timing assertion)."""


def chat_of(delivery: Delivery) -> str:
    """The chat a delivery goes to: the team channel, or the member for a DM."""
    destination = delivery.message.destination
    if destination.kind is DestinationKind.TEAM:
        return destination.team
    return f"{destination.kind.value}:{destination.user}"


def monotonic_of(clock: FakeClock) -> Callable[[], float]:
    """A monotonic clock (seconds) that moves exactly as ``clock`` does."""
    start = clock.now()
    return lambda: (clock.now() - start).total_seconds()


@dataclass
class FakeSender:
    """A PlatformSender whose answers the test decides.

    Attributes:
        script: Per chat (:func:`chat_of`), the results of its next sends, in turn;
            a chat with nothing scripted gets :class:`Sent`.
        limits_for: The limits of a delivery (none by default).
        gates: Per chat, an event its sends wait for (a slow or hung platform).
        deliveries: Every delivery sent, in order.
    """

    platform: str = PLATFORM
    script: dict[str, list[SendResult | Exception]] = field(default_factory=dict)
    limits_for: Callable[[Delivery], Sequence[Limit]] = lambda _delivery: ()
    gates: dict[str, threading.Event] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    entered: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        return self.limits_for(delivery)

    def send(self, delivery: Delivery) -> SendResult:
        chat = chat_of(delivery)
        with self.changed:
            self.entered.append(chat)
            self.changed.notify_all()
        gate = self.gates.get(chat)
        if gate is not None:
            assert gate.wait(HANG_GUARD_SECONDS), f"the gate of {chat} never opened"
        with self.changed:
            queued = self.script.get(chat)
            result = queued.pop(0) if queued else Sent(ref=f"ref-{delivery.outbox_id}")
            self.deliveries.append(delivery)
            self.changed.notify_all()
        if isinstance(result, Exception):
            raise result
        return result

    def texts(self) -> list[str]:
        """The texts sent so far, in order (successful or not)."""
        with self.changed:
            return [delivery.message.text for delivery in self.deliveries]

    def wait_for(self, predicate: Callable[[FakeSender], bool]) -> None:
        """Block until ``predicate`` holds (a hang guard fails the test otherwise)."""
        with self.changed:
            reached = self.changed.wait_for(lambda: predicate(self), HANG_GUARD_SECONDS)
        assert reached, "the expected sends never happened"
