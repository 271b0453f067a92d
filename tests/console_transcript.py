"""A long console session whose printed output is kept verbatim (tests/console_transcript.txt).

The console prints what the outbox holds after each line; this script pins that
the screen shows exactly what it showed when the console printed the engine's
return value directly: every command family, the walkthrough with its buttons,
errors and refusals, the team result with its chart, exports, a member's data
file, the checklist, and pings fired by ``@clock``. Paths of rendered files are
reduced to their kind and suffix (the folder is a temporary one).

Run as a script to print the transcript of a session (``--database`` a URL,
``--output`` a folder) when a text changes on purpose.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tests.console_harness import walkthrough_lines

START = datetime(2026, 9, 14, 7, 0, tzinfo=UTC)  # a Monday in school time, 09:00
MEMBERS = ("anna", "bram", "chris", "dewi", "eva", "fatima")
ANSWERS = {"anna": "++", "bram": "+", "chris": "+", "dewi": "+/-", "eva": "-", "fatima": "?"}
CLASS = ("AQ1", "AQ2")
_FILE = re.compile(r"\[(?P<what>[^\]:]+): (?P<path>/[^\]]*?)(?P<suffix>\.[A-Za-z0-9]+)?\]")


def session() -> Iterator[str]:
    """The console lines of the session, comments included (they print nothing)."""
    yield "# refusals and settings before anything started"
    yield "bram@team: /quickscan status"
    yield "bram@team: /quickscan help"
    yield "anna@team: /quickscan begni"
    yield "anna@team: /quickscan start 31-02-2027"
    yield "anna@team: /quickscan start 01-01-2020"
    yield "anna@team: /quickscan start 02-10-2026"
    yield "anna@team: /quickscan start"
    yield "bram@team: /quickscan sluit"
    yield "anna@team: /quickscan minimum 2"
    yield "anna@team: /quickscan regio midden"
    yield "anna@team: /quickscan coordinator @bram"
    yield "anna@team: /quickscan kalender"
    yield "anna@team: /quickscan drempel"
    yield "this is no console line"
    yield "@clock: morgen"
    yield "# the walkthrough: straight, paused, back, a bad grade, open answers"
    yield from walkthrough_lines("anna", answer=ANSWERS["anna"])
    yield "bram@dm: start"
    yield from ["bram@dm: 2"] * 3
    yield "bram@dm: later"
    yield "bram@dm: hallo"
    yield "bram@dm: /quickscan status"
    yield from ["bram@dm: +"] * 45
    yield "bram@dm: 11"
    yield from ["bram@dm: 7", "bram@dm: 6", "bram@dm: 8"]
    yield "bram@dm: Meer contact met ouders."
    yield from ["bram@dm: overslaan"] * 2
    yield "bram@dm: wijzig 12"
    yield "bram@dm: --"
    yield "bram@dm: versturen"
    yield "chris@dm: start"
    yield from ["chris@dm: +"] * 5
    yield "chris@dm: vorige"
    yield "chris@dm: misschien"
    yield "chris@dm: --"
    yield from ["chris@dm: +"] * 43
    yield from ["chris@dm: 7", "chris@dm: 6", "chris@dm: 8"]
    yield from ["chris@dm: overslaan"] * 3
    yield "chris@dm: versturen"
    for name in ("dewi", "eva", "fatima"):
        yield from walkthrough_lines(name, answer=ANSWERS[name])
    yield "# a reminder, the result, its chart and export"
    yield "@clock: 2026-09-29T08:00"
    yield "bram@team: /quickscan status"
    yield "anna@team: /quickscan sluit"
    yield "bram@team: /quickscan grafiek vragen"
    yield "bram@team: /quickscan export"
    yield "anna@team: /quickscan export"
    yield "anna@dm: wijzig"
    yield "chris@team: /quickscan mijn-gegevens"
    yield "eva@team: /quickscan vergeet-mij"
    yield "# the checklist"
    yield "anna@team: /quickscan checklist"
    yield "anna@dm: /checklist klas"
    yield from [f"anna@dm: {label}" for label in CLASS]
    yield "anna@dm: klaar"
    yield "anna@team: /quickscan checklist start 1 16-10"
    yield "anna@dm: /checklist invullen"
    yield "anna@dm: 2 2 3 3 2 2"
    yield from ["anna@dm: 3", "anna@dm: 7", "anna@dm: 11", "anna@dm: 15", "anna@dm: 18"]
    yield "anna@dm: 22"
    yield "anna@team: /quickscan checklist sluit"
    yield "anna@dm: /checklist export"
    yield "# the calendar moves on: pings fire once"
    yield "@clock: 2026-10-26T08:00"
    yield "@clock: 2026-10-27T08:00"
    yield "bram@team: /quickscan taal en"
    yield "anna@team: /quickscan taal en"
    yield "anna@team: /quickscan help"


def normalise(text: str) -> str:
    """The printed text with rendered files as ``[kind: <file.suffix>]``."""
    return _FILE.sub(lambda m: f"[{m['what']}: <file{m['suffix'] or ''}>]", text)


def _main() -> int:
    """Print the session's transcript with the code on the path (see the docstring)."""
    from adapters.console import ConsoleAdapter, ConsoleRoster
    from bot.core.engine import Engine
    from conversations.core.clock import ShiftedClock
    from conversations.instrument import load_instruments
    from storage.quickscan.store import Store
    from tests.conftest import FakeClock

    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    clock = ShiftedClock(base=FakeClock(start=START))
    store = Store.open(url=args.database)
    roster = ConsoleRoster(members=MEMBERS)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=roster,
        clock=clock,
        output_dir=args.output,
    )
    out = io.StringIO()
    adapter = ConsoleAdapter(engine=engine, roster=roster, out=out, clock=clock)
    try:
        for line in session():
            adapter.feed(line)
    finally:
        store.close()
    sys.stdout.write(normalise(out.getvalue()))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
