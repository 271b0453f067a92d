"""Helpers for driving the console adapter from tests, line by line."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.console import PLATFORM, TEAM, WORKSPACE, ConsoleAdapter, ConsoleRoster
from bot.core.engine import Engine
from conversations.core.clock import Clock, ShiftedClock
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store

QUESTIONS = 48
CONSOLE_TEAM = TeamKey(platform=PLATFORM, workspace=WORKSPACE, team=TEAM)
_BLOCK_START = re.compile(r"^\[(team|team>[^\]]+|dm:[^\]]+|console)\] ")


@dataclass
class Console:
    """A console adapter writing into a buffer, with helpers to read its blocks."""

    adapter: ConsoleAdapter
    out: io.StringIO
    store: Store
    _read: int = field(default=0)

    def say(self, *lines: str) -> list[tuple[str, str]]:
        """Feed lines; return the (tag, text) blocks printed in response."""
        for line in lines:
            self.adapter.feed(line)
        return self.new_blocks()

    def new_blocks(self) -> list[tuple[str, str]]:
        """Blocks printed since the last call."""
        text = self.out.getvalue()[self._read :]
        self._read = len(self.out.getvalue())
        return list(parse_blocks(text.splitlines()))


def parse_blocks(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Group printed lines into (tag, text) blocks: ``[team] ...`` starts a block."""
    tag: str | None = None
    body: list[str] = []
    for line in lines:
        match = _BLOCK_START.match(line)
        if match:
            if tag is not None:
                yield tag, "\n".join(body)
            tag, body = match[1], [line[match.end() :]]
        elif tag is not None:
            body.append(line)
    if tag is not None:
        yield tag, "\n".join(body)


def make_console(
    *,
    database_url: str,
    members: Sequence[str],
    clock: Clock,
    output_dir: Path,
    coordinator: str | None = None,
) -> Console:
    """An engine on ``database_url`` behind a console adapter that prints to a buffer.

    ``coordinator`` sets the console team up with that member as its coordinator, as
    if they had started a round before, so a test can change settings first. A
    :class:`ShiftedClock` is also the console's simulated clock (``@clock:`` lines).
    """
    store = Store.open(url=database_url)
    if coordinator is not None:
        store.ensure_team(key=CONSOLE_TEAM, founder=coordinator, now=clock.now())
    roster = ConsoleRoster(members=members)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=roster,
        clock=clock,
        output_dir=output_dir,
    )
    out = io.StringIO()
    simulated = clock if isinstance(clock, ShiftedClock) else None
    adapter = ConsoleAdapter(engine=engine, roster=roster, out=out, clock=simulated)
    return Console(adapter=adapter, out=out, store=store)


def walkthrough_lines(
    name: str, *, answer: str, grades: Sequence[int] = (7, 6, 8), send: bool = True
) -> list[str]:
    """Console lines for one member answering every question with ``answer``."""
    lines = [f"{name}@dm: start"]
    lines += [f"{name}@dm: {answer}"] * QUESTIONS
    lines += [f"{name}@dm: {grade}" for grade in grades]
    lines += [f"{name}@dm: overslaan"] * 3
    if send:
        lines.append(f"{name}@dm: versturen")
    return lines


def texts_for(blocks: Sequence[tuple[str, str]], tag: str) -> list[str]:
    """The texts of the blocks with one tag."""
    return [text for block_tag, text in blocks if block_tag == tag]
