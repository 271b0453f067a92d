"""Every refusal, usage hint and error goes only to the person who typed it.

Many wrong commands, from a coordinator and from a member who is none, go through
the whole engine: each is answered (so the sender knows what went wrong), every
answer reaches only the sender (ephemeral in the channel, or their DM), nothing
lands in the team channel, and the team's settings stay as they were.
"""

from __future__ import annotations

import re

import pytest

from conversations.core.messages import DestinationKind, Outbound, Where
from tests.testbot import TestBot

HUGE = "99999999999999999999"
ARABIC_12 = "\u0661\u0662"  # "١٢": digits, but not ASCII ones

COORDINATOR_MISTAKES = (
    # the school calendar
    "/quickscan regio",
    "/quickscan regio oost",
    f"/quickscan regio {ARABIC_12}",
    "/quickscan gemeente",
    "/quickscan gemeente Atlantis",
    "/quickscan gemeente Atlantis Atlantis Atlantis Atlantis Atlantis",
    f"/quickscan gemeente {'x' * 500}",
    "/quickscan vakantie",
    "/quickscan vakantie herfst",
    "/quickscan vakantie lente 2026-10-17 2026-10-25",
    "/quickscan vakantie herfst 2026-13-01 2026-10-20",
    "/quickscan vakantie herfst 2026-10-25 2026-10-17",
    "/quickscan vakantie herfst 20261017 20261025",
    "/quickscan vakantie herfst 2026-01-01 2026-12-31",
    f"/quickscan vakantie herfst {ARABIC_12} {ARABIC_12}",
    "/quickscan vakantie herfst 2026-12-01 2026-12-24",  # well formed, overlaps the kerst
    # the planning
    "/quickscan planning ronde1_weken",
    "/quickscan planning ronde1_weken 99",
    "/quickscan planning ronde1_weken 0",
    f"/quickscan planning ronde1_weken {HUGE}",
    f"/quickscan planning herinnering_dagen {ARABIC_12}",
    "/quickscan planning onzin 3",
    "/quickscan planning ronde1_weken 3 4",
    # thresholds, minimum, language
    "/quickscan drempel verdeeld",
    "/quickscan drempel verdeeld 101",
    "/quickscan drempel verdeeld nan",
    "/quickscan drempel werkpunt_gemiddelde 1e2",
    f"/quickscan drempel gaat_goed {HUGE}",
    "/quickscan drempel onzin 30",
    "/quickscan threshold verdeeld -5",
    "/quickscan minimum",
    "/quickscan minimum 2",
    "/quickscan minimum -5",
    f"/quickscan minimum {ARABIC_12}",
    f"/quickscan minimum {HUGE}",
    "/quickscan minimum 5 6",
    "/quickscan taal",
    "/quickscan taal fr",
    "/quickscan language klingon",
    # coordinators of nobody
    "/quickscan coordinator",
    "/quickscan coordinator @",
    "/quickscan coordinator anna bram",
    "/quickscan coordinator @anna",  # already one: nothing changes
    "/quickscan coordinator verwijder",
    "/quickscan coordinator verwijder @niemand",
    "/quickscan coordinator verwijder @anna",  # the last one
    "/quickscan coordinator verwijder \u202e@anna",
    # rounds, results
    "/quickscan start onzin",
    "/quickscan start 32-13",
    "/quickscan start 01-01-2020",
    "/quickscan start 01-01-2099",
    f"/quickscan start {HUGE}",
    "/quickscan sluit",
    "/quickscan status nu",
    "/quickscan status",
    "/quickscan grafiek onzin",
    "/quickscan grafiek",
    "/quickscan export",
    # the checklist
    "/quickscan checklist onzin",
    "/quickscan checklist start",
    "/quickscan checklist start 3",
    "/quickscan checklist start \u00b2",
    f"/quickscan checklist start {HUGE}",
    "/quickscan checklist start 1 32-13",
    "/quickscan checklist start 1 morgen",
    "/quickscan checklist sluit",
    "/quickscan checklist status",
    "/quickscan checklist aan",  # already on
    "/quickscan checklist uit nu meteen",
    # privacy words, unknown words, hostile text
    "/quickscan vergeet-mij misschien",
    "/quickscan onzin",
    f"/quickscan {ARABIC_12}",
    "/quickscan regio noord\x00",
    "/quickscan minimum 5\x07",
    "/quickscan " + "regio " * 1000,
    "/quickscan \U0001f600 \u200b",
)

NOT_A_COORDINATOR = (
    "/quickscan regio noord",
    "/quickscan gemeente Tilburg",
    "/quickscan vakantie herfst 2026-10-17 2026-10-25",
    "/quickscan planning ronde1_weken 4",
    "/quickscan planning standaard",
    "/quickscan drempel verdeeld 30",
    "/quickscan drempel standaard",
    "/quickscan minimum 6",
    "/quickscan taal en",
    "/quickscan coordinator @bram",
    "/quickscan coordinator verwijder @anna",
    "/quickscan start",
    "/quickscan sluit",
    "/quickscan export",
    "/quickscan checklist start 1",
    "/quickscan checklist sluit",
    "/quickscan checklist uit",
    "/quickscan checklist off",
)


INTERNAL_ERROR = re.compile(r"override for|overlaps|outside the school calendar|starts before")


def _assert_private(replies: list[Outbound], *, user: str, typed: str) -> None:
    assert replies, f"no answer to {typed!r}"
    for reply in replies:
        assert reply.destination.kind is not DestinationKind.TEAM, (typed, reply.text)
        assert reply.destination.user == user, (typed, reply.destination)


@pytest.fixture
def coordinated(testbot: TestBot) -> TestBot:
    """anna coordinates the team (region midden); nothing else is set."""
    testbot.store.ensure_team(key=testbot.team, founder="anna", now=testbot.clock.now())
    testbot.say("anna", "/quickscan regio midden", where=Where.TEAM)
    return testbot


def test_no_mistake_of_a_coordinator_reaches_the_channel(coordinated: TestBot) -> None:
    before = coordinated.store.get_team(key=coordinated.team)

    for typed in COORDINATOR_MISTAKES:
        replies = coordinated.say("anna", typed, where=Where.TEAM)
        _assert_private(replies, user="anna", typed=typed)
        for reply in replies:  # no internal (English) error text inside the Dutch reply
            assert not INTERNAL_ERROR.search(reply.text), (typed, reply.text)

    assert coordinated.store.get_team(key=coordinated.team) == before
    assert coordinated.store.coordinators(key=coordinated.team) == ["anna"]
    assert coordinated.store.current_round(key=coordinated.team) is None


def test_overlapping_holiday_dates_are_refused_in_the_teams_words(coordinated: TestBot) -> None:
    (reply,) = coordinated.say(
        "anna", "/quickscan vakantie herfst 2026-12-01 2026-12-24", where=Where.TEAM
    )
    assert reply.text == (
        "Die data overlappen de kerstvakantie van de school (19-12-2026 tot en met "
        "03-01-2027). Er is niets gewijzigd."
    )
    coordinated.say("anna", "/quickscan taal en", where=Where.TEAM)
    (english,) = coordinated.say(
        "anna", "/quickscan vakantie herfst 2026-12-01 2026-12-24", where=Where.TEAM
    )
    assert english.text == (
        "Those dates overlap the school's Christmas holiday (19-12-2026 to 03-01-2027). "
        "Nothing was changed."
    )


def test_no_refusal_of_a_member_reaches_the_channel(coordinated: TestBot) -> None:
    before = coordinated.store.get_team(key=coordinated.team)

    for typed in NOT_A_COORDINATOR:
        replies = coordinated.say("bram", typed, where=Where.TEAM)
        _assert_private(replies, user="bram", typed=typed)
        assert "Alleen een coördinator" in replies[0].text, typed

    assert coordinated.store.get_team(key=coordinated.team) == before
    assert coordinated.store.coordinators(key=coordinated.team) == ["anna"]


def test_mistakes_while_a_round_is_open_stay_private(coordinated: TestBot) -> None:
    coordinated.say("anna", "/quickscan start", where=Where.TEAM)
    coordinated.say("anna", "/quickscan checklist start 1", where=Where.TEAM)

    for typed in (
        "/quickscan start",
        "/quickscan checklist start 1",
        "/quickscan checklist start 2",
        "/quickscan status extra",
        "/quickscan checklist aan",
    ):
        replies = coordinated.say("anna", typed, where=Where.TEAM)
        _assert_private(replies, user="anna", typed=typed)


def test_a_button_pressed_in_the_channel_is_answered_privately(coordinated: TestBot) -> None:
    replies = coordinated.press("bram", "qs:1:ans:++", where=Where.TEAM)

    _assert_private(replies, user="bram", typed="a button")


def test_refusals_in_english_are_private_too(coordinated: TestBot) -> None:
    coordinated.say("anna", "/quickscan language en", where=Where.TEAM)

    for user, typed in (
        ("anna", "/quickscan gemeente Atlantis"),
        ("anna", "/quickscan checklist on"),
        ("bram", "/quickscan checklist off"),
        ("bram", "/quickscan close"),
    ):
        replies = coordinated.say(user, typed, where=Where.TEAM)
        _assert_private(replies, user=user, typed=typed)
        assert "Er is niets" not in replies[0].text  # said in the team's language
