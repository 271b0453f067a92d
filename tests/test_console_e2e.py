"""End to end through the real console adapter, engine and storage (SQLite and PostgreSQL).

The console prints only what the outbox holds, after each line: the last tests pin
that it prints exactly what it printed before the outbox, and that a message
queued but never printed (the process ended in between) is printed once, at the
next start.
"""

from __future__ import annotations

import difflib
import io
import re
from pathlib import Path

import pytest

from adapters.console import PLATFORM, TEAM, WORKSPACE, ConsoleAdapter, ConsoleRoster
from conversations.core.clock import ShiftedClock
from conversations.core.messages import Inbound, Sender, Where
from tests import console_transcript
from tests.conftest import FakeClock
from tests.console_harness import (
    QUESTIONS,
    make_console,
    parse_blocks,
    texts_for,
    walkthrough_lines,
)

SIX = ("anna", "bram", "chris", "dewi", "eva", "fatima")
ANSWERS = {"anna": "++", "bram": "+", "chris": "+", "dewi": "+/-", "eva": "-", "fatima": "?"}


def test_a_whole_round_with_six_members(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        started = console.say("anna@team: /quickscan start 15-01")
        team = texts_for(started, "team")
        assert len(team) == 1
        assert "6 teamleden krijgen een privébericht" in team[0]
        assert "Deadline: 15-01-2025" in team[0]
        for name in SIX:
            (intro,) = texts_for(started, f"dm:{name}")
            assert "individuele antwoorden worden nooit aan iemand getoond" in intro
            assert "(1) start" in intro

        # A second start while the round is open changes nothing.
        again = console.say("anna@team: /quickscan start")
        assert texts_for(again, "team") == []
        assert "loopt al een quickscan-ronde" in texts_for(again, "team>anna")[0]

        # anna answers everything straight through.
        console.say(*walkthrough_lines("anna", answer=ANSWERS["anna"]))

        # bram pauses at question 10 and resumes there with any message.
        console.say("bram@dm: start", *["bram@dm: +"] * 9)
        paused = console.say("bram@dm: later")
        assert "Gepauzeerd" in texts_for(paused, "dm:bram")[-1]
        resumed = console.say("bram@dm: hallo, ik ga verder")
        assert "vraag 10 van 48" in texts_for(resumed, "dm:bram")[-1]
        console.say(*["bram@dm: +"] * (QUESTIONS - 9))
        console.say("bram@dm: 7", "bram@dm: 6", "bram@dm: 8", *["bram@dm: overslaan"] * 3)
        sent = console.say("bram@dm: versturen")
        assert "Bedankt" in texts_for(sent, "dm:bram")[-1]

        # chris goes back from question 6 and changes question 5 from + to --.
        console.say("chris@dm: start", *["chris@dm: +"] * 5)
        back = console.say("chris@dm: vorige")
        shown = texts_for(back, "dm:chris")[-1]
        assert "vraag 5 van 48" in shown
        assert "Je huidige antwoord: +" in shown
        after = console.say("chris@dm: --")
        assert "vraag 6 van 48" in texts_for(after, "dm:chris")[-1]
        console.say(*["chris@dm: +"] * (QUESTIONS - 5))
        console.say("chris@dm: 7", "chris@dm: 6", "chris@dm: 8", *["chris@dm: overslaan"] * 3)
        console.say("chris@dm: versturen")

        # dewi gives a bad grade first: a clear answer, nothing changes.
        console.say("dewi@dm: start", *["dewi@dm: +/-"] * QUESTIONS)
        bad = console.say("dewi@dm: 11")
        dewi = texts_for(bad, "dm:dewi")
        assert dewi[0] == "Geef een heel cijfer van 1 tot en met 10."
        assert "cijfer 1 van 3" in dewi[1]
        console.say("dewi@dm: 7", "dewi@dm: 6", "dewi@dm: 8", *["dewi@dm: overslaan"] * 3)
        console.say("dewi@dm: versturen")

        console.say(*walkthrough_lines("eva", answer=ANSWERS["eva"]))
        console.say(*walkthrough_lines("fatima", answer=ANSWERS["fatima"]))

        status = console.say("bram@team: /quickscan status")
        assert "6 uitgenodigd · 6 begonnen · 6 verstuurd" in texts_for(status, "team")[0]

        # A non-coordinator cannot close the round.
        refused = console.say("bram@team: /quickscan sluit")
        assert texts_for(refused, "team") == []
        assert "Alleen een coördinator" in texts_for(refused, "team>bram")[0]

        closed = console.say("anna@team: /quickscan close")
        headline, details = texts_for(closed, "team")
        assert "Deelname: 6 van 6" in headline
        assert "Attitude en organisatie: 7,0 (6 cijfers)" in headline
        # Question 1: ++ anna, + bram and chris, +/- dewi, - eva, ? fatima.
        assert "1. Vindt de school het belangrijk om samen te werken met ouders?" in details
        assert "++ 1 · + 2 · +/- 1 · - 1 · -- 0 · ? 1" in details
        # Question 5 carries chris's changed answer.
        assert "++ 1 · + 1 · +/- 1 · - 1 · -- 1 · ? 1" in details
        for name in SIX:  # the result never names anyone
            assert re.search(rf"\b{name}\b", headline + details) is None

        # After closing, answers cannot change and a stale button does nothing.
        late = console.say("anna@dm: wijzig")
        assert "ronde is gesloten" in texts_for(late, "dm:anna")[0]
        typed = console.say("anna@dm: hallo")
        assert "geen quickscan voor je open" in texts_for(typed, "dm:anna")[0]
    finally:
        console.store.close()


def test_four_members_get_participation_only(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    four = SIX[:4]
    console = make_console(
        database_url=database_url, members=four, clock=clock, output_dir=tmp_path
    )
    try:
        console.say("anna@team: /quickscan start")
        for name in four:
            console.say(*walkthrough_lines(name, answer=ANSWERS[name]))
        closed = console.say("anna@team: /quickscan sluit")
        (headline,) = texts_for(closed, "team")
        assert "Deelname: 4 van 4" in headline
        assert "pas resultaten per vraag getoond vanaf 5" in headline
        assert "Vindt de school" not in headline
        assert "Cijfers per aspect" not in headline
    finally:
        console.store.close()


def test_bad_commands_change_nothing(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        unknown = console.say("anna@team: /quickscan begni")
        assert "'begni' is geen quickscan-opdracht" in texts_for(unknown, "team>anna")[0]
        past = console.say("anna@team: /quickscan start 2024-12-01")
        assert "in het verleden" in texts_for(past, "team>anna")[0]
        invalid = console.say("anna@team: /quickscan start 31-02-2025")
        assert "geen geldige datum" in texts_for(invalid, "team>anna")[0]
        status = console.say("anna@team: /quickscan status")
        assert "Er loopt geen quickscan-ronde" in texts_for(status, "team>anna")[0]
        nobody = console.say("bram@team: /quickscan start")
        assert "Alleen een coördinator" in texts_for(nobody, "team>bram")[0]
        added = console.say("anna@team: /quickscan coordinator @bram")
        assert "bram is nu coördinator" in texts_for(added, "team")[0]
        opened = console.say("bram@team: /quickscan start")
        assert "bram heeft de quickscan" in texts_for(opened, "team")[0]
        low = console.say("anna@team: /quickscan minimum 2")
        assert "niet lager dan 3" in texts_for(low, "team>anna")[0]
        unknown_dm = console.say("chris@dm: start", "chris@dm: misschien")
        assert "Dat antwoord ken ik niet" in texts_for(unknown_dm, "dm:chris")[-2]
        assert "vraag 1 van 48" in texts_for(unknown_dm, "dm:chris")[-1]
    finally:
        console.store.close()


def test_english_interface(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    console = make_console(
        database_url=database_url,
        members=SIX[:2],
        clock=clock,
        output_dir=tmp_path,
        coordinator="anna",
    )
    try:
        console.say("anna@team: /quickscan language en")
        started = console.say("anna@team: /quickscan start")
        assert "started the quickscan" in texts_for(started, "team")[0]
        first = console.say("bram@dm: start")
        prompt = texts_for(first, "dm:bram")[-1]
        assert "question 1 of 48" in prompt
        # Instrument texts stay Dutch.
        assert "Vindt de school het belangrijk om samen te werken met ouders?" in prompt
    finally:
        console.store.close()


def test_chart_export_thresholds_and_trend(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        console.say("anna@team: /quickscan start")
        none_yet = console.say("anna@team: /quickscan export")
        assert "nog geen gesloten" in texts_for(none_yet, "team>anna")[0]
        for name in SIX:
            console.say(*walkthrough_lines(name, answer=ANSWERS[name]))
        closed = console.say("anna@team: /quickscan sluit")
        assert "[afbeelding: " in console.out.getvalue()
        assert "*Voor het teamoverleg*" in texts_for(closed, "team")[1]

        chart = console.say("bram@team: /quickscan grafiek vragen")
        (posted,) = texts_for(chart, "team")
        assert "Quickscan per vraag (6 ingevulde quickscans)" in posted
        image = Path(posted.split("[afbeelding: ")[1].rstrip("]"))
        assert image.read_bytes().startswith(b"\x89PNG")

        refused = console.say("bram@team: /quickscan export")
        assert "Alleen een coördinator" in texts_for(refused, "team>bram")[0]
        exported = console.say("anna@team: /quickscan export")
        assert "Excel-bestand" in texts_for(exported, "team>anna")[0]
        (dm,) = texts_for(exported, "dm:anna")
        workbook = Path(dm.split("[bestand: ")[1].rstrip("]"))
        assert workbook.suffix == ".xlsx"
        assert workbook.stat().st_size > 0

        shown = console.say("bram@team: /quickscan drempel")
        assert "verdeeld: minstens 25 %" in texts_for(shown, "team>bram")[0]
        not_allowed = console.say("bram@team: /quickscan drempel verdeeld 30")
        assert "Alleen een coördinator" in texts_for(not_allowed, "team>bram")[0]
        bad = console.say("anna@team: /quickscan drempel verdeeld 130")
        assert "geen geldige waarde" in texts_for(bad, "team>anna")[0]
        changed = console.say("anna@team: /quickscan drempel verdeeld 30")
        assert "verdeeld: minstens 30 %" in texts_for(changed, "team")[0]

        # A second round: the result shows the change per factor since the first.
        clock.advance(days=30)
        console.say("anna@team: /quickscan start")
        for name in SIX:
            console.say(*walkthrough_lines(name, answer="++"))
        again = console.say("anna@team: /quickscan sluit")
        details = texts_for(again, "team")[1]
        assert "(sinds vorige ronde +" in details
    finally:
        console.store.close()


def test_the_console_prints_what_it_always_printed(database_url: str, tmp_path: Path) -> None:
    clock = ShiftedClock(base=FakeClock(start=console_transcript.START))
    console = make_console(
        database_url=database_url,
        members=console_transcript.MEMBERS,
        clock=clock,
        output_dir=tmp_path,
    )
    try:
        for line in console_transcript.session():
            console.adapter.feed(line)
    finally:
        console.store.close()
    printed = console_transcript.normalise(console.out.getvalue()).splitlines()
    expected = (Path(__file__).parent / "console_transcript.txt").read_text().splitlines()
    diff = list(difflib.unified_diff(expected, printed, "before", "now", lineterm="", n=1))
    assert not diff, "\n".join(diff[:60])


def _start_event(user: str) -> Inbound:
    return Inbound(
        platform=PLATFORM,
        workspace=WORKSPACE,
        team=TEAM,
        where=Where.TEAM,
        sender=Sender(user=user, display_name=user),
        text="/quickscan start",
    )


def test_what_was_queued_but_not_printed_is_printed_once_after_a_restart(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=SIX[:3], clock=clock, output_dir=tmp_path
    )
    try:
        # The engine queued the round's messages, then the process ended unprinted.
        console.adapter.engine.handle(_start_event("anna"))
        assert console.new_blocks() == []
        out = io.StringIO()
        restarted = ConsoleAdapter(
            engine=console.adapter.engine, roster=ConsoleRoster(members=SIX[:3]), out=out
        )
        restarted.catch_up()
        blocks = list(parse_blocks(out.getvalue().splitlines()))
        assert [tag for tag, _text in blocks] == ["team", "dm:anna", "dm:bram", "dm:chris"]
        assert "3 teamleden krijgen een privébericht" in blocks[0][1]
        restarted.catch_up()
        console.adapter.catch_up()
        assert len(list(parse_blocks(out.getvalue().splitlines()))) == len(blocks)
        assert console.new_blocks() == []  # the first console prints nothing twice
        # The buttons printed after the restart answer as clicks there.
        restarted.feed("bram@dm: 1")
        tag, prompt = list(parse_blocks(out.getvalue().splitlines()))[-1]
        assert tag == "dm:bram"
        assert "vraag 1 van 48" in prompt
    finally:
        console.store.close()


class _KilledWhilePrinting(io.StringIO):
    """The process dies (here: an interrupt) while it prints bram's invitation."""

    def write(self, text: str) -> int:
        if text.startswith("[dm:bram]"):
            raise KeyboardInterrupt
        return super().write(text)


def test_a_message_whose_printing_was_killed_is_printed_at_the_restart(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=SIX[:3], clock=clock, output_dir=tmp_path
    )
    try:
        engine, roster = console.adapter.engine, ConsoleRoster(members=SIX[:3])
        killed = ConsoleAdapter(engine=engine, roster=roster, out=_KilledWhilePrinting())
        with pytest.raises(KeyboardInterrupt):
            killed.feed("anna@team: /quickscan start")
        out = io.StringIO()
        restarted = ConsoleAdapter(engine=engine, roster=roster, out=out)
        # The same moment, bram's chat still claimed by the dead run: the console alone
        # prints its rows, so the restart frees that claim instead of waiting it out.
        restarted.catch_up()
        blocks = list(parse_blocks(out.getvalue().splitlines()))
        assert sorted(tag for tag, _ in blocks) == ["dm:bram", "dm:chris"]
        assert any("Hallo bram!" in text for tag, text in blocks if tag == "dm:bram")
        restarted.catch_up()  # printed once: nothing is left
        assert list(parse_blocks(out.getvalue().splitlines())) == blocks
    finally:
        console.store.close()


class _BrokenDispatcher:
    def run_until_idle(self) -> None:
        raise OSError("database gone")


def test_a_failed_drain_is_reported_and_printed_after_the_next_line(
    database_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = make_console(
        database_url=database_url, members=SIX[:2], clock=clock, output_dir=tmp_path
    )
    try:
        working = console.adapter._dispatcher  # the fault is injected here
        monkeypatch.setattr(console.adapter, "_dispatcher", _BrokenDispatcher())
        failed = console.say("anna@team: /quickscan start")
        assert [tag for tag, _text in failed] == ["console"]
        monkeypatch.setattr(console.adapter, "_dispatcher", working)
        later = console.say("bram@team: /quickscan status")
        assert [tag for tag, _text in later] == ["team", "dm:anna", "dm:bram", "team"]
        assert "2 uitgenodigd" in later[-1][1]
    finally:
        console.store.close()
