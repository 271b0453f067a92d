"""A school year of the checklist in the console, driven only by ``@clock`` and the calendar.

Nobody opens or closes a round: the team names its region, teachers register
their classes, and the simulated clock walks the year. Round 1 opens three weeks
before the herfstvakantie, closes after it, round 2 is announced before the
kerstvakantie and opens after it; the comparison reaches each teacher privately
and the team channel only ever shows aggregates (no pupil label).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console import ConsoleAdapter, ConsoleRoster
from bot.core.engine import Engine
from conversations.core.clock import ShiftedClock, SystemClock
from conversations.instrument import load_instruments
from storage.quickscan.store import Store
from tests.console_harness import CONSOLE_TEAM, Console, parse_blocks, texts_for
from tests.test_checklist_console import CLASSES, LABELS, SIX, register, team_output

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_the_calendar_runs_the_checklist_year(database_url: str, tmp_path: Path) -> None:
    clock = ShiftedClock(base=SystemClock(), start=datetime(2026, 8, 24, 9, tzinfo=AMSTERDAM))
    store = Store.open(url=database_url)
    roster = ConsoleRoster(members=SIX)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=roster,
        clock=clock,
        output_dir=tmp_path,
    )
    out = io.StringIO()
    console = Console(
        adapter=ConsoleAdapter(engine=engine, roster=roster, out=out, clock=clock),
        out=out,
        store=store,
    )
    # anna set the bot up before (whoever first starts a round becomes coordinator).
    store.ensure_team(key=CONSOLE_TEAM, founder="anna", now=clock.now())
    try:
        console.say("anna@team: /quickscan gemeente Tilburg")  # zuid: herfst 17-25 Oct 2026
        for name in SIX:
            register(console, name)

        opened = console.say("@clock: 2026-09-28T08:00")
        assert "ronde 1 (2026/27) is geopend" in texts_for(opened, "team")[0]
        assert all(texts_for(opened, f"dm:{name}") for name in SIX)
        for name in SIX:
            console.say(f"{name}@dm: /checklist invullen")
            console.say(*[f"{name}@dm: 2 2 3 3 2 2" for _ in CLASSES[name]])

        first = console.say("@clock: 2026-10-26T08:00")  # first school day after herfst
        assert any("teamtotalen ronde 1" in text for text in texts_for(first, "team"))

        announced = console.say("@clock: 2026-12-14T08:00")
        assert any("ronde 2" in text for text in texts_for(announced, "team"))

        second = console.say("@clock: 2027-01-04T08:00")  # first school day after kerst
        assert "ronde 2 (2026/27) is geopend" in texts_for(second, "team")[0]
        for name in SIX:
            console.say(f"{name}@dm: /checklist invullen")
            console.say(*[f"{name}@dm: 3 3 3 3 3 3" for _ in CLASSES[name]])

        final = console.say("@clock: 2027-01-26T08:00")  # after the three-week deadline
        assert any("teamtotalen ronde 2" in text for text in texts_for(final, "team"))
        comparison = "\n".join(texts_for(final, "dm:anna"))
        assert "ronde 1 → ronde 2" in comparison
        assert "AN1Q" in comparison
        assert "BR1Q" not in comparison

        nothing_twice = console.say("@clock: 2027-01-27T08:00")
        assert texts_for(nothing_twice, "team") == []
    finally:
        store.close()
    channel = team_output(list(parse_blocks(out.getvalue().splitlines())))
    assert not {label for label in LABELS if label in channel}
