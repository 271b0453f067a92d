"""``/quickscan checklist uit|aan``: a team that only wants the quickscan gets no checklist.

Off, the fake clock walks a whole school year through ``engine.tick()`` and not one
checklist message appears (no opening, reminder, announcement or team totals);
on again, they come back from the next applicable moment. Only a coordinator may
switch, and the refusal is private. An open round closes quietly when switched
off, and a round nobody took part in posts no "Deelname: 0 van 0 leraren".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conversations.core.messages import DestinationKind, Outbound, Where
from storage.schedule.store import PingStatus, ScheduleStore
from tests.conftest import FakeClock
from tests.testbot import TestBot

# Region midden, school year 2026/27: herfst 17-25 Oct 2026, kerst 19 Dec - 3 Jan 2027.
ROUND1_OPENS = datetime(2026, 9, 28, 7, 0, tzinfo=UTC)  # 09:00 CEST, after 08:00
ROUND1_CLOSES = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
YEAR_END = datetime(2027, 7, 31, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    """Thursday 20 August 2026, before anything of school year 2026/27 is due."""
    return FakeClock(start=datetime(2026, 8, 20, 7, 0, tzinfo=UTC))


def _set_up(testbot: TestBot) -> None:
    """anna coordinates a team in region midden; bram joined the checklist."""
    testbot.store.ensure_team(key=testbot.team, founder="anna", now=testbot.clock.now())
    testbot.say("anna", "/quickscan regio midden", where=Where.TEAM)
    testbot.say("bram", "/quickscan checklist", where=Where.TEAM)


def _run_until(testbot: TestBot, until: datetime) -> list[Outbound]:
    """Tick once a day (07:00 UTC: 08:00 or 09:00 in Amsterdam) up to ``until``."""
    sent: list[Outbound] = []
    while testbot.clock.now() < until:
        testbot.clock.advance(days=1)
        sent += testbot.engine.tick()
    return sent


def _enabled(testbot: TestBot) -> bool:
    """What is stored: whether the team's checklist is switched on."""
    team = testbot.store.get_team(key=testbot.team)
    assert team is not None
    return team.checklist_enabled


def _channel(messages: list[Outbound]) -> list[str]:
    return [m.text for m in messages if m.destination.kind is DestinationKind.TEAM]


def _only_private_to(messages: list[Outbound], user: str) -> bool:
    return bool(messages) and all(
        m.destination.kind is not DestinationKind.TEAM and m.destination.user == user
        for m in messages
    )


def test_switched_off_a_whole_school_year_brings_no_checklist_message(
    testbot: TestBot,
) -> None:
    _set_up(testbot)
    replies = testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)
    assert len(replies) == 1
    assert replies[0].destination.kind is DestinationKind.TEAM
    assert "heeft de checklist oudercontact voor dit team uitgezet" in replies[0].text
    assert "/quickscan checklist aan" in replies[0].text
    assert _enabled(testbot) is False

    sent = _run_until(testbot, YEAR_END)

    assert sent == []  # nothing at all: no opening, reminder, announcement or totals
    pings = ScheduleStore(engine=testbot.store.engine).pings(key=testbot.team)
    checklist = [p for p in pings if p.kind.startswith("checklist")]
    assert checklist  # planned once the region was set ...
    assert {p.status for p in checklist} == {PingStatus.CANCELLED}  # ... and cancelled by "uit"


def test_switched_on_before_round_1_the_year_runs_as_before(testbot: TestBot) -> None:
    _set_up(testbot)
    testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)
    testbot.clock.advance(days=2)
    replies = testbot.say("anna", "/quickscan checklist aan", where=Where.TEAM)
    assert [m.destination.kind for m in replies] == [DestinationKind.TEAM]
    assert "weer aangezet" in replies[0].text
    assert "vanaf het eerstvolgende moment" in replies[0].text

    sent = _run_until(testbot, YEAR_END)
    posts = "\n".join(_channel(sent))

    assert "ronde 1 (2026/27) is geopend" in posts
    assert "teamtotalen ronde 1" in posts
    assert "Na de kerstvakantie volgt ronde 2" in posts
    assert "ronde 2 (2026/27) is geopend" in posts
    assert "teamtotalen ronde 2" in posts
    bram = [m.text for m in sent if m.destination.user == "bram"]
    assert any("De checklist oudercontact, ronde 1 (2026/27), is open" in text for text in bram)


def test_switched_on_after_round_1_opened_resumes_with_round_2(testbot: TestBot) -> None:
    _set_up(testbot)
    testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)
    _run_until(testbot, ROUND1_OPENS + timedelta(days=3))
    testbot.say("anna", "/quickscan checklist aan", where=Where.TEAM)

    # Round 1 was never opened: none of its reminders or its close is planned or shown.
    pings = ScheduleStore(engine=testbot.store.engine).pings(key=testbot.team)
    round1 = [p for p in pings if ":2026:checklist:r1:" in p.id]
    assert round1  # planned before "uit" ...
    assert PingStatus.PENDING not in {p.status for p in round1}  # ... and not again
    for command in ("/quickscan kalender", "/quickscan planning"):
        shown = "\n".join(m.text for m in testbot.say("bram", command, where=Where.TEAM))
        assert "-10-2026: checklist oudercontact" not in shown, command
        assert "ronde 1 (2026/27)" not in shown, command
        assert "ronde 2 (2026/27)" in shown or "04-01-2027" in shown, command

    sent = _run_until(testbot, YEAR_END)
    posts = "\n".join(_channel(sent))

    assert "ronde 1" not in posts  # its opening passed while off: not opened late
    assert "Na de kerstvakantie volgt ronde 2" in posts
    assert "ronde 2 (2026/27) is geopend" in posts
    assert "teamtotalen ronde 2" in posts


def test_switching_off_closes_an_open_round_quietly(testbot: TestBot) -> None:
    _set_up(testbot)
    opened = _run_until(testbot, ROUND1_OPENS)
    assert any("ronde 1 (2026/27) is geopend" in text for text in _channel(opened))

    replies = testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)

    assert [m.destination.kind for m in replies] == [DestinationKind.TEAM]
    assert "Ronde 1 (2026/27) liep nog en is nu gesloten, zonder teamtotalen" in replies[0].text
    status = testbot.say("bram", "/quickscan checklist status", where=Where.TEAM)
    assert _only_private_to(status, "bram")
    assert "staat uit" in status[0].text
    later = _run_until(testbot, ROUND1_CLOSES + timedelta(days=7))
    assert later == []  # no reminder, no close, no team totals


def test_switching_off_in_round_2_still_gives_teachers_their_comparison(
    testbot: TestBot,
) -> None:
    _set_up(testbot)
    testbot.say("bram", "/checklist klas\nAB\nklaar")
    testbot.say("anna", "/quickscan checklist start 2", where=Where.TEAM)
    testbot.say("bram", "/checklist invullen")
    testbot.say("bram", "3 3 3 3 3 3")

    replies = testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)

    channel = _channel(replies)
    assert len(channel) == 1
    assert "de vergelijking met ronde 1 van de eigen klas privé" in channel[0]
    assert "teamtotalen ronde 2" not in channel[0]
    comparison = [m for m in replies if m.destination.kind is DestinationKind.DM]
    assert [m.destination.user for m in comparison] == ["bram"]
    assert "ronde 1 → ronde 2" in comparison[0].text


def test_only_a_coordinator_may_switch_and_the_refusal_is_private(testbot: TestBot) -> None:
    _set_up(testbot)
    for text in ("/quickscan checklist uit", "/quickscan checklist off"):
        replies = testbot.say("bram", text, where=Where.TEAM)
        assert _only_private_to(replies, "bram")
        assert "Alleen een coördinator" in replies[0].text
    assert _enabled(testbot) is True
    opened = _run_until(testbot, ROUND1_OPENS)
    assert any("ronde 1 (2026/27) is geopend" in text for text in _channel(opened))


def test_switching_twice_or_wrongly_is_answered_privately(testbot: TestBot) -> None:
    _set_up(testbot)
    already_on = testbot.say("anna", "/quickscan checklist aan", where=Where.TEAM)
    assert _only_private_to(already_on, "anna")
    assert "staat al aan" in already_on[0].text

    testbot.say("anna", "/quickscan checklist off", where=Where.TEAM)  # English works too
    already_off = testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)
    assert _only_private_to(already_off, "anna")
    assert "staat al uit" in already_off[0].text

    usage = testbot.say("anna", "/quickscan checklist uit nu meteen", where=Where.TEAM)
    assert _only_private_to(usage, "anna")
    assert usage[0].text.startswith("Gebruik: /quickscan checklist uit")

    start = testbot.say("anna", "/quickscan checklist start 1", where=Where.TEAM)
    assert _only_private_to(start, "anna")
    assert "staat uit voor dit team, dus er kan geen ronde worden geopend" in start[0].text


def test_planning_and_kalender_show_the_checklist_as_off(testbot: TestBot) -> None:
    _set_up(testbot)
    before = testbot.say("bram", "/quickscan kalender", where=Where.TEAM)
    assert "staat uit" not in before[0].text
    assert "checklist oudercontact: ronde opent" in before[0].text

    testbot.say("anna", "/quickscan checklist uit", where=Where.TEAM)

    for command in ("/quickscan planning", "/quickscan kalender"):
        shown = testbot.say("bram", command, where=Where.TEAM)
        assert _only_private_to(shown, "bram")
        text = "\n".join(m.text for m in shown)
        assert "De checklist oudercontact staat uit voor dit team" in text
        assert "checklist oudercontact: ronde opent" not in text


def test_the_english_team_reads_it_in_english(testbot: TestBot) -> None:
    _set_up(testbot)
    testbot.say("anna", "/quickscan taal en", where=Where.TEAM)

    replies = testbot.say("anna", "/quickscan checklist off", where=Where.TEAM)

    assert "switched the parent contact checklist off for this team" in replies[0].text
    assert "/quickscan checklist on" in replies[0].text


def test_a_round_nobody_joined_posts_no_empty_participation(testbot: TestBot) -> None:
    testbot.store.ensure_team(key=testbot.team, founder="anna", now=testbot.clock.now())

    opened = testbot.say("anna", "/quickscan checklist start 1", where=Where.TEAM)
    closed = testbot.say("anna", "/quickscan checklist sluit", where=Where.TEAM)

    opening = "\n".join(_channel(opened))
    assert "0 leraren" not in opening
    assert "Nog geen leraar doet mee" in opening
    assert "/quickscan checklist uit" in opening
    totals = "\n".join(_channel(closed))
    assert "teamtotalen ronde 1" in totals
    assert "Deelname" not in totals
    assert "0 van 0" not in totals
    assert "Er deed geen enkele leraar mee" in totals
    assert "/quickscan checklist uit" in totals


def test_one_teacher_is_counted_in_the_singular(testbot: TestBot) -> None:
    _set_up(testbot)

    opened = testbot.say("anna", "/quickscan checklist start 1", where=Where.TEAM)
    closed = testbot.say("anna", "/quickscan checklist sluit", where=Where.TEAM)

    assert "1 leraar krijgt een privébericht" in "\n".join(_channel(opened))
    assert "Deelname: 0 van 1 leraar." in "\n".join(_channel(closed))
