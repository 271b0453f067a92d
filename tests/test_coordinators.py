"""Who becomes coordinator, and how one is removed (never the last).

On platforms without admin information (console, Slack) the first person to start
a round becomes the team's coordinator: asking for help, the status or anything
else first makes nobody coordinator. On Telegram the group's admins manage the
team. ``/quickscan coordinator verwijder @naam`` removes one, never the last; every
refusal goes only to the person who typed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.console_harness import CONSOLE_TEAM, Console, make_console, texts_for
from tests.testbot import TestBot

NL = Catalogue("nl")
MEMBERS = ("anna", "bram", "chris")


@pytest.fixture
def console(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Console]:
    made = make_console(
        database_url=database_url, members=MEMBERS, clock=clock, output_dir=tmp_path / "out"
    )
    try:
        yield made
    finally:
        made.store.close()


def coordinators(console: Console) -> list[str]:
    return console.store.coordinators(key=CONSOLE_TEAM)


def private_to(blocks: list[tuple[str, str]], user: str) -> list[str]:
    assert {tag for tag, _text in blocks} == {f"team>{user}"}, blocks
    return [text for _tag, text in blocks]


def test_help_status_and_settings_make_nobody_coordinator(console: Console) -> None:
    for line in (
        "/quickscan help",
        "/quickscan hulp",
        "/quickscan",
        "/quickscan status",
        "/quickscan grafiek",
        "/quickscan kalender",
        "/quickscan drempel",
        "/quickscan planning",
        "/quickscan checklist",
        "/quickscan checklist status",
        "/quickscan onzin",
    ):
        console.say(f"bram@team: {line}")
    assert coordinators(console) == []
    # Settings are for coordinators: there is none yet, and the answer says how.
    for line in ("/quickscan regio noord", "/quickscan minimum 4", "/quickscan taal en"):
        refused = private_to(console.say(f"bram@team: {line}"), "bram")
        assert refused == [NL.t("input.no_coordinator_yet")]
    assert coordinators(console) == []
    team = console.store.get_team(key=CONSOLE_TEAM)
    assert team is not None
    assert team.region is None
    assert team.min_respondents == 5

    started = console.say("chris@team: /quickscan start")
    assert "chris heeft de quickscan" in texts_for(started, "team")[0]
    assert coordinators(console) == ["chris"]
    console.say("chris@team: /quickscan sluit")
    # The next starter is no founder: the team has its coordinator.
    refused = private_to(console.say("bram@team: /quickscan start"), "bram")
    assert refused == [NL.t("cmd.not_coordinator")]
    assert coordinators(console) == ["chris"]


def test_help_before_anyone_started_says_how_to_become_coordinator(console: Console) -> None:
    """The console and Slack name no admins: help must not claim "the group's admins"."""
    shown = private_to(console.say("bram@team: /quickscan help"), "bram")[0]
    assert NL.t("help.admins_only") not in shown
    assert NL.t("input.help_no_coordinator") in shown
    console.say("chris@team: /quickscan start")
    shown = private_to(console.say("bram@team: /quickscan help"), "bram")[0]
    assert "Coördinatoren: chris\n" in shown


def test_a_bad_start_still_founds_but_only_the_starter(console: Console) -> None:
    """Starting is what makes a coordinator, even when the deadline was mistyped."""
    refused = private_to(console.say("bram@team: /quickscan start 31-02-2025"), "bram")
    assert "geen geldige datum" in refused[0]
    assert coordinators(console) == ["bram"]


def test_starting_a_checklist_round_founds_the_team_too(console: Console) -> None:
    console.say("bram@team: /quickscan checklist")  # bind as teacher: not a start
    assert coordinators(console) == []
    console.say("bram@team: /quickscan checklist start 2")
    assert coordinators(console) == ["bram"]


def test_removing_a_coordinator(console: Console) -> None:
    console.say("anna@team: /quickscan start")
    added = console.say("anna@team: /quickscan coordinator @bram")
    assert texts_for(added, "team") == [NL.t("coordinator.added", user="bram")]

    # Only a coordinator removes one; every refusal is private and changes nothing.
    attempt = console.say("chris@team: /quickscan coordinator verwijder @bram")
    refused = private_to(attempt, "chris")
    assert refused == [NL.t("cmd.not_coordinator")]
    not_one = private_to(console.say("anna@team: /quickscan coordinator verwijder @chris"), "anna")
    assert not_one == [NL.t("input.coordinator_not_one", user="chris")]
    usage = private_to(console.say("anna@team: /quickscan coordinator verwijder"), "anna")
    assert usage == [NL.t("input.coordinator_remove_usage")]
    nonsense = private_to(console.say("anna@team: /quickscan coordinator remove @\u200b"), "anna")
    assert "geen naam van een teamlid" in nonsense[0]
    assert coordinators(console) == ["anna", "bram"]

    removed = console.say("bram@team: /quickscan coordinator remove @anna")
    assert texts_for(removed, "team") == [NL.t("input.coordinator_removed", user="anna")]
    assert coordinators(console) == ["bram"]
    # anna can no longer manage; bram cannot remove himself: he is the last one.
    gone = private_to(console.say("anna@team: /quickscan coordinator verwijder @bram"), "anna")
    assert gone == [NL.t("cmd.not_coordinator")]
    last = private_to(console.say("bram@team: /quickscan coordinator verwijder bram"), "bram")
    assert last == [NL.t("input.coordinator_last", user="bram")]
    assert coordinators(console) == ["bram"]


def test_adding_a_coordinator_refuses_unusable_names(console: Console) -> None:
    console.say("anna@team: /quickscan start")
    for name in ("@", "@" + "x" * 41, "@a\u200bb", "@\u202eevil"):
        refused = private_to(console.say(f"anna@team: /quickscan coordinator {name}"), "anna")
        assert "geen naam van een teamlid" in refused[0]
        assert "x" * 41 not in refused[0]
    assert coordinators(console) == ["anna"]


def test_the_store_never_removes_the_last_coordinator(store: Store, clock: FakeClock) -> None:
    team = TeamKey(platform="slack", workspace="T1", team="C1")
    assert not store.remove_coordinator(key=team, user="U-ida")  # no such team
    store.ensure_team(key=team, founder="U-ida", now=clock())
    assert not store.remove_coordinator(key=team, user="U-ida")
    assert not store.remove_coordinator(key=team, user="U-nobody")
    store.add_coordinator(key=team, user="U-bas", added_by="U-ida", now=clock())
    other = TeamKey(platform="slack", workspace="T1", team="C2")
    store.ensure_team(key=other, founder="U-ida", now=clock())
    assert store.remove_coordinator(key=team, user="U-ida")
    assert store.coordinators(key=team) == ["U-bas"]
    assert store.coordinators(key=other) == ["U-ida"]  # another team is untouched


def test_two_coordinators_removing_each_other_at_once_leave_one(
    database_url: str, clock: FakeClock
) -> None:
    team = TeamKey(platform="slack", workspace="T1", team="C1")
    stores = [Store.open(url=database_url), Store.open(url=database_url)]
    try:
        for attempt in range(5):
            key = TeamKey(platform=team.platform, workspace=team.workspace, team=f"C{attempt}")
            stores[0].ensure_team(key=key, founder="U-a", now=clock())
            stores[0].add_coordinator(key=key, user="U-b", added_by="U-a", now=clock())
            barrier = threading.Barrier(2)
            results: dict[str, bool] = {}
            threads = [
                threading.Thread(target=_remove, args=(stores[0], key, "U-a", barrier, results)),
                threading.Thread(target=_remove, args=(stores[1], key, "U-b", barrier, results)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert sorted(results.values()) == [False, True]
            assert len(stores[0].coordinators(key=key)) == 1
    finally:
        for opened in stores:
            opened.close()


def _remove(
    store: Store, key: TeamKey, user: str, barrier: threading.Barrier, results: dict[str, bool]
) -> None:
    barrier.wait()
    results[user] = store.remove_coordinator(key=key, user=user)


# ------------------------------------------------------------------ Telegram


def telegram(user: str, text: str, *, admin: bool = False) -> Inbound:
    return Inbound(
        platform="telegram",
        workspace="bot1",
        team="-100",
        where=Where.TEAM,
        sender=Sender(user=user, display_name=user.title()),
        text=text,
        admins_known=True,
        sender_is_admin=admin,
    )


def channel(replies: list[Outbound]) -> list[Outbound]:
    return [reply for reply in replies if reply.destination.kind is DestinationKind.TEAM]


def test_on_telegram_the_admins_are_the_coordinators(testbot: TestBot) -> None:
    key = TeamKey(platform="telegram", workspace="bot1", team="-100")
    testbot.engine.handle(telegram("bram", "/quickscan help"))
    refused = testbot.engine.handle(telegram("bram", "/quickscan start"))
    assert refused[0].text == NL.t("cmd.not_coordinator")
    assert channel(refused) == []
    assert testbot.store.coordinators(key=key) == []
    allowed = testbot.engine.handle(telegram("anna", "/quickscan start", admin=True))
    assert channel(allowed)
    # Admins manage without being named; nobody claimed the team.
    assert testbot.store.coordinators(key=key) == []


def test_on_telegram_help_names_the_admins_while_nobody_is_named(testbot: TestBot) -> None:
    shown = testbot.engine.handle(telegram("bram", "/quickscan help"))[0].text
    assert f"Coördinatoren: {NL.t('help.admins_only')}\n" in shown


def test_on_telegram_an_admin_starting_first_is_named_as_before(testbot: TestBot) -> None:
    key = TeamKey(platform="telegram", workspace="bot1", team="-100")
    testbot.engine.handle(telegram("anna", "/quickscan start", admin=True))
    assert testbot.store.coordinators(key=key) == ["anna"]
