"""Several replicas on one database: every event may reach any of them, none is lost.

Each replica is an OS process of its own (tests/replica_driver.py) with its own
Engine, released together on one signal so their events truly race. Run on
PostgreSQL (the hosted case: several ``quickscan`` processes behind one load
balancer) and on one SQLite file (the embedded case: two processes on a laptop).
Between races the test reads the database itself.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.results.service import result_key
from conversations.core.i18n import Catalogue
from conversations.core.messages import Where
from storage.conflicts import ConcurrentChangeError
from storage.models.delivery import OutboxMessageRow
from storage.models.quickscan import RoundResultRow, RoundRow
from storage.quickscan.records import Participation, ParticipationState, RoundStatus
from storage.quickscan.store import Store
from storage.schedule.store import PingStatus, PlannedPing, ScheduleStore
from tests.conftest import FakeClock
from tests.replica_driver import Counter, Replica, race, say
from tests.testbot import TEAM, TestBot

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
PAIRS = 20
TEXTS = Catalogue("nl")
QUESTION = re.compile(r"vraag (\d+) van \d+")


@pytest.fixture
def bot(database_url: str, tmp_path: Path) -> Iterator[TestBot]:
    """The test's own engine on the fresh database: it sets up and inspects."""
    opened = TestBot.open(
        database_url=database_url,
        clock=FakeClock(start=NOW),
        output_dir=tmp_path / "output",
    )
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def replicas(bot: TestBot, database_url: str, tmp_path: Path) -> Iterator[list[Replica]]:
    """Two replica processes on the same (already migrated) database."""
    started: list[Replica] = []
    try:
        for number in (1, 2):
            started.append(
                Replica(
                    url=database_url,
                    at=NOW,
                    output_dir=tmp_path / f"output-{number}",
                    log=tmp_path / f"replica-{number}.log",
                )
            )
        yield started
    finally:
        for replica in started:
            replica.close()


def question_number(text: str) -> int:
    """The number of the question a walkthrough prompt shows ("vraag 3 van 48")."""
    found = QUESTION.search(text)
    assert found is not None, text
    return int(found[1])


def anna_participation(store: Store) -> Participation:
    found = store.active_participations(
        platform=TEAM.platform, workspace=TEAM.workspace, user="anna"
    )
    assert len(found) == 1
    return found[0]


def test_one_members_answers_on_two_replicas_are_all_stored(
    bot: TestBot, replicas: list[Replica]
) -> None:
    event_id = Counter()
    bot.say("anna", "/quickscan start", where=Where.TEAM)
    bot.say("anna", "hoi")  # the first question is on screen
    participation = anna_participation(bot.store)
    assert (participation.state, participation.position) == (ParticipationState.ANSWERING, 0)

    for pair in range(PAIRS):
        first, second = race(
            replicas,
            [
                say(event_id(), "anna", "1", where="dm"),
                say(event_id(), "anna", "5", where="dm"),
            ],
        )
        assert first.clean, first
        assert second.clean, second
        participation = anna_participation(bot.store)
        assert participation.state is ParticipationState.ANSWERING
        assert participation.position == 2 * (pair + 1)
        answers = bot.store.answers(participation_id=participation.id)
        assert len(answers) == 2 * (pair + 1)
        # Each replica answered another question and was shown the one after it.
        shown = {question_number(reply["text"]) for reply in first.replies + second.replies}
        assert shown == {2 * pair + 2, 2 * pair + 3}
    assert sorted(set(answers.values())) == ["++", "--"]
    assert list(answers.values()).count("++") == PAIRS


def pending_pings(store: Store) -> set[tuple[str, str, datetime]]:
    pings = ScheduleStore(engine=store.engine).pings(key=TEAM)
    return {
        (ping.id, ping.kind, ping.due_at) for ping in pings if ping.status is PingStatus.PENDING
    }


def test_concurrent_replans_all_succeed_and_follow_the_last_region(
    bot: TestBot, replicas: list[Replica]
) -> None:
    event_id = Counter()
    bot.store.ensure_team(key=TEAM, founder="anna", now=NOW)
    bot.say("anna", "/quickscan regio midden", where=Where.TEAM)
    plans: dict[str, set[tuple[str, str, datetime]]] = {}
    regions = ("noord", "zuid")
    for region in regions:
        bot.say("anna", f"/quickscan regio {region}", where=Where.TEAM)
        plans[region] = pending_pings(bot.store)
    assert plans["noord"] != plans["zuid"]  # the race below can tell them apart

    for trial in range(6):
        region = regions[trial % 2]
        other = regions[(trial + 1) % 2]
        change = say(event_id(), "anna", f"/quickscan regio {region}", where="team")
        if trial % 3 == 2:  # the hourly re-plan against a coordinator's change
            rival = {"op": "replan"}
        else:
            rival = say(event_id(), "anna", f"/quickscan regio {other}", where="team")
        outcomes = race(replicas, [change, rival])
        for outcome in outcomes:
            assert outcome.clean, outcome
        told = [reply for outcome in outcomes for reply in outcome.replies]
        assert all(reply["kind"] == "team" for reply in told), told
        assert all("regio" in reply["text"] for reply in told), told
        team = bot.store.get_team(key=TEAM)
        assert team is not None
        assert team.region in regions
        assert pending_pings(bot.store) == plans[team.region]


def test_start_and_close_races_give_one_round_and_one_result(
    bot: TestBot, replicas: list[Replica]
) -> None:
    event_id = Counter()
    bot.store.ensure_team(key=TEAM, founder="anna", now=NOW)
    bot.store.add_coordinator(key=TEAM, user="bram", added_by="anna", now=NOW)
    refused = TEXTS.t("start.already_open")
    for _trial in range(3):
        starts = race(
            replicas,
            [
                say(event_id(), "anna", "/quickscan start", where="team"),
                say(event_id(), "bram", "/quickscan start", where="team"),
            ],
        )
        assert all(outcome.clean for outcome in starts), starts
        losers = [o for o in starts if [r["text"] for r in o.replies] == [refused]]
        winners = [o for o in starts if o not in losers]
        assert len(losers) == 1, starts
        assert len(winners) == 1, starts
        assert losers[0].replies[0]["kind"] == "ephemeral"  # told privately
        assert winners[0].replies[0]["kind"] == "team"
        with bot.store.engine.connect() as connection:
            open_rounds = connection.scalar(
                select(func.count()).where(RoundRow.status == RoundStatus.OPEN.value)
            )
        assert open_rounds == 1
        current = bot.store.current_round(key=TEAM)
        assert current is not None

        with bot.store.engine.connect() as connection:
            queued_before = connection.scalar(select(func.count(OutboxMessageRow.id)))
        closes = race(
            replicas,
            [
                say(event_id(), "anna", "/quickscan sluit", where="team"),
                say(event_id(), "bram", "/quickscan sluit", where="team"),
            ],
        )
        assert all(outcome.clean for outcome in closes), closes
        keys = [reply["key"] for outcome in closes for reply in outcome.replies]
        assert keys.count(result_key(current.id)) == 1, closes
        assert bot.store.current_round(key=TEAM) is None
        with bot.store.engine.connect() as connection:
            snapshots = connection.scalar(
                select(func.count()).where(RoundResultRow.round_id == current.id)
            )
            queued = connection.scalar(select(func.count(OutboxMessageRow.id)))
        assert snapshots == 1
        # What the replicas returned is exactly what was queued: one close's posts
        # and the other's private "nothing to close".
        assert queued - queued_before == len(keys)


@pytest.mark.postgres
def test_a_step_saved_over_a_stale_read_is_redone(
    fresh_postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that lost the race reads again and stores its answer too.

    The member lock keeps this from happening between replicas; here another
    connection saves a step while the event is between its read and its write,
    as a replica would that did not take the lock.
    """
    bot = TestBot.open(
        database_url=fresh_postgres_database, clock=FakeClock(start=NOW), output_dir=tmp_path
    )
    rival = Store.open(url=fresh_postgres_database, migrate=False)
    try:
        bot.say("anna", "/quickscan start", where=Where.TEAM)
        bot.say("anna", "hoi")
        original = bot.store.save_progress
        expected: list[int | None] = []

        def rival_answers_first(participation_id: int, version: int | None) -> None:
            rival.save_progress(
                participation_id=participation_id,
                state=ParticipationState.ANSWERING,
                position=1,
                now=NOW,
                answers={"q01": "+"},
                expected_version=version,
            )

        def interleaved(**kwargs: Any) -> Participation:
            expected.append(kwargs["expected_version"])
            if len(expected) == 1:  # another replica saves its step, and commits
                # A thread of its own: it must not join this event's transaction.
                other = threading.Thread(
                    target=rival_answers_first,
                    args=(kwargs["participation_id"], kwargs["expected_version"]),
                )
                other.start()
                other.join()
            return original(**kwargs)

        monkeypatch.setattr(bot.store, "save_progress", interleaved)
        replies = bot.say("anna", "1")
        answers = bot.store.answers(participation_id=anna_participation(bot.store).id)
    finally:
        rival.close()
        bot.close()
    first, second = expected
    assert first is not None
    assert second == first + 1  # redone over what the rival saved
    assert answers == {"q01": "+", "q02": "++"}
    assert [question_number(reply.text) for reply in replies] == [3]  # not told it failed


def test_a_stale_expected_version_changes_nothing(store: Store) -> None:
    store.ensure_team(key=TEAM, founder="anna", now=NOW)
    round_ = store.open_round(
        key=TEAM, instrument_id="quickscan-po", opened_by="anna", deadline=None, now=NOW
    )
    participation, _ = store.invite(
        key=TEAM, round_id=round_.id, user="anna", display_name="Anna", now=NOW
    )
    saved = store.save_progress(
        participation_id=participation.id,
        state=ParticipationState.ANSWERING,
        position=1,
        now=NOW,
        answers={"q01": "+"},
        expected_version=participation.version,
    )
    assert saved.version == participation.version + 1

    with pytest.raises(ConcurrentChangeError):
        store.save_progress(
            participation_id=participation.id,
            state=ParticipationState.ANSWERING,
            position=1,
            now=NOW,
            answers={"q01": "--"},
            expected_version=participation.version,
        )
    assert store.answers(participation_id=participation.id) == {"q01": "+"}
    again = store.participation(key=TEAM.member("anna"), round_id=round_.id)
    assert again is not None
    assert again.version == saved.version


def test_a_replan_reopens_only_cancelled_pings_still_ahead(store: Store) -> None:
    """Planned there and back, a cancelled ping returns; a decided one never does."""
    store.ensure_team(key=TEAM, founder="anna", now=NOW)
    schedule = ScheduleStore(engine=store.engine)
    later = NOW + timedelta(days=7)
    pings = {
        name: PlannedPing(id=f"t:{name}", kind="checklist_remind", due_at=due, useful_until=due)
        for name, due in (("sent", later), ("ahead", later), ("passed", NOW + timedelta(hours=1)))
    }
    schedule.sync(key=TEAM, planned=list(pings.values()), now=NOW)
    assert schedule.claim(ping_id="t:sent", status=PingStatus.SENT, now=NOW)
    schedule.sync(key=TEAM, planned=[], now=NOW)  # a region without these dates
    past_the_hour = NOW + timedelta(hours=2)
    schedule.sync(key=TEAM, planned=list(pings.values()), now=past_the_hour)  # and back

    status = {ping.id: ping.status for ping in schedule.pings(key=TEAM)}
    assert status == {
        "t:sent": PingStatus.SENT,
        "t:ahead": PingStatus.PENDING,
        "t:passed": PingStatus.CANCELLED,  # it would fire late: stays cancelled
    }
