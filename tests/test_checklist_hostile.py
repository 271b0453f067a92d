"""Hostile input in the checklist: a clear private answer, nothing changed, no exception.

Through the engine (whose input guard screens NUL, control characters and overlong
messages first) and, for what the guard lets through or refuses before the flow
sees it, straight into the checklist flow, which must hold on its own too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.commands.checklist import build_checklist
from bot.core.engine import Engine
from conversations.checklist.flow import ChecklistFlow
from conversations.checklist.prompts import ClAction, ClVerb, decode
from conversations.checklist.pupil_codes import CodeProblem, pupil_code_problem
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="console", workspace="w1", team="t1")
START = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
CLASS = ("AB", "L07", "12")
HUGE = "9" * 40


class Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return []


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    store = Store.open(url=f"sqlite:///{tmp_path / 'hostile.sqlite3'}")
    yield Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster(),
        clock=FakeClock(start=START),
        output_dir=tmp_path / "output",
    )
    store.close()


def said(text: str = "", *, where: Where = Where.DM, payload: str | None = None) -> Inbound:
    return Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        where=where,
        sender=Sender(user="anna", display_name="Anna"),
        text=text,
        payload=payload,
    )


def snapshot(engine: Engine) -> tuple[object, ...]:
    """Everything of Anna's checklist that a refusal must leave as it was."""
    store = ChecklistStore(engine=engine.store.engine, cipher=engine.store.cipher)
    (teacher,) = store.teachers(key=TEAM)
    round_ = store.current_round(key=TEAM)
    entries = store.class_round(teacher_id=teacher.id, round_=round_) if round_ else None
    return (
        [p.label for p in store.pupils(teacher_id=teacher.id)],
        None if entries is None else (entries.scores, entries.steps),
        [(r.number, r.status) for r in store.rounds(key=TEAM)],
        teacher.keep_until,
    )


@pytest.fixture
def scoring(engine: Engine) -> Engine:
    """Anna with a class of three, round 1 open, the first pupil on screen."""
    engine.handle(said("/quickscan checklist", where=Where.TEAM))
    engine.handle(said("/checklist klas\n" + "\n".join(CLASS) + "\nklaar"))
    engine.handle(said("/quickscan checklist start 1", where=Where.TEAM))
    engine.handle(said("/checklist invullen"))
    return engine


@pytest.fixture
def flow(scoring: Engine, tmp_path: Path) -> ChecklistFlow:
    """The DM flow on the engine's store, called directly: past the engine's guard."""
    parts = build_checklist(
        store=scoring.store,
        instruments=load_instruments(),
        clock=FakeClock(start=START),
        output_dir=tmp_path / "output",
    )
    return parts.flow


def private_only(replies: list[Outbound]) -> list[Outbound]:
    assert replies, "every message gets an answer"
    for reply in replies:
        assert reply.destination.kind in (DestinationKind.DM, DestinationKind.EPHEMERAL)
        assert reply.destination.user == "anna"
        assert len(reply.text) < 2000  # never an echo of a long input
    return replies


def test_pupil_codes_rule() -> None:
    for name in ("Sanne", "sanne", "Anne-Marie Jansen", "Anne-Marie", "J. de Vries", "Tim"):
        assert pupil_code_problem(name) is CodeProblem.NAME, name
    for code in ("AB", "ab", "AvdB", "JdV", "L07", "12", "AB12", "8b-03", "JBO", "É1"):
        assert pupil_code_problem(code) is None, code
    assert pupil_code_problem("AB-12345678901") is CodeProblem.TOO_LONG
    for odd in ("A B", "AB\x00", "AB\x07", "A\u200bB", "３", "٣", "AB😀", '="x"', "ＡＢ", "ﬁ1"):
        assert pupil_code_problem(odd) is CodeProblem.CHARACTERS, repr(odd)


@pytest.mark.parametrize(
    "text",
    [
        "/checklist verwijder ²",
        "/checklist verwijder ３",
        f"/checklist verwijder {HUGE}",
        "/checklist verwijder 0",
        "/checklist verwijder -1",
        "/checklist verwijder " + "x" * 5000,
        "/checklist bewaar misschien",
        "/checklist ²",
        "３ ３ ４ ２ １ ４",
        "３:3",
        "1:３",
        f"{HUGE}:3",
        "1:" + HUGE,
        HUGE,
        "",
        " \t ",
        "\u200b",
        "x" * 4000,
    ],
)
def test_hostile_text_while_scoring_changes_nothing(scoring: Engine, text: str) -> None:
    before = snapshot(scoring)
    replies = private_only(scoring.handle(said(text)))
    assert snapshot(scoring) == before
    assert HUGE not in "\n".join(r.text for r in replies)
    assert "x" * 50 not in "\n".join(r.text for r in replies)


@pytest.mark.parametrize(
    "text",
    ["AB\x00", "Sanne\x01", "Q\x1b[31m", "x" * 100_000, "\ud800", "A\x00" * 2000],
)
def test_the_flow_itself_refuses_what_cannot_be_stored(
    scoring: Engine, flow: ChecklistFlow, text: str
) -> None:
    """Past the engine's guard (or without it), the flow still changes nothing."""
    flow.handle(said("/checklist klas"))
    before = snapshot(scoring)
    (reply,) = private_only(flow.handle(said(text)))
    assert "niet opgeslagen" in reply.text
    assert "Gebruik initialen" in reply.text
    assert snapshot(scoring) == before


@pytest.mark.parametrize("step", ["bel\x00moeder", "stap\x1b[2J", "\ud800"])
def test_a_verbeterstap_that_cannot_be_stored_is_refused(
    scoring: Engine, flow: ChecklistFlow, step: str
) -> None:
    before = snapshot(scoring)
    (reply,) = private_only(flow.handle(said("3 3 4 2 1 4 " + step)))
    # Refused as a step, or (no letter in it) not taken for one: nothing saved either way.
    assert "niets opgeslagen" in reply.text or "begrijp ik niet" in reply.text
    flow.handle(said("verbeterstap"))
    (reply,) = private_only(flow.handle(said(step)))
    assert "niets opgeslagen" in reply.text
    (empty,) = private_only(flow.handle(said("")))
    assert "als tekstbericht" in empty.text
    assert snapshot(scoring) == before


def test_a_long_paste_is_answered_briefly(flow: ChecklistFlow) -> None:
    flow.handle(said("/checklist klas"))
    paste = "\n".join(["AB"] * 300 + ["Sanne"] * 300 + ["A B"] * 300)
    (reply,) = private_only(flow.handle(said(paste)))
    assert "Regels 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 …" in reply.text
    assert "Sanne" not in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "/quickscan checklist start ²",
        "/quickscan checklist start ３",
        f"/quickscan checklist start {HUGE}",
        "/quickscan checklist start 1 ²-¹⁰",
        "/quickscan checklist start 1 " + "31-02" * 1000,
        "/quickscan checklist " + "ü" * 5000,
    ],
)
def test_hostile_team_commands_answer_privately(scoring: Engine, text: str) -> None:
    before = snapshot(scoring)
    replies = private_only(scoring.handle(said(text, where=Where.TEAM)))
    assert snapshot(scoring) == before
    assert "ü" * 50 not in replies[0].text


def test_button_payloads_decode_only_their_canonical_form(scoring: Engine) -> None:
    action = ClAction(
        teacher_id=1, verb=ClVerb.SCORE, round_id=1, pupil_id=1, statement=1, option=2
    )
    payload = action.encode()
    assert decode(payload) == action
    for forged in (
        payload + "\n",
        payload.replace("1", "\uff11", 1),
        payload.replace("1", "١", 1),
    ):
        assert decode(forged) is None
        before = snapshot(scoring)
        (reply,) = private_only(scoring.handle(said(payload=forged)))
        assert "niet (meer) geldig" in reply.text
        assert snapshot(scoring) == before


def test_keeping_data_is_a_private_command(scoring: Engine) -> None:
    (kept,) = private_only(scoring.handle(said("/checklist bewaar")))
    assert "bewaard tot 1 augustus 2028" in kept.text
    assert snapshot(scoring)[3] == datetime(2028, 7, 31, 22, 0, tzinfo=UTC)
    (off,) = private_only(scoring.handle(said("/checklist bewaar uit")))
    assert "gewist op 1 augustus 2027" in off.text
    assert snapshot(scoring)[3] is None
    (help_text,) = private_only(scoring.handle(said("/checklist help")))
    assert "op 1 augustus, aan het eind van het schooljaar, gewist" in help_text.text
