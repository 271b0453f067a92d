"""The team's plan end to end through the console adapter (SQLite and PostgreSQL).

A round closes, the coordinator records a plan, members state their support
privately (the share appears only once the minimum answered), the owner is asked
on the date and the answer is posted, the next round opens on its day, and its
result shows how the planned factors changed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from conversations.core.clock import ShiftedClock
from tests.conftest import FakeClock
from tests.console_harness import make_console, texts_for, walkthrough_lines

SIX = ("anna", "bram", "chris", "dewi", "eva", "fatima")
BEFORE = {"anna": "-", "bram": "-", "chris": "--", "dewi": "+", "eva": "-", "fatima": "+/-"}
AFTER = {"anna": "+", "bram": "+", "chris": "-", "dewi": "+", "eva": "++", "fatima": "+"}


def test_a_plan_from_result_to_the_next_round(database_url: str, tmp_path: Path) -> None:
    clock = ShiftedClock(base=FakeClock(start=datetime(2026, 1, 12, 9, 0, tzinfo=UTC)))
    console = make_console(
        database_url=database_url, members=SIX, clock=clock, output_dir=tmp_path
    )
    try:
        console.say("anna@team: /quickscan start", "anna@team: /quickscan regio midden")
        for name in SIX:
            console.say(*walkthrough_lines(name, answer=BEFORE[name]))
        console.say("anna@team: /quickscan sluit")

        offer = texts_for(console.say("bram@team: /quickscan plan"), "team>bram")[0]
        assert "Voorstel uit het teamresultaat: 1 welkom, 2 kennismaken, 3 alle ouders" in offer

        recorded = console.say(
            "anna@team: /quickscan plan prioriteit 3 7",
            "anna@team: /quickscan plan stap Elke leerkracht belt twee ouders van de groep",
            "anna@team: /quickscan plan eigenaar bram",
            "anna@team: /quickscan plan datum 25-02",
        )
        assert texts_for(recorded, "team") == [
            "anna zette de prioriteiten in het plan: 3 alle ouders, 7 positieve aandacht.",
            "anna zette de eerste stap in het plan: "
            "'Elke leerkracht belt twee ouders van de groep'.",
            "anna zette in het plan wie de eerste stap draagt: bram.",
            "anna zette de datum van de eerste stap in het plan: woensdag 25-02-2026.",
        ]

        asked = console.say("anna@team: /quickscan plan draagvlak")
        assert "6 teamleden krijgen een privébericht" in texts_for(asked, "team")[0]
        question = texts_for(asked, "dm:chris")[0]
        assert "Je antwoord is privé" in question
        assert "(1) steun  (2) twijfel  (3) geen steun" in question

        votes = console.say("bram@dm: steun", "chris@dm: twijfel", "dewi@dm: 1", "eva@dm: steun")
        assert texts_for(votes, "team") == []
        assert "je antwoord 'twijfel' is bewaard" in texts_for(votes, "dm:chris")[0]
        early = console.say("anna@team: /quickscan plan draagvlak sluit")
        assert texts_for(early, "team") == []
        assert "Pas 4 reacties" in texts_for(early, "team>anna")[0]

        fifth = console.say("fatima@dm: geen steun")
        (enough,) = texts_for(fifth, "team")
        assert enough.startswith("5 collega's hebben gereageerd op de draagvlakvraag")
        assert "%" not in enough

        agreed = console.say("anna@team: /quickscan plan vaststellen")
        (post,) = [text for tag, text in agreed if tag.startswith("team") and "Plan van" in text]
        assert "*Draagvlak:* 5 reacties: steun 60 % · twijfel 20 % · geen steun 20 %" in post
        assert "*Volgende quickscan:* dinsdag 12-01-2027" in post
        assert post.startswith("(vastgezet) *Plan van het team*")  # the console's pin marker

        asked_owner = console.say("@clock: 2026-02-25T08:00")
        (ask,) = texts_for(asked_owner, "dm:bram")
        assert "Vandaag (woensdag 25-02-2026)" in ask
        assert "(1) gedaan  (2) deels  (3) nog niet" in ask
        answered = console.say("bram@dm: gedaan")
        assert texts_for(answered, "team") == [
            "Eerste stap 'Elke leerkracht belt twee ouders van de groep': gedaan, meldt bram."
        ]

        next_round = console.say("@clock: 2027-01-12T08:00")
        (opened,) = [t for t in texts_for(next_round, "team") if "volgende quickscan" in t]
        assert "6 teamleden krijgen een privébericht" in opened
        assert "Deadline: dinsdag 02-02-2027." in opened
        for name in SIX:
            assert texts_for(next_round, f"dm:{name}"), name
            console.say(*walkthrough_lines(name, answer=AFTER[name]))
        closed = texts_for(console.say("anna@team: /quickscan sluit"), "team")
        assert closed[-1] == (
            "*Sinds jullie plan van 12-01-2026* (prioriteiten: 3 alle ouders, "
            "7 positieve aandacht):\n"
            "  • 3 alle ouders: 2,3 → 3,8 (+1,5)\n"
            "  • 7 positieve aandacht: 2,3 → 3,8 (+1,5)"
        )
        everything = console.out.getvalue()
        # Nobody's vote is shown anywhere but in their own chat.
        for line in everything.splitlines():
            if line.startswith("[team"):
                assert (
                    re.search(r"\b(steun|twijfel)\b.*\b(bram|chris|dewi|eva|fatima)\b", line)
                    is None
                )
    finally:
        console.store.close()
