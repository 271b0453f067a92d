"""Reminders over a school year: right days, 08:00, never twice, missed ones once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.school_calendar import SchoolCalendar
from bot.calendar.vocabulary import HolidayKind, Region
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.core.messages import Inbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.schedule.store import PingStatus, ScheduleStore
from tests.conftest import FakeClock

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CALENDAR = SchoolCalendar.load()


def make_engine(url: str, clock: FakeClock, output: Path) -> Engine:
    return Engine(
        store=Store.open(url=url),
        instruments=load_instruments(),
        roster=RosterRegistry(),
        clock=clock,
        output_dir=output,
    )


@pytest.fixture
def start() -> FakeClock:
    """1 August 2026, 02:00 school time: the start of school year 2026/27."""
    return FakeClock(start=datetime(2026, 8, 1, 2, 0, tzinfo=AMSTERDAM))


@pytest.fixture
def engine(tmp_path: Path, start: FakeClock) -> Iterator[Engine]:
    built = make_engine(f"sqlite:///{tmp_path / 'year.sqlite3'}", start, tmp_path)
    yield built
    built.store.close()


def say(engine: Engine, team: TeamKey, text: str, user: str = "anna") -> None:
    # anna set the team up earlier (whoever first starts a round is coordinator).
    engine.store.ensure_team(key=team, founder="anna", now=datetime(2026, 8, 1, tzinfo=UTC))
    engine.handle(
        Inbound(
            platform=team.platform,
            workspace=team.workspace,
            team=team.team,
            where=Where.TEAM,
            sender=Sender(user=user, display_name=user),
            text=text,
        )
    )


def walk(engine: Engine, clock: FakeClock, *, until: datetime) -> None:
    """Tick every six hours (08:00 included), as the scheduler's timer would."""
    while clock.now() < until:
        clock.advance(hours=6)
        engine.tick()


@pytest.mark.parametrize("region", list(Region))
def test_a_school_year_of_checklist_pings_per_region(
    engine: Engine, start: FakeClock, region: Region
) -> None:
    team = TeamKey(platform="console", workspace="w", team=f"team-{region.value}")
    say(engine, team, f"/quickscan regio {region.value}")
    say(engine, team, "/quickscan checklist")
    walk(engine, start, until=datetime(2027, 8, 1, tzinfo=AMSTERDAM))  # the whole school year

    pings = ScheduleStore(engine=engine.store.engine).pings(key=team)
    sent = {p.id.split(":", 2)[2]: p for p in pings if p.status is PingStatus.SENT}
    assert all(p.status in (PingStatus.SENT, PingStatus.PENDING) for p in pings)
    for ping in sent.values():
        local = ping.due_at.astimezone(AMSTERDAM)
        assert (local.hour, local.minute) == (8, 0)
        assert CALENDAR.is_school_day(local.date(), region=region), ping.id

    herfst = CALENDAR.holiday(region=region, kind=HolidayKind.HERFST, school_year_starting=2026)
    kerst = CALENDAR.holiday(region=region, kind=HolidayKind.KERST, school_year_starting=2026)

    def day_of(suffix: str) -> date:
        return sent[suffix].due_at.astimezone(AMSTERDAM).date()

    # Round 1 opens three weeks before the herfstvakantie (a Monday: it starts on a Saturday).
    assert day_of("checklist:r1:open") == herfst.start - timedelta(days=19)
    reminders = sorted(day_of(key) for key in sent if key.startswith("checklist:r1:remind"))
    # The rule of both rounds: one week before the deadline (the Friday before the
    # herfstvakantie, a Saturday) and two school days before it (the Wednesday).
    assert reminders == [herfst.start - timedelta(days=8), herfst.start - timedelta(days=3)]
    assert day_of("checklist:r1:close") == herfst.end + timedelta(days=1)
    assert day_of("checklist:r2:announce") == kerst.start - timedelta(days=5)
    assert day_of("checklist:r2:open") == kerst.end + timedelta(days=1)
    r2_close = day_of("checklist:r2:close")
    assert r2_close.weekday() < 5
    assert timedelta(days=20) <= r2_close - day_of("checklist:r2:open") <= timedelta(days=24)


def test_quickscan_deadline_reminders_and_auto_close(engine: Engine, start: FakeClock) -> None:
    team = TeamKey(platform="console", workspace="w", team="qs")
    say(engine, team, "/quickscan regio midden")
    start.advance(days=60)  # 30 September 2026
    say(engine, team, "/quickscan start 16-10-2026")
    walk(engine, start, until=datetime(2026, 10, 27, 12, tzinfo=AMSTERDAM))
    pings = {
        p.id.split(":", 2)[2]: p
        for p in ScheduleStore(engine=engine.store.engine).pings(key=team)
        if p.kind.startswith("quickscan")
    }
    days = sorted(p.due_at.astimezone(AMSTERDAM).date() for p in pings.values())
    # 3 and 1 school days before Friday 16 October, then the first school day after it:
    # Monday 26 October, after the midden herfstvakantie (17-25 October).
    assert days == [date(2026, 10, 13), date(2026, 10, 15), date(2026, 10, 26)]
    assert all(p.status is PingStatus.SENT for p in pings.values())
    assert engine.store.current_round(key=team) is None  # closed automatically


def test_a_missed_ping_is_sent_once_after_downtime_and_a_stale_one_never(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'down.sqlite3'}"
    team = TeamKey(platform="console", workspace="w", team="t")
    clock = FakeClock(start=datetime(2026, 11, 23, 9, tzinfo=UTC))
    first = make_engine(url, clock, tmp_path)
    say(first, team, "/quickscan regio zuid")
    say(first, team, "/quickscan checklist")
    first.tick()
    first.store.close()  # the bot goes down before 14 December (round 2 announcement)

    # Back on 5 January 10:00: the announcement (useful until the kerstvakantie) has
    # expired; round 2's opening (4 January 08:00, useful until its deadline) goes out.
    clock.advance(datetime(2027, 1, 5, 10, tzinfo=AMSTERDAM) - clock.now())
    second = make_engine(url, clock, tmp_path)
    messages = second.tick()
    assert sum("ronde 2" in m.text and "geopend" in m.text for m in messages) == 1
    assert second.tick() == []
    pings = {
        p.id.split(":", 1)[1]: p for p in ScheduleStore(engine=second.store.engine).pings(key=team)
    }
    assert pings["2026:checklist:r2:announce"].status is PingStatus.EXPIRED
    assert pings["2026:checklist:r2:open"].status is PingStatus.SENT
    second.store.close()

    # A second process on the same database sends nothing again.
    third = make_engine(url, clock, tmp_path)
    assert third.tick() == []
    third.store.close()


def test_installing_mid_year_plans_from_round_2(engine: Engine, start: FakeClock) -> None:
    start.advance(datetime(2026, 11, 23, 9, tzinfo=AMSTERDAM) - start.now())
    team = TeamKey(platform="console", workspace="w", team="late")
    say(engine, team, "/quickscan gemeente Tilburg")
    pings = ScheduleStore(engine=engine.store.engine).pings(key=team)
    ids = [p.id.split(":", 1)[1] for p in pings]
    assert not any(i.startswith("2026:checklist:r1") for i in ids)
    assert "2026:checklist:r2:open" in ids
    assert "2027:checklist:r1:open" in ids  # and the next school year in full


def test_the_calendar_command_prints_holidays_and_planned_pings(
    engine: Engine, start: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.startup.cli import main

    team = TeamKey(platform="console", workspace="w", team="cal")
    say(engine, team, "/quickscan regio noord")
    say(engine, team, "/quickscan vakantie herfst 2026-10-17 2026-10-25")
    url = engine.store.engine.url.render_as_string(hide_password=False)
    assert main(["kalender", "--database", url, "--clock", "2026-08-24T09:00"]) == 0
    printed = capsys.readouterr().out
    assert "== console/w/cal" in printed
    assert "• herfstvakantie: 17-10-2026 t/m 25-10-2026" in printed  # the school's own dates
    assert "• voorjaarsvakantie:" in printed
    assert "checklist oudercontact: ronde opent" in printed
    assert "OpenHolidays API, openholidaysapi.org, ODbL" in printed


def test_a_coordinator_changes_the_planning(engine: Engine, start: FakeClock) -> None:
    team = TeamKey(platform="console", workspace="w", team="plan")
    say(engine, team, "/quickscan regio midden")  # herfst 17-25 October 2026
    say(engine, team, "/quickscan planning ronde1_weken 4")
    say(engine, team, "/quickscan planning ronde1_weken 40")  # refused: out of range
    say(
        engine, team, "/quickscan planning ronde2_weken 2", user="bram"
    )  # refused: not coordinator

    def due(suffix: str) -> date:
        pings = ScheduleStore(engine=engine.store.engine).pings(key=team)
        (ping,) = [p for p in pings if p.id.endswith(suffix)]
        return ping.due_at.astimezone(AMSTERDAM).date()

    assert due("2026:checklist:r1:open") == date(2026, 9, 21)  # four weeks before, a Monday
    assert due("2026:checklist:r2:close") == date(2027, 1, 26)  # three weeks: unchanged
    say(engine, team, "/quickscan planning standaard")
    assert due("2026:checklist:r1:open") == date(2026, 9, 28)
