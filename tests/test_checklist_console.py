"""The checklist end to end through the console adapter (SQLite and PostgreSQL).

A console script plays a school year: class registration, round 1 opened by the
coordinator, scores by fast path and by buttons, closing, round 2 in January, the
private comparison in each teacher's DM and the team aggregate in ``[team]``, where
no pupil label ever appears. (The scheduler's ``@clock`` lines are not used here:
the test moves the fake clock itself and the coordinator opens the rounds.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import FakeClock
from tests.console_harness import Console, make_console, parse_blocks, texts_for

SIX = ("anna", "bram", "chris", "dewi", "eva", "fatima")
CLASSES = {name: [f"{name[:2].upper()}{n}Q" for n in range(1, 4)] for name in SIX}
LABELS = {label for labels in CLASSES.values() for label in labels}
SEPTEMBER = datetime(2026, 9, 28, 7, 0, tzinfo=UTC)
JANUARY = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)


def register(console: Console, name: str) -> None:
    console.say(f"{name}@team: /quickscan checklist", f"{name}@dm: /checklist klas")
    console.say(*[f"{name}@dm: {label}" for label in CLASSES[name]], f"{name}@dm: klaar")


def buttons_for(scores: str) -> list[str]:
    """The console button numbers that set six scores (four buttons per statement)."""
    return [str(index * 4 + int(code)) for index, code in enumerate(scores.split())]


def team_output(blocks: list[tuple[str, str]]) -> str:
    return "\n".join(text for tag, text in blocks if tag == "team" or tag.startswith("team>"))


def test_a_school_year_of_the_checklist(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock(start=SEPTEMBER)
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    everything: list[tuple[str, str]] = []

    def say(*lines: str) -> list[tuple[str, str]]:
        blocks = console.say(*lines)
        everything.extend(blocks)
        return blocks

    try:
        bound = say("anna@team: /quickscan checklist")
        assert "privébericht" in texts_for(bound, "team>anna")[0]
        assert "initialen of een code" in texts_for(bound, "dm:anna")[0]
        say("anna@dm: /checklist klas")
        added = say(*[f"anna@dm: {label}" for label in CLASSES["anna"]], "anna@dm: klaar")
        assert "Je klas staat erin: 3 leerlingen" in texts_for(added, "dm:anna")[-1]
        for name in SIX[1:]:
            register(console, name)

        opened = say("anna@team: /quickscan checklist start 1 16-10")
        (announcement,) = texts_for(opened, "team")
        assert "ronde 1 (2026/27) is geopend" in announcement
        assert "Deadline: vr 16-10-2026." in announcement
        for name in SIX:
            assert "/checklist invullen" in texts_for(opened, f"dm:{name}")[0]

        # Round 1: most teachers use the fast path ...
        for name in SIX[1:]:
            say(f"{name}@dm: /checklist invullen")
            say(*[f"{name}@dm: 2 2 3 3 2 2" for _ in CLASSES[name]])
        # ... anna uses the buttons for her first pupil, then pauses and resumes.
        first = say("anna@dm: /checklist invullen")
        assert "*AN1Q* · leerling 1 van 3" in texts_for(first, "dm:anna")[0]
        pressed = say(*[f"anna@dm: {number}" for number in buttons_for("2 2 3 3 2 2")])
        shown = texts_for(pressed, "dm:anna")[-1]
        assert "(25) volgende leerling" in shown
        assert "6. van deze leerling weet ik" in shown
        step = say("anna@dm: 26")  # verbeterstap toevoegen
        assert "verbeterstap voor *AN1Q*" in texts_for(step, "dm:anna")[0]
        after = say("anna@dm: samen met de ib'er een huisbezoek plannen")
        assert "*AN2Q* · leerling 2 van 3" in texts_for(after, "dm:anna")[0]
        paused = say("anna@dm: later")
        assert "Gepauzeerd: 1 van 3" in texts_for(paused, "dm:anna")[0]
        resumed = say("anna@dm: ik ga verder")
        assert "*AN2Q*" in texts_for(resumed, "dm:anna")[0]
        done = say("anna@dm: 2 2 3 3 2 2", "anna@dm: 2 2 3 3 2 2")
        assert "Klaar: alle 3 leerlingen" in texts_for(done, "dm:anna")[-1]

        status = say("bram@team: /quickscan checklist status")
        assert "6 leraren doen mee · 6 begonnen · 6 klaar" in texts_for(status, "team")[0]
        closed = say("anna@team: /quickscan checklist sluit")
        (first_result,) = texts_for(closed, "team")
        assert "Deelname: 6 van 6 leraren" in first_result
        assert "Samen 18 leerlingen" in first_result
        assert "gezinsachtergrond: *100 %*" in first_result
        assert "ronde 1 → ronde 2" not in console.out.getvalue()

        # January: round 2, after the kerstvakantie.
        clock.advance(JANUARY - SEPTEMBER)
        second = say("anna@team: /quickscan checklist start 2")
        assert "ronde 2 (2026/27) is geopend" in texts_for(second, "team")[0]
        for name in SIX:
            say(f"{name}@dm: /checklist invullen")
            rows = ["3 3 3 3 3 3", "1 1 3 3 2 2", "2 2 3 3 2 2"]
            say(*[f"{name}@dm: {row}" for row in rows])
        final = say("anna@team: /quickscan checklist sluit")
        (team_result,) = texts_for(final, "team")
        assert "teamtotalen ronde 2 (2026/27)" in team_result
        assert "*33 %* (+33 procentpunt sinds ronde 1)" in team_result
        assert "gezinsachtergrond: *100 %* (0 procentpunt sinds ronde 1)" in team_result

        # Each teacher privately: round 1 vs round 2 per pupil, improved, attention.
        comparison, table = texts_for(final, "dm:anna")
        assert "jouw klas, ronde 1 → ronde 2" in comparison
        assert "*Vooruitgegaan (1):* AN1Q (+4)" in comparison
        assert "laagste totaal eerst): AN2Q (12), AN3Q (14)" in comparison
        assert "• AN1Q: 2 2 3 3 2 2 → 3 3 3 3 3 3 (+4)" in table
        assert "huisbezoek plannen" in table
        assert not any(label in comparison + table for label in CLASSES["bram"])  # hers only
        assert "BR1Q" in "\n".join(texts_for(final, "dm:bram"))

        exported = say("anna@dm: /checklist export")
        (sent,) = texts_for(exported, "dm:anna")
        workbook = Path(sent.split("[bestand: ")[1].rstrip("]"))
        assert workbook.suffix == ".xlsx"
        assert not any(label in workbook.name for label in LABELS)
    finally:
        console.store.close()

    channel = team_output(everything)
    assert "Deelname" in channel
    leaked = {label for label in LABELS if label in channel}
    assert not leaked


def test_two_teachers_see_participation_only(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock(start=SEPTEMBER)
    console = make_console(
        database_url=database_url, members=SIX[:2], clock=clock, output_dir=tmp_path
    )
    try:
        for name in SIX[:2]:
            register(console, name)
        console.say("anna@team: /quickscan checklist start 1")
        for name in SIX[:2]:
            console.say(f"{name}@dm: /checklist invullen")
            console.say(*[f"{name}@dm: 4 4 4 4 4 4" for _ in CLASSES[name]])
        closed = console.say("anna@team: /quickscan checklist sluit")
        (result,) = texts_for(closed, "team")
        assert "Deelname: 2 van 2 leraren." in result
        assert "pas vanaf 5 deelnemende leraren" in result
        assert "%" not in result
        assert "leerlingen" not in result
        assert not [tag for tag, _ in closed if tag.startswith("dm:")]  # round 1: no comparison
        channel = team_output(list(parse_blocks(console.out.getvalue().splitlines())))
        assert "Deelname" in channel
        assert not any(label in channel for label in LABELS)
    finally:
        console.store.close()


def test_lowering_the_minimum_never_opens_a_closed_round_1(
    database_url: str, tmp_path: Path
) -> None:
    """Round 1 closed hidden (5 teachers, minimum 6); after `minimum 5` round 2's post
    may show round 2's own figures but never round 1's, not even as a change."""
    clock = FakeClock(start=SEPTEMBER)
    five = SIX[:5]
    console = make_console(
        database_url=database_url,
        members=five,
        clock=clock,
        output_dir=tmp_path,
        coordinator="anna",
    )
    try:
        for name in five:
            register(console, name)
        assert "6" in texts_for(console.say("anna@team: /quickscan minimum 6"), "team")[0]
        console.say("anna@team: /quickscan checklist start 1")
        for name in five:
            console.say(f"{name}@dm: /checklist invullen")
            console.say(*[f"{name}@dm: 2 2 3 3 2 2" for _ in CLASSES[name]])
        (first,) = texts_for(console.say("anna@team: /quickscan checklist sluit"), "team")
        assert "%" not in first

        console.say("anna@team: /quickscan minimum 5")
        clock.advance(JANUARY - SEPTEMBER)
        console.say("anna@team: /quickscan checklist start 2")
        for name in five:
            console.say(f"{name}@dm: /checklist invullen")
            console.say(*[f"{name}@dm: 3 3 3 3 3 3" for _ in CLASSES[name]])
        (second,) = texts_for(console.say("anna@team: /quickscan checklist sluit"), "team")
        assert "gezinsachtergrond: *100 %*" in second  # round 2 itself is exact now
        assert "procentpunt" not in second  # ... but round 1 stays hidden
        assert "sinds ronde 1" not in second
    finally:
        console.store.close()
