"""The round service the scheduler calls: open, remind, close, announce.

Called with the scheduler's own ``now`` (not the engine's clock), repeated freely:
what was done before is not done again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.checklist.service import SCHEDULER
from bot.core.engine import Engine
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.checklist.lifecycle import school_year_of
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="console", workspace="w1", team="t1")
START = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
TEACHERS = ("anna", "bram", "chris", "dewi", "eva", "fatima")


class Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START)


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    store = Store.open(url=f"sqlite:///{tmp_path / 'service.sqlite3'}")
    yield Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster(),
        clock=clock,
        output_dir=tmp_path / "output",
    )
    store.close()


def said(user: str, text: str, *, where: Where = Where.DM) -> Inbound:
    return Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        where=where,
        sender=Sender(user=user, display_name=user.title()),
        text=text,
    )


def register(engine: Engine, user: str, pupils: int) -> None:
    engine.handle(said(user, "/quickscan checklist", where=Where.TEAM))
    labels = "\n".join(f"{user[:3].upper()}-{index}" for index in range(1, pupils + 1))
    engine.handle(said(user, f"/checklist klas\n{labels}\nklaar"))


def score_all(engine: Engine, user: str, rows: list[str]) -> None:
    engine.handle(said(user, "/checklist invullen"))
    for row in rows:
        engine.handle(said(user, row))


def channel(messages: list[Outbound]) -> list[str]:
    return [m.text for m in messages if m.destination.kind is DestinationKind.TEAM]


def dms(messages: list[Outbound]) -> dict[str, str]:
    return {
        m.destination.user or "": m.text
        for m in messages
        if m.destination.kind is DestinationKind.DM
    }


def test_school_year_turns_in_august() -> None:
    assert school_year_of(datetime(2026, 7, 31, 21, 0, tzinfo=UTC)) == 2025
    assert school_year_of(datetime(2026, 7, 31, 22, 30, tzinfo=UTC)) == 2026  # 1 Aug, NL
    assert school_year_of(datetime(2027, 1, 4, 7, 0, tzinfo=UTC)) == 2026


def test_open_round_is_idempotent_and_reaches_every_bound_teacher(engine: Engine) -> None:
    register(engine, "anna", 3)
    engine.handle(said("bram", "/quickscan checklist", where=Where.TEAM))  # no class yet
    deadline = datetime(2026, 10, 16, 21, 59, tzinfo=UTC)
    opened = engine.checklist.open_round(
        team=TEAM, number=1, school_year=2026, deadline=deadline, now=START
    )
    (announcement,) = channel(opened)
    assert "ronde 1 (2026/27) is geopend" in announcement
    assert "Deadline: vr 16-10-2026." in announcement
    assert "2 leraren krijgen een privébericht" in announcement
    messages = dms(opened)
    assert "/checklist invullen" in messages["anna"]
    assert "3 leerlingen" in messages["anna"]
    assert "/checklist klas" in messages["bram"]
    (anna,) = [m for m in opened if m.destination.user == "anna"]
    assert [b.label for b in anna.buttons] == ["Nu invullen"]
    round_ = engine.checklist.current_round(team=TEAM)
    assert round_ is not None
    assert round_.opened_by == SCHEDULER
    # Again (a restart, a second process): nothing.
    assert (
        engine.checklist.open_round(
            team=TEAM, number=1, school_year=2026, deadline=deadline, now=START
        )
        == []
    )
    with pytest.raises(ValueError, match="1 or 2"):
        engine.checklist.open_round(
            team=TEAM, number=3, school_year=2026, deadline=None, now=START
        )
    assert engine.checklist.current_round(team=TEAM) == round_  # nothing closed first
    unknown = TeamKey(platform="console", workspace="w1", team="nobody")
    assert (
        engine.checklist.open_round(
            team=unknown, number=1, school_year=2026, deadline=None, now=START
        )
        == []
    )


def test_unfinished_teachers_and_reminders(engine: Engine) -> None:
    register(engine, "anna", 3)
    register(engine, "bram", 2)
    engine.handle(said("chris", "/quickscan checklist", where=Where.TEAM))
    assert engine.checklist.unfinished_teachers(team=TEAM) == []  # no round open
    assert engine.checklist.remind(team=TEAM, now=START) == []
    engine.checklist.open_round(team=TEAM, number=1, school_year=2026, deadline=None, now=START)
    score_all(engine, "anna", ["3 3 3 3 3 3"])
    score_all(engine, "bram", ["3 3 3 3 3 3", "2 2 2 2 2 2"])
    assert engine.checklist.unfinished_teachers(team=TEAM) == ["anna", "chris"]
    reminders = engine.checklist.remind(team=TEAM, now=START + timedelta(days=7))
    texts = dms(reminders)
    assert set(texts) == {"anna", "chris"}
    assert "Je hebt 1 van 3 leerlingen ingevuld" in texts["anna"]
    assert "nog geen klas geregistreerd" in texts["chris"]
    assert channel(reminders) == []


def test_close_round_posts_the_aggregate_and_after_round_2_the_comparison(
    engine: Engine,
) -> None:
    for teacher in TEACHERS:
        register(engine, teacher, 2)
    engine.checklist.open_round(team=TEAM, number=1, school_year=2026, deadline=None, now=START)
    for teacher in TEACHERS:
        score_all(engine, teacher, ["2 2 2 2 2 2", "1 1 3 3 1 1"])
    closed = engine.checklist.close_round(team=TEAM, now=START + timedelta(days=18))
    (aggregate,) = channel(closed)
    assert dms(closed) == {}  # round 1: no private comparison yet
    assert "Deelname: 6 van 6 leraren" in aggregate
    assert "Samen 12 leerlingen" in aggregate
    assert "1. van deze leerling was een ouder aanwezig" in aggregate
    assert ": *0 %*" in aggregate  # statement 1: nobody at 3 or 4
    assert ": *50 %*" in aggregate  # statement 3: one of two pupils per class
    assert engine.checklist.close_round(team=TEAM, now=START) == []

    announced = engine.checklist.announce(team=TEAM, text_key="checklist.announce_round2")
    (text,) = channel(announced)
    assert "ronde 2" in text

    january = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
    opened = engine.checklist.open_round(
        team=TEAM, number=2, school_year=2026, deadline=january + timedelta(days=21), now=january
    )
    assert "ronde 2 (2026/27) is geopend" in channel(opened)[0]
    for teacher in TEACHERS:
        score_all(engine, teacher, ["4 3 2 2 2 2", "1 1 2 3 1 1"])
    closed = engine.checklist.close_round(team=TEAM, now=january + timedelta(days=21))
    (aggregate,) = channel(closed)
    assert ": *50 %* (+50 procentpunt sinds ronde 1)" in aggregate
    assert ": *0 %* (\u221250 procentpunt sinds ronde 1)" in aggregate  # statement 3
    private = dms(closed)
    assert set(private) == set(TEACHERS)
    anna = private["anna"]
    assert "ANN-1 (+3)" in anna  # 2 2 2 2 2 2 -> 4 3 2 2 2 2
    assert "Vraagt nog aandacht" in anna
    assert anna.index("ANN-2 (9)") < anna.index("ANN-1 (15)")  # lowest total first
    assert "Vooruitgegaan (1):* ANN-1 (+3)" in anna
    (details,) = [m.details for m in closed if m.destination.user == "anna"]
    assert details is not None
    assert "• ANN-1: 2 2 2 2 2 2 → 4 3 2 2 2 2 (+3)" in details
    assert "• ANN-2: 1 1 3 3 1 1 → 1 1 2 3 1 1 (\u22121)" in details
    assert ": *50 %* (0 procentpunt sinds ronde 1)" in aggregate  # statement 4: unchanged


def test_opening_round_2_closes_a_forgotten_round_1(engine: Engine) -> None:
    register(engine, "anna", 1)
    engine.checklist.open_round(team=TEAM, number=1, school_year=2026, deadline=None, now=START)
    january = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
    opened = engine.checklist.open_round(
        team=TEAM, number=2, school_year=2026, deadline=None, now=january
    )
    posts = channel(opened)
    assert "teamtotalen ronde 1" in posts[0]
    assert "Deelname: 0 van 1 leraar." in posts[0]
    assert "ronde 2 (2026/27) is geopend" in posts[1]
    round_ = engine.checklist.current_round(team=TEAM)
    assert round_ is not None
    assert round_.number == 2


def test_below_the_minimum_only_participation(engine: Engine) -> None:
    for teacher in TEACHERS[:4]:
        register(engine, teacher, 1)
    engine.checklist.open_round(team=TEAM, number=1, school_year=2026, deadline=None, now=START)
    for teacher in TEACHERS[:4]:
        score_all(engine, teacher, ["4 4 4 4 4 4"])
    (aggregate,) = channel(engine.checklist.close_round(team=TEAM, now=START))
    assert "Deelname: 4 van 4 leraren" in aggregate
    assert "pas vanaf 5 deelnemende leraren" in aggregate
    assert "%" not in aggregate
    assert "leerlingen" not in aggregate
