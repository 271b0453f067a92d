"""The team's plan through the engine: commands, support votes, follow-up, next round.

Driven with ``testbot`` (SQLite and PostgreSQL). Rounds are filled in through the
store (the walkthrough has its own tests); everything else goes through the
engine as members would type and press it. docs/plan.md describes the design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core import engine as engine_module
from bot.core.ports import RosterUnavailableError
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.models.plans import PlanVoteRow, TeamPlanRow
from storage.privacy.member_data import MemberData
from storage.quickscan.records import ParticipationState
from storage.transactions import in_unit_of_work
from tests.conftest import FakeClock
from tests.testbot import Roster, TestBot

INSTRUMENT = load_instruments()["quickscan-po"]
SIX = ("anna", "bram", "chris", "dewi", "eva", "fatima")
# Monday 12 January 2026, 10:00 in Amsterdam: a school day in every region.
START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
def testbot_members() -> tuple[str, ...]:
    return SIX


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START)


@pytest.fixture
def bot(testbot: TestBot) -> TestBot:
    """A team whose coordinator anna opened a round, in region midden."""
    testbot.say("anna", "/quickscan start", where=Where.TEAM)
    testbot.say("anna", "/quickscan regio midden", where=Where.TEAM)
    return testbot


def submit(bot: TestBot, *, round_id: int, codes: Mapping[str, str]) -> None:
    """Each member answers every question with one code, as if through the walkthrough."""
    for user, code in codes.items():
        participation = bot.store.participation(key=bot.team.member(user), round_id=round_id)
        assert participation is not None
        answers: dict[str, str | None] = {q.id: code for q in INSTRUMENT.questions}
        answers.update({f"grade:{c.id}": "6" for c in INSTRUMENT.clusters})
        bot.store.save_progress(
            participation_id=participation.id,
            state=ParticipationState.SUBMITTED,
            position=0,
            now=bot.clock.now(),
            answers=answers,
            mark_started=True,
            mark_submitted=True,
        )


NEGATIVE = {"anna": "-", "bram": "-", "chris": "--", "dewi": "+", "eva": "-", "fatima": "+/-"}


def team(bot: TestBot, text: str, user: str = "anna") -> list[Outbound]:
    return bot.say(user, f"/quickscan {text}", where=Where.TEAM)


def channel(messages: Sequence[Outbound]) -> list[str]:
    return [m.text for m in messages if m.destination.kind is DestinationKind.TEAM]


def private(messages: Sequence[Outbound], user: str = "anna") -> list[str]:
    return [
        m.text
        for m in messages
        if m.destination.user == user
        and m.destination.kind in {DestinationKind.EPHEMERAL, DestinationKind.DM}
    ]


def closed_round(bot: TestBot) -> None:
    submit(bot, round_id=1, codes=NEGATIVE)
    team(bot, "sluit")


def full_plan(bot: TestBot) -> None:
    team(bot, "plan prioriteit 3 7")
    team(bot, "plan stap Elke leerkracht belt twee ouders")
    team(bot, "plan eigenaar @bram")
    team(bot, "plan datum 25-02")


def at(bot: TestBot, moment: datetime) -> list[Outbound]:
    """Move the clock to ``moment`` and fire what is due."""
    bot.clock.advance(moment - bot.clock.now())
    return bot.engine.tick()


def test_without_a_closed_round_there_is_no_plan(bot: TestBot) -> None:
    shown = team(bot, "plan", user="bram")
    assert channel(shown) == []
    assert "nog geen gesloten quickscan-ronde" in private(shown, "bram")[0]
    refused = team(bot, "plan prioriteit 3")
    assert channel(refused) == []
    assert "nog geen gesloten quickscan-ronde" in private(refused)[0]


def test_the_coordinator_records_the_plan_part_by_part(bot: TestBot) -> None:
    closed_round(bot)
    offered = private(team(bot, "plan", user="bram"), "bram")[0]
    assert "Voorstel uit het teamresultaat: 1 welkom, 2 kennismaken, 3 alle ouders" in offered

    assert channel(team(bot, "plan prioriteit 3 7")) == [
        "anna zette de prioriteiten in het plan: 3 alle ouders, 7 positieve aandacht."
    ]
    step = channel(team(bot, "plan stap  Elke leerkracht   belt twee ouders"))
    assert step == ["anna zette de eerste stap in het plan: 'Elke leerkracht belt twee ouders'."]
    owner = channel(team(bot, "plan eigenaar @Bram"))  # the name as the roster shows it
    assert owner == ["anna zette in het plan wie de eerste stap draagt: Bram."]
    # 21-02-2026 is a Saturday in the voorjaarsvakantie of regio midden (14-22 February).
    (moved,) = channel(team(bot, "plan datum 21-02"))
    assert "maandag 23-02-2026" in moved
    assert "(zaterdag 21-02-2026 is geen schooldag" in moved

    shown = private(team(bot, "plan", user="chris"), "chris")[0]
    assert "*Prioriteiten:* 3 alle ouders, 7 positieve aandacht" in shown
    assert "*Wie:* Bram" in shown
    assert "*Uiterlijk:* maandag 23-02-2026" in shown
    assert "concept, nog niet vastgesteld" in shown
    assert "*Volgende quickscan:* dinsdag 12-01-2027 (een jaar na de vorige ronde" in shown


def plan_rows(bot: TestBot) -> list[tuple[object, ...]]:
    """Every stored row of the plan tables, to compare before and after a refusal."""
    with bot.store.engine.connect() as connection:
        plans = connection.execute(select(TeamPlanRow).order_by(TeamPlanRow.id)).all()
        votes = connection.execute(select(PlanVoteRow).order_by(PlanVoteRow.id)).all()
    return [tuple(row) for row in (*plans, *votes)]


def unchanged_by(bot: TestBot, typed: str, user: str = "anna") -> list[Outbound]:
    """``typed``'s answer, after checking it changed neither the plan's view nor its rows."""
    view, rows = private(team(bot, "plan")), plan_rows(bot)
    answered = team(bot, typed, user=user)
    assert private(team(bot, "plan")) == view
    assert plan_rows(bot) == rows
    return answered


@pytest.mark.parametrize("draft", [False, True], ids=["no-plan", "draft"])
@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        ("plan prioriteit 3 ١٢", "Kies 1 tot 3 succesfactoren met hun nummer (1 tot en met 10)"),
        ("plan prioriteit 99999999999999999999", "Kies 1 tot 3"),
        ("plan prioriteit 11", "Kies 1 tot 3"),
        ("plan prioriteit 3 3", "Kies 1 tot 3"),
        ("plan prioriteit 1 2 3 4", "Kies 1 tot 3"),
        ("plan prioriteit", "Kies 1 tot 3"),
        ("plan stap", "Gebruik: /quickscan plan stap"),
        ("plan stap " + "x" * 301, "De stap is te lang: hoogstens 300 tekens"),
        ("plan eigenaar @nobody", "'@nobody' is geen lid van dit team"),
        ("plan eigenaar a b", "Gebruik: /quickscan plan eigenaar"),
        ("plan datum 31-02", "'31-02' is geen geldige datum"),
        ("plan datum 12-01-2026", "ligt niet in de toekomst"),
        ("plan datum 01-06-2027", "meer dan een jaar vooruit"),
        ("plan volgende morgen", "'morgen' is geen geldige datum"),
        ("plan vaststellen", "nog nodig: de prioriteiten"),
        ("plan vaststellen nu", "Gebruik: /quickscan plan vaststellen"),
        ("plan draagvlak", "Kies eerst de prioriteiten"),
        ("plan draagvlak nu", "Gebruik: /quickscan plan draagvlak"),
        ("plan draagvlak sluit", "Er staat geen draagvlakvraag open"),
        ("plan hallo\u202e", "'hallo' begrijp ik niet"),
    ],
)
def test_refusals_are_private_and_change_nothing(
    bot: TestBot, typed: str, reply: str, draft: bool
) -> None:
    closed_round(bot)
    if draft:  # a plan with a step but no priorities: every refusal above still applies
        team(bot, "plan stap Elke leerkracht belt twee ouders")
    answered = unchanged_by(bot, typed)
    assert channel(answered) == []
    assert reply in private(answered)[0]


def test_only_a_coordinator_changes_the_plan_and_control_characters_are_refused(
    bot: TestBot,
) -> None:
    closed_round(bot)
    refused = unchanged_by(bot, "plan prioriteit 3", user="bram")
    assert channel(refused) == []
    assert "Alleen een coördinator" in private(refused, "bram")[0]
    bell = unchanged_by(bot, "plan stap bel \x07 ouders")
    assert channel(bell) == []
    assert private(bell)
    assert "nog geen plan" in private(team(bot, "plan"))[0]


def test_agreement_posts_the_whole_plan_pinned_and_plans_the_follow_up(bot: TestBot) -> None:
    closed_round(bot)
    team(bot, "plan prioriteit 3 7")
    missing = private(team(bot, "plan vaststellen"))[0]
    assert "de eerste stap (plan stap <tekst>)" in missing
    assert "de prioriteiten" not in missing
    full_plan(bot)
    (post,) = [
        m for m in team(bot, "plan vaststellen") if m.destination.kind is DestinationKind.TEAM
    ]
    assert post.pin
    assert post.text.startswith("*Plan van het team*, vastgesteld door anna op maandag 12-01-2026")
    assert "*Eerste stap:* Elke leerkracht belt twee ouders" in post.text
    assert "*Uiterlijk:* woensdag 25-02-2026" in post.text
    assert "*Draagvlak:* nog niet gevraagd" in post.text
    assert "*Volgende quickscan:* dinsdag 12-01-2027" in post.text
    kinds = {p.kind: p.due_at for p in bot.engine._services.schedule.pings(key=bot.team)}
    assert kinds["plan_followup"] == datetime(2026, 2, 25, 7, 0, tzinfo=UTC)  # 08:00 school time
    assert kinds["plan_nudge"] == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # five school days on
    assert kinds["plan_next_round"] == datetime(2027, 1, 12, 7, 0, tzinfo=UTC)

    # Changed after agreement: the view says so; agreeing again posts it again.
    team(bot, "plan stap Elke leerkracht belt drie ouders")
    assert "daarna gewijzigd" in private(team(bot, "plan", user="eva"), "eva")[0]
    (again,) = channel(team(bot, "plan vaststellen"))
    assert "belt drie ouders" in again


def vote(bot: TestBot, asked: Sequence[Outbound], user: str, choice: int) -> list[Outbound]:
    (question,) = [m for m in asked if m.destination.user == user and m.buttons]
    return bot.press(user, question.buttons[choice].payload)


def test_support_is_private_and_shown_only_from_the_minimum(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    asked = team(bot, "plan draagvlak")
    assert channel(asked) == [
        "anna vraagt het team of het plan draagvlak heeft: 6 teamleden krijgen een privébericht. "
        "Niemand ziet wat een ander kiest; het aandeel komt in dit kanaal bij het sluiten van "
        "de vraag, vanaf 5 reacties."
    ]
    dms = [m for m in asked if m.destination.kind is DestinationKind.DM]
    assert {m.destination.user for m in dms} == set(SIX)
    assert all([b.label for b in m.buttons] == ["steun", "twijfel", "geen steun"] for m in dms)

    heard: list[Outbound] = []
    for user, choice in (("bram", 2), ("chris", 0), ("dewi", 0), ("eva", 1)):
        heard += vote(bot, asked, user, choice)
    heard += vote(bot, asked, "bram", 0)  # bram changes his mind: still four votes
    assert channel(heard) == []
    assert "1 van 6" not in private(team(bot, "plan", user="eva"), "eva")[0]
    assert (
        "4 van 6 collega's hebben gereageerd" in private(team(bot, "plan", user="eva"), "eva")[0]
    )
    too_early = team(bot, "plan draagvlak sluit")
    assert channel(too_early) == []
    assert "Pas 4 reacties; het draagvlak wordt pas getoond vanaf 5" in private(too_early)[0]

    fifth = vote(bot, asked, "fatima", 1)
    assert channel(fifth) == [
        "5 collega's hebben gereageerd op de draagvlakvraag: genoeg om het draagvlak te tonen. "
        "Een coördinator sluit de vraag met /quickscan plan draagvlak sluit of stelt het plan "
        "vast met /quickscan plan vaststellen."
    ]
    assert "Dank je, je antwoord 'twijfel' is bewaard" in private(fifth, "fatima")[0]
    assert channel(vote(bot, asked, "anna", 0)) == []  # the notice comes once

    (post,) = channel(team(bot, "plan vaststellen"))
    assert "*Draagvlak:* 6 reacties: steun 67 % · twijfel 33 % · geen steun 0 %" in post
    # Closed: the votes are gone, a late press changes nothing.
    late = vote(bot, asked, "chris", 2)
    assert channel(late) == []
    assert "staat niet meer open" in private(late, "chris")[0]
    assert (
        MemberData(store=bot.store).export(
            platform=bot.team.platform, workspace=bot.team.workspace, user="chris"
        )["plan_votes"]
        == []
    )


def test_three_votes_get_one_coarse_sentence(bot: TestBot) -> None:
    team(bot, "minimum 3")
    closed_round(bot)
    full_plan(bot)
    asked = team(bot, "plan draagvlak")
    vote(bot, asked, "bram", 0)
    vote(bot, asked, "chris", 1)
    vote(bot, asked, "dewi", 0)
    (closed,) = channel(team(bot, "plan draagvlak sluit"))
    assert closed == (
        "anna sloot de draagvlakvraag. Draagvlak voor het plan: 3 reacties: "
        "de meesten steunen het plan."
    )
    assert "%" not in closed
    assert "twijfel" not in closed


def test_forged_and_foreign_buttons_change_nothing(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    asked = team(bot, "plan draagvlak")
    (bram,) = [m for m in asked if m.destination.user == "bram" and m.buttons]
    for forged in ("pl:1:v:1:4", "pl:01:v:1:1", "pl:999:v:1:1", "pl:1:v:7:1", "pl:x"):
        answered = bot.press("bram", forged)
        assert channel(answered) == []
        assert private(answered, "bram")
    outsider = bot.press("zoe", bram.buttons[0].payload)  # never asked
    assert "staat niet meer open" in private(outsider, "zoe")[0]
    assert "0 van 6" in private(team(bot, "plan"))[0]


def test_the_owner_is_asked_on_the_date_and_the_answer_is_posted(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")
    assert at(bot, datetime(2026, 2, 24, 7, 0, tzinfo=UTC)) == []
    (ask,) = at(bot, datetime(2026, 2, 25, 7, 0, tzinfo=UTC))
    assert ask.destination.kind is DestinationKind.DM
    assert ask.destination.user == "bram"
    assert "Vandaag (woensdag 25-02-2026)" in ask.text
    assert [b.label for b in ask.buttons] == ["gedaan", "deels", "nog niet"]

    assert (
        "voor wie de eerste stap draagt" in private(bot.press("anna", ask.buttons[0].payload))[0]
    )
    answered = bot.press("bram", ask.buttons[2].payload)
    assert channel(answered) == [
        "Eerste stap 'Elke leerkracht belt twee ouders': nog niet, meldt Bram."
    ]
    (to_anna,) = private(answered, "anna")
    assert "Zet een nieuwe datum met /quickscan plan datum" in to_anna
    assert "al beantwoord" in private(bot.press("bram", ask.buttons[0].payload), "bram")[0]
    # Answered: no nudge five school days later.
    assert at(bot, datetime(2026, 3, 4, 7, 0, tzinfo=UTC)) == []

    team(bot, "plan datum 16-03")
    (again,) = at(bot, datetime(2026, 3, 16, 7, 0, tzinfo=UTC))
    assert again.destination.user == "bram"
    (nudge,) = at(bot, datetime(2026, 3, 23, 7, 0, tzinfo=UTC))
    assert nudge.destination.kind is DestinationKind.DM
    assert nudge.destination.user == "anna"
    assert nudge.text.startswith("Bram heeft nog niet laten weten")
    assert at(bot, datetime(2026, 3, 30, 7, 0, tzinfo=UTC)) == []  # told once


def test_the_next_round_opens_and_its_result_shows_the_change(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")
    opened = at(bot, datetime(2027, 1, 12, 7, 0, tzinfo=UTC))
    announcement = [t for t in channel(opened) if "volgende quickscan" in t]
    assert announcement == [
        "Zoals afgesproken in jullie plan van maandag 12-01-2026 start vandaag de volgende "
        "quickscan: *Quickscan samenwerken met ouders in het basisonderwijs*. 6 teamleden "
        "krijgen een privébericht. Vul hem onafhankelijk van elkaar in: individuele "
        "antwoorden worden nooit getoond.\nDeadline: dinsdag 02-02-2027."
    ]
    invited = {m.destination.user for m in opened if m.destination.kind is DestinationKind.DM}
    assert invited == set(SIX)
    better = {"anna": "+", "bram": "+", "chris": "-", "dewi": "+", "eva": "++", "fatima": "+"}
    submit(bot, round_id=2, codes=better)
    closed = channel(team(bot, "sluit"))
    assert closed[-1] == (
        "*Sinds jullie plan van 12-01-2026* (prioriteiten: 3 alle ouders, 7 positieve aandacht):"
        "\n• 3 alle ouders: 2,3 → 3,8 (+1,5)\n• 7 positieve aandacht: 2,3 → 3,8 (+1,5)"
    )


def test_a_round_already_open_on_the_day_is_left_alone(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan volgende 01-12-2026")
    team(bot, "plan vaststellen")
    bot.clock.advance(datetime(2026, 11, 30, 9, 0, tzinfo=UTC) - bot.clock.now())
    team(bot, "start")
    told = at(bot, datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    assert channel(told) == []
    assert "er loopt al een ronde" in private(told)[0]


def test_too_few_in_the_next_round_shows_no_figures(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")
    at(bot, datetime(2027, 1, 12, 7, 0, tzinfo=UTC))
    submit(bot, round_id=2, codes={user: "+" for user in SIX[:4]})
    progress = channel(team(bot, "sluit"))[-1]
    assert progress.endswith(
        "• 3 alle ouders: te weinig ingevulde quickscans om te vergelijken\n"
        "• 7 positieve aandacht: te weinig ingevulde quickscans om te vergelijken"
    )
    assert "→" not in progress


def test_a_member_sees_and_erases_their_vote(bot: TestBot, tmp_path: Path) -> None:
    closed_round(bot)
    full_plan(bot)
    asked = team(bot, "plan draagvlak")
    vote(bot, asked, "bram", 1)
    data = MemberData(store=bot.store)
    where = {"platform": bot.team.platform, "workspace": bot.team.workspace}
    mine = data.export(**where, user="bram")
    assert [v["vote"] for v in mine["plan_votes"]] == ["twijfel"]  # type: ignore[index]  # a JSON list of dicts
    assert [s["step"] for s in mine["plan_steps_owned"]] == [  # type: ignore[index]  # as above
        "Elke leerkracht belt twee ouders"
    ]
    team(bot, "vergeet-mij bevestig", user="bram")
    gone = data.export(**where, user="bram")
    assert gone["plan_votes"] == []
    assert gone["plan_steps_owned"] == []
    assert "*Wie:* nog niet gekozen" in private(team(bot, "plan"))[0]
    assert "0 van 5 collega's hebben gereageerd" in private(team(bot, "plan"))[0]


# --- which plan is current, and what a newer round does to an older one ---------------


def mentor_round_closed(bot: TestBot) -> None:
    """The paired mentor survey (no success factors) opens and closes after the plan."""
    opened = team(bot, "start ervaring-belang")
    assert any("ervaring" in text.lower() or "mentor" in text.lower() for text in channel(opened))
    team(bot, "sluit")


def test_a_mentor_survey_closing_later_leaves_the_plan_and_its_pings(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")
    mentor_round_closed(bot)
    shown = private(team(bot, "plan", user="eva"), "eva")[0]
    assert "*Eerste stap:* Elke leerkracht belt twee ouders" in shown
    (ask,) = at(bot, datetime(2026, 2, 25, 7, 0, tzinfo=UTC))
    assert ask.destination.user == "bram"
    assert "Vandaag (woensdag 25-02-2026)" in ask.text


def next_round_closed(bot: TestBot) -> None:
    """Round 2 of the same quickscan opens and closes (a new plan is the current one)."""
    team(bot, "start")
    submit(bot, round_id=2, codes=NEGATIVE)
    team(bot, "sluit")


def test_a_newer_round_drops_the_old_question_and_its_votes(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    asked = team(bot, "plan draagvlak")
    vote(bot, asked, "bram", 0)
    team(bot, "plan vaststellen")  # below the minimum: the question stays open
    (ask,) = at(bot, datetime(2026, 2, 25, 7, 0, tzinfo=UTC))
    next_round_closed(bot)

    export = MemberData(store=bot.store).export(
        platform=bot.team.platform, workspace=bot.team.workspace, user="bram"
    )
    assert export["plan_votes"] == []
    late = vote(bot, asked, "chris", 0)
    assert channel(late) == []
    assert "staat niet meer open" in private(late, "chris")[0]
    answered = bot.press("bram", ask.buttons[0].payload)
    assert channel(answered) == []
    assert "al beantwoord, of de datum" in private(answered, "bram")[0]
    assert "nog geen plan bij de laatste ronde" in private(team(bot, "plan"))[0]
    with bot.store.engine.connect() as connection:
        assert connection.execute(select(PlanVoteRow)).all() == []
        assert connection.execute(select(TeamPlanRow.support_open)).scalars().all() == [False]


def test_agreeing_below_the_minimum_keeps_the_count_out_of_the_channel(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    asked = team(bot, "plan draagvlak")
    vote(bot, asked, "bram", 0)
    agreed = team(bot, "plan vaststellen")
    (post,) = channel(agreed)
    assert "*Draagvlak:* de vraag staat open (het aandeel volgt bij het sluiten" in post
    assert "1 van 6" not in post
    assert "gereageerd" not in post
    (told,) = private(agreed)
    assert told.startswith("De draagvlakvraag blijft open: pas 1 reactie")
    assert "1 van 6 collega's heeft gereageerd" in private(team(bot, "plan"))[0]


def test_the_day_of_agreement_is_the_school_day_after_midnight(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    bot.clock.advance(datetime(2026, 1, 12, 23, 30, tzinfo=UTC) - bot.clock.now())  # 00:30
    (post,) = channel(team(bot, "plan vaststellen"))
    assert post.startswith("*Plan van het team*, vastgesteld door anna op dinsdag 13-01-2026")
    assert "vastgesteld door anna op 13-01-2026" in private(team(bot, "plan"))[0]
    opened = channel(at(bot, datetime(2027, 1, 12, 7, 0, tzinfo=UTC)))
    assert any("jullie plan van dinsdag 13-01-2026" in text for text in opened)
    better = {"anna": "+", "bram": "+", "chris": "-", "dewi": "+", "eva": "++", "fatima": "+"}
    submit(bot, round_id=2, codes=better)
    assert channel(team(bot, "sluit"))[-1].startswith("*Sinds jullie plan van 13-01-2026*")


def test_an_erased_coordinator_is_told_nothing(bot: TestBot) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")
    team(bot, "vergeet-mij bevestig", user="anna")  # the only coordinator
    assert bot.store.coordinators(key=bot.team) == []
    (ask,) = at(bot, datetime(2026, 2, 25, 7, 0, tzinfo=UTC))
    answered = bot.press("bram", ask.buttons[1].payload)
    assert channel(answered) == [
        "Eerste stap 'Elke leerkracht belt twee ouders': deels, meldt Bram."
    ]
    assert all(m.destination.user != "erased" for m in answered)
    team(bot, "plan datum 16-03", user="bram")  # nobody may: no coordinator, no change
    at(bot, datetime(2026, 3, 16, 7, 0, tzinfo=UTC))
    opened = at(bot, datetime(2027, 1, 12, 7, 0, tzinfo=UTC))
    assert any("volgende quickscan" in text for text in channel(opened))
    assert all(m.destination.user != "erased" for m in opened)


def test_the_next_round_asks_the_roster_before_its_transaction(
    bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")
    asked_in_transaction: list[bool] = []
    members = Roster.members

    def recording(self: Roster, *, team: TeamKey) -> list[Sender]:
        asked_in_transaction.append(in_unit_of_work(bot.store.engine))
        return members(self, team=team)

    monkeypatch.setattr(Roster, "members", recording)
    opened = at(bot, datetime(2027, 1, 12, 7, 0, tzinfo=UTC))
    assert any("volgende quickscan" in text for text in channel(opened))
    assert asked_in_transaction == [False]


def test_without_a_roster_the_next_round_invites_the_last_participants(
    bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed_round(bot)
    full_plan(bot)
    team(bot, "plan vaststellen")

    def unavailable(self: Roster, *, team: TeamKey) -> list[Sender]:
        raise RosterUnavailableError(key="slack_channel.not_member")

    monkeypatch.setattr(Roster, "members", unavailable)
    opened = at(bot, datetime(2027, 1, 12, 7, 0, tzinfo=UTC))
    assert any("6 teamleden krijgen een privébericht" in text for text in channel(opened))
    invited = {m.destination.user for m in opened if m.destination.kind is DestinationKind.DM}
    assert invited == set(SIX)


def test_a_dm_answer_is_not_read_as_a_team_command(
    bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_parsing(text: str) -> None:
        raise AssertionError("a DM is no team command")

    monkeypatch.setattr(engine_module, "parse_command", no_parsing)
    answered = bot.say("bram", "hallo")
    assert answered
    assert Catalogue().t("input.failed") not in [m.text for m in answered]
