"""The console adapter: the whole product in a terminal, no accounts needed.

Input is one event per line::

    anna@team: /quickscan start      (said in the team channel)
    bram@dm: ++                      (said in bram's DM with the bot)
    @clock: 2027-01-04T08:00         (move the simulated time on; due pings fire)
    # a comment

Output is one block per message, ``[team]`` or ``[dm:<name>]`` (``[team>name]``
for a reply only ``name`` sees), with buttons as ``(1) ++  (2) +  ...``. A
button may be answered by typing its label or its number, as a click would.

Like every adapter, the console never prints what the engine returns: the engine
queues each message in the outbox, and after every input line the console lets a
dispatcher send everything due to the screen (:class:`ConsoleSender`), in the
order it was queued. So a message queued by an earlier run that ended before
printing it is printed at the next start.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from bot.core.engine import Engine
from bot.delivery.api import Delivery, Limit, SendResult, Sent
from bot.delivery.dispatcher import Dispatcher
from conversations.core.clock import SCHOOL_TZ, ShiftedClock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Button, DestinationKind, Inbound, Outbound, Sender, Where
from conversations.core.text_input import parse_bounded_int, quote
from storage.keys import TeamKey

PLATFORM = "console"
WORKSPACE = "console"
TEAM = "team"
CLOCK_PREFIX = "@clock:"
DEFAULT_MEMBERS = ("anna", "bram", "chris", "dewi", "eva", "fatima")
CONSOLE_LEASE = timedelta(seconds=1)
"""How long the console's claim on a row holds: printing takes no time, and one
console runs per database; a restart comes later than this."""
_LOG = logging.getLogger(__name__)
_LINE_RE = re.compile(r"^(?P<name>[\w.\-]+)@(?P<where>team|dm)\s*:\s?(?P<text>.*)$")


class ConsoleRoster:
    """The ``--members`` list plus everyone who has spoken."""

    def __init__(self, *, members: Iterable[str]) -> None:
        self._members: dict[str, None] = dict.fromkeys(members)

    def add(self, name: str) -> None:
        """Remember a speaker so the next round invites them too."""
        self._members.setdefault(name, None)

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """Everyone known, in the order they became known."""
        return [Sender(user=name, display_name=name) for name in self._members]


@dataclass
class ConsoleScreen:
    """Prints messages the way each destination would show them; remembers DM buttons."""

    out: TextIO
    show_dms: bool = True
    shown: int = 0
    """Messages shown so far (a DM hidden by ``show_dms`` counts too)."""
    _buttons: dict[str, tuple[Button, ...]] = field(default_factory=dict)

    def show(self, message: Outbound) -> None:
        """One block per message (two with ``details``), as the platforms would."""
        self.shown += 1
        destination = message.destination
        if destination.kind is DestinationKind.TEAM:
            tag = "[team]"
            if message.pin:  # a terminal cannot pin: say it, as a platform would show it
                tag = f"[team] ({Catalogue().t('pin.console_marker')})"
        elif destination.kind is DestinationKind.EPHEMERAL:
            tag = f"[team>{destination.user}]"
        else:
            tag = f"[dm:{destination.user}]"
            self._buttons[destination.user or ""] = message.buttons
            if not self.show_dms:
                return
        self._block(tag, message.text, message.buttons)
        if message.image is not None:
            self.write(f"  [{Catalogue().t('console.image')}: {message.image}]")
        if message.file is not None:
            self.write(f"  [{Catalogue().t('console.file')}: {message.file}]")
        if message.details:
            self._block(tag, message.details, ())

    def buttons(self, user: str) -> tuple[Button, ...]:
        """The buttons last shown in ``user``'s DM (typing one counts as a click)."""
        return self._buttons.get(user, ())

    def write(self, text: str) -> None:
        """One line, flushed at once (a person may be watching)."""
        self.out.write(text + "\n")
        self.out.flush()

    def _block(self, tag: str, text: str, buttons: tuple[Button, ...]) -> None:
        lines = text.splitlines() or [""]
        self.write(f"{tag} {lines[0]}")
        for line in lines[1:]:
            self.write(f"  {line}" if line else "")
        if buttons:
            self.write(
                "  " + "  ".join(f"({index}) {b.label}" for index, b in enumerate(buttons, 1))
            )


@dataclass
class ConsoleSender:
    """The console's ``PlatformSender``: a message is delivered once it is on the screen.

    Printing cannot be refused or rate limited, so there are no buckets and every
    send is :class:`Sent`.
    """

    screen: ConsoleScreen
    platform: str = PLATFORM

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        """None: a terminal takes any number of lines."""
        return ()

    def send(self, delivery: Delivery) -> SendResult:
        """Print the message (its chart or export already rendered to a path)."""
        self.screen.show(delivery.message)
        return Sent()


@dataclass
class ConsoleAdapter:
    """Translates console lines into events, and prints what the outbox holds after each."""

    engine: Engine
    roster: ConsoleRoster
    out: TextIO = field(default_factory=lambda: sys.stdout)
    show_dms: bool = True
    clock: ShiftedClock | None = None
    screen: ConsoleScreen = field(init=False)
    _dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.screen = ConsoleScreen(out=self.out, show_dms=self.show_dms)
        # One worker: run_until_idle sends on this thread anyway, in queue order. A
        # short lease: a row claimed by a run that was killed while printing it
        # must not hold up its chat after the restart (a bot's lease waits minutes).
        self._dispatcher = self.engine.dispatcher(
            sender=ConsoleSender(screen=self.screen), workers=1, lease=CONSOLE_LEASE
        )

    def feed(self, line: str) -> None:
        """Process one input line (comments and blank lines are skipped).

        A line that was not valid UTF-8 (read with ``surrogateescape``, so it holds
        lone surrogates) is reported and skipped; the next line works as usual.
        """
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return
        if not _is_utf8(stripped):
            self.screen.write(f"[console] {Catalogue().t('input.console_bad_utf8')}")
            return
        if stripped.startswith(CLOCK_PREFIX):
            self._advance_clock(stripped.removeprefix(CLOCK_PREFIX).strip())
            return
        match = _LINE_RE.match(stripped)
        if match is None:
            self.screen.write(f"[console] {Catalogue().t('console.bad_line')}")
            return
        name, text = match["name"], match["text"].strip()
        self.roster.add(name)
        where = Where.DM if match["where"] == "dm" else Where.TEAM
        payload = self._button_payload(name, text) if where is Where.DM else None
        event = Inbound(
            platform=PLATFORM,
            workspace=WORKSPACE,
            team=TEAM,
            where=where,
            sender=Sender(user=name, display_name=name),
            text=text,
            payload=payload,
        )
        before = self.screen.shown
        self.engine.handle(event)  # queued in the outbox; printed by the drain
        # With the database down, the engine tells the person directly (unqueued);
        # a second notice that the drain failed would only repeat it.
        self.drain(report=self.screen.shown == before)

    def drain(self, *, report: bool = True) -> None:
        """Print everything the outbox holds for the console, in the order it was queued.

        A failure (a database outage) is logged and, if ``report``, said on the
        screen; it is not fatal: what was not printed stays in the outbox and is
        printed after the next line.
        """
        try:
            self._dispatcher.run_until_idle()
        except Exception as error:  # a database outage must not end the console
            _LOG.error("the console's delivery failed: %s", type(error).__name__)
            if report:
                self.screen.write(f"[console] {Catalogue().t('input.console_failed')}")

    def run(self, stream: TextIO, *, interactive: bool) -> None:
        """Read lines until end of input; on a terminal, prompt for each line.

        ``stream`` should decode with ``errors="surrogateescape"`` (see
        :func:`reconfigure_stdin`), so invalid UTF-8 is one bad line, not the end.
        """
        if interactive:
            self.screen.write(Catalogue().t("console.welcome"))
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = stream.readline()
            if not line:
                return
            self.feed(line)

    # ---------------------------------------------------------------- helpers

    def _advance_clock(self, text: str) -> None:
        """``@clock: 2027-01-04T08:00`` (school time): jump forward, fire what is due."""
        if self.clock is None:
            self.screen.write(f"[console] {Catalogue().t('console.no_clock')}")
            return
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=SCHOOL_TZ)
            self.clock.jump_to(moment)
        except ValueError:
            self.screen.write(f"[console] {Catalogue().t('console.bad_clock', text=quote(text))}")
            return
        self.catch_up()

    def catch_up(self) -> None:
        """Fire the pings that are due, then print the outbox (and what an earlier run left).

        A failure (database outage) is reported, not fatal.
        """
        try:
            # This terminal alone prints the console's rows: a claim left now is from
            # a run killed mid-print, and its message is printed again (at least once).
            self._dispatcher.release_abandoned()
            self.engine.tick()
        except Exception as error:  # a database outage must not end the console
            _LOG.error("the console's clock tick failed: %s", type(error).__name__)
            self.screen.write(f"[console] {Catalogue().t('input.console_failed')}")
            return
        self.drain()

    def _button_payload(self, name: str, text: str) -> str | None:
        """A typed label or number of the last shown buttons counts as a click."""
        buttons = self.screen.buttons(name)
        lowered = text.lower()
        for button in buttons:
            if lowered == button.label.lower():
                return button.payload
        numeric_labels = any(button.label.isdigit() for button in buttons)
        number = parse_bounded_int(text, low=1, high=len(buttons))
        if number is not None and not numeric_labels:
            return buttons[number - 1].payload
        return None


def _is_utf8(text: str) -> bool:
    """Whether a line read with ``surrogateescape`` was valid UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def reconfigure_stdin(stream: TextIO) -> None:
    """Read ``stream`` as UTF-8 with ``surrogateescape``: invalid bytes become one bad line.

    Strict decoding raises in the middle of ``readline`` and ends the console; a
    pasted Latin-1 line should be reported and skipped instead.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", errors="surrogateescape")
