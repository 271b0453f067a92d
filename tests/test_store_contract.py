"""The contract of ``storage.quickscan.store.Store``, run unchanged on SQLite and PostgreSQL.

Whatever the engine relies on is pinned here once, so both databases behave
alike: atomic progress, one open round per team, anonymous results and strict
team isolation.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import StatementError

from storage.keys import ConversationKey, TeamKey
from storage.quickscan.records import (
    DEFAULT_MIN_RESPONDENTS,
    DEFAULT_MIN_TEXT_RESPONDENTS,
    MIN_RESPONDENTS_FLOOR,
    ParticipationState,
    Round,
    RoundAlreadyOpenError,
    RoundCounts,
    RoundNotOpenError,
    RoundStatus,
)
from storage.quickscan.store import Store, UnknownTeamError

if TYPE_CHECKING:  # only for annotations; pytest provides the fixture at run time
    from conftest import FakeClock

INSTRUMENT = "samenwerken-met-ouders"
TEAM = TeamKey(platform="slack", workspace="T-school-a", team="C-groep-3")
NEIGHBOUR = TeamKey(platform="slack", workspace="T-school-a", team="C-groep-4")
ELSEWHERE = TeamKey(platform="slack", workspace="T-school-b", team="C-groep-3")


def _team_with_round(store: Store, clock: FakeClock, key: TeamKey = TEAM) -> Round:
    store.ensure_team(key=key, founder="U-ida", now=clock())
    return store.open_round(
        key=key, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
    )


def test_ensure_team_creates_team_with_founder_as_coordinator(
    store: Store, clock: FakeClock
) -> None:
    team, created = store.ensure_team(key=TEAM, founder="U-ida", now=clock())

    assert created
    assert team.key == TEAM
    assert team.locale == "nl"
    assert team.min_respondents == DEFAULT_MIN_RESPONDENTS
    assert team.min_text_respondents == DEFAULT_MIN_TEXT_RESPONDENTS
    assert team.created_at == clock()
    assert store.coordinators(key=TEAM) == ["U-ida"]
    assert store.is_coordinator(key=TEAM, user="U-ida")
    assert not store.is_coordinator(key=TEAM, user="U-bas")

    clock.advance(minutes=1)
    again, created_again = store.ensure_team(key=TEAM, founder="U-bas", now=clock())
    assert not created_again
    assert again == team
    assert store.coordinators(key=TEAM) == ["U-ida"]
    assert store.get_team(key=TEAM) == team
    assert store.get_team(key=NEIGHBOUR) is None


def test_add_coordinator_is_idempotent(store: Store, clock: FakeClock) -> None:
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    clock.advance(minutes=5)

    assert store.add_coordinator(key=TEAM, user="U-bas", added_by="U-ida", now=clock())
    assert not store.add_coordinator(key=TEAM, user="U-bas", added_by="U-ida", now=clock())
    assert not store.add_coordinator(key=TEAM, user="U-ida", added_by="U-bas", now=clock())
    assert store.coordinators(key=TEAM) == ["U-ida", "U-bas"]
    assert store.is_coordinator(key=TEAM, user="U-bas")
    with pytest.raises(UnknownTeamError):
        store.add_coordinator(key=NEIGHBOUR, user="U-bas", added_by="U-ida", now=clock())


def test_update_team_keeps_the_anonymity_floor(store: Store, clock: FakeClock) -> None:
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())

    with pytest.raises(ValueError, match="min_respondents"):
        store.update_team(key=TEAM, min_respondents=MIN_RESPONDENTS_FLOOR - 1)
    with pytest.raises(ValueError, match="min_text_respondents"):
        store.update_team(key=TEAM, min_text_respondents=MIN_RESPONDENTS_FLOOR - 1)
    unchanged = store.get_team(key=TEAM)
    assert unchanged is not None
    assert unchanged.min_respondents == DEFAULT_MIN_RESPONDENTS

    updated = store.update_team(key=TEAM, locale="en", min_respondents=MIN_RESPONDENTS_FLOOR)
    assert updated.locale == "en"
    assert updated.min_respondents == MIN_RESPONDENTS_FLOOR
    assert updated.min_text_respondents == DEFAULT_MIN_TEXT_RESPONDENTS
    assert store.get_team(key=TEAM) == updated
    with pytest.raises(UnknownTeamError):
        store.update_team(key=NEIGHBOUR, locale="en")


def test_only_one_open_round_per_team(store: Store, clock: FakeClock) -> None:
    deadline = clock() + timedelta(days=7)
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    first = store.open_round(
        key=TEAM, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=deadline, now=clock()
    )

    assert first.status is RoundStatus.OPEN
    assert first.deadline == deadline
    assert first.closed_at is None
    assert store.current_round(key=TEAM) == first
    assert store.get_round(key=TEAM, round_id=first.id) == first
    with pytest.raises(RoundAlreadyOpenError):
        store.open_round(
            key=TEAM, instrument_id=INSTRUMENT, opened_by="U-bas", deadline=None, now=clock()
        )

    clock.advance(days=7)
    closed = store.close_round(key=TEAM, round_id=first.id, now=clock())
    assert closed.status is RoundStatus.CLOSED
    assert closed.closed_at == clock()
    assert store.current_round(key=TEAM) is None

    clock.advance(days=90)
    second = store.open_round(
        key=TEAM, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
    )
    clock.advance(days=7)
    store.close_round(key=TEAM, round_id=second.id, now=clock())
    assert [r.id for r in store.closed_rounds(key=TEAM, instrument_id=INSTRUMENT)] == [
        second.id,
        first.id,
    ]
    assert store.closed_rounds(key=TEAM, instrument_id="ander-instrument") == []


def test_close_round_twice_raises(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)
    store.close_round(key=TEAM, round_id=round_.id, now=clock())

    with pytest.raises(RoundNotOpenError):
        store.close_round(key=TEAM, round_id=round_.id, now=clock())
    with pytest.raises(RoundNotOpenError):
        store.close_round(key=TEAM, round_id=round_.id + 1000, now=clock())


def test_concurrent_opens_and_closes_have_one_winner(store: Store, clock: FakeClock) -> None:
    store.ensure_team(key=TEAM, founder="U-ida", now=clock())
    contenders = 6
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(action: str, round_id: int = 0) -> None:
        barrier.wait()
        try:
            if action == "open":
                store.open_round(
                    key=TEAM,
                    instrument_id=INSTRUMENT,
                    opened_by="U-ida",
                    deadline=None,
                    now=clock(),
                )
            else:
                store.close_round(key=TEAM, round_id=round_id, now=clock())
            outcome = "won"
        except (RoundAlreadyOpenError, RoundNotOpenError):
            outcome = "lost"
        with lock:
            outcomes.append(outcome)

    def race(action: str, round_id: int = 0) -> list[str]:
        outcomes.clear()
        threads = [
            threading.Thread(target=attempt, args=(action, round_id)) for _ in range(contenders)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return sorted(outcomes)

    assert race("open") == ["lost"] * (contenders - 1) + ["won"]
    current = store.current_round(key=TEAM)
    assert current is not None
    assert race("close", current.id) == ["lost"] * (contenders - 1) + ["won"]


def test_invite_is_idempotent(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)

    first, created = store.invite(
        key=TEAM, round_id=round_.id, user="U-bas", display_name="Bas", now=clock()
    )
    assert created
    assert first.key == TEAM.member("U-bas")
    assert first.state is ParticipationState.INVITED
    assert first.position == 0
    assert first.invited_at == clock()
    assert first.started_at is None
    assert first.submitted_at is None

    clock.advance(hours=1)
    again, created_again = store.invite(
        key=TEAM, round_id=round_.id, user="U-bas", display_name="Bas B.", now=clock()
    )
    assert not created_again
    assert again == first
    assert store.participations(key=TEAM, round_id=round_.id) == [first]
    assert store.participation(key=TEAM.member("U-bas"), round_id=round_.id) == first


def test_invite_into_closed_or_foreign_round_raises(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)
    store.ensure_team(key=NEIGHBOUR, founder="U-kim", now=clock())

    with pytest.raises(RoundNotOpenError):
        store.invite(
            key=NEIGHBOUR, round_id=round_.id, user="U-kim", display_name="K", now=clock()
        )
    store.close_round(key=TEAM, round_id=round_.id, now=clock())
    with pytest.raises(RoundNotOpenError):
        store.invite(key=TEAM, round_id=round_.id, user="U-bas", display_name="B", now=clock())
    assert store.participations(key=TEAM, round_id=round_.id) == []


def test_save_progress_commits_answers_and_state_together(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)
    invited, _ = store.invite(
        key=TEAM, round_id=round_.id, user="U-bas", display_name="Bas", now=clock()
    )
    started_at = clock.advance(minutes=3)

    saved = store.save_progress(
        participation_id=invited.id,
        state=ParticipationState.ANSWERING,
        position=2,
        now=clock(),
        answers={"q1": "3", "q2": "4"},
        mark_started=True,
    )
    assert saved.state is ParticipationState.ANSWERING
    assert saved.position == 2
    assert saved.started_at == started_at
    assert store.answers(participation_id=invited.id) == {"q1": "3", "q2": "4"}

    clock.advance(minutes=1)
    saved = store.save_progress(
        participation_id=invited.id,
        state=ParticipationState.ANSWERING,
        position=3,
        now=clock(),
        answers={"q2": None, "q3": "1", "q1": "2"},
        mark_started=True,
    )
    assert saved.started_at == started_at  # the first start counts
    assert store.answers(participation_id=invited.id) == {"q1": "2", "q3": "1"}

    submitted_at = clock.advance(minutes=1)
    saved = store.save_progress(
        participation_id=invited.id,
        state=ParticipationState.SUBMITTED,
        position=0,
        now=clock(),
        mark_submitted=True,
    )
    assert saved.submitted_at == submitted_at
    assert store.participation(key=TEAM.member("U-bas"), round_id=round_.id) == saved

    reopened = store.save_progress(
        participation_id=invited.id,
        state=ParticipationState.REVIEW,
        position=0,
        now=clock(),
        clear_submitted=True,
    )
    assert reopened.submitted_at is None
    assert reopened.state is ParticipationState.REVIEW
    with pytest.raises(ValueError, match="exclude"):
        store.save_progress(
            participation_id=invited.id,
            state=ParticipationState.SUBMITTED,
            position=0,
            now=clock(),
            mark_submitted=True,
            clear_submitted=True,
        )


def test_save_progress_on_closed_round_changes_nothing(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)
    invited, _ = store.invite(
        key=TEAM, round_id=round_.id, user="U-bas", display_name="Bas", now=clock()
    )
    before = store.save_progress(
        participation_id=invited.id,
        state=ParticipationState.ANSWERING,
        position=1,
        now=clock(),
        answers={"q1": "3"},
        mark_started=True,
    )
    store.close_round(key=TEAM, round_id=round_.id, now=clock.advance(days=1))

    with pytest.raises(RoundNotOpenError):
        store.save_progress(
            participation_id=invited.id,
            state=ParticipationState.SUBMITTED,
            position=5,
            now=clock.advance(minutes=1),
            answers={"q1": None, "q2": "4"},
            mark_submitted=True,
        )
    assert store.participation(key=TEAM.member("U-bas"), round_id=round_.id) == before
    assert store.answers(participation_id=invited.id) == {"q1": "3"}


def test_round_counts(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)
    ids = {}
    for user in ("U-a", "U-b", "U-c", "U-d"):
        participation, _ = store.invite(
            key=TEAM, round_id=round_.id, user=user, display_name=user, now=clock()
        )
        ids[user] = participation.id
    for user in ("U-a", "U-b", "U-c"):
        store.save_progress(
            participation_id=ids[user],
            state=ParticipationState.ANSWERING,
            position=1,
            now=clock(),
            answers={"q1": "2"},
            mark_started=True,
        )
    store.save_progress(
        participation_id=ids["U-a"],
        state=ParticipationState.SUBMITTED,
        position=0,
        now=clock(),
        mark_submitted=True,
    )

    assert store.round_counts(key=TEAM, round_id=round_.id) == RoundCounts(
        invited=4, started=3, finished=1
    )
    assert store.round_counts(key=NEIGHBOUR, round_id=round_.id) == RoundCounts(
        invited=0, started=0, finished=0
    )


def test_submitted_answers_are_anonymous_and_only_submitted(
    store: Store, clock: FakeClock
) -> None:
    round_ = _team_with_round(store, clock)
    plan = {
        "U-a": ({"q1": "4", "q2": "3", "open1": "Meer contact"}, True),
        "U-b": ({"q1": "1"}, False),
        "U-c": ({"q1": "2", "q2": "2"}, True),
        "U-d": ({}, True),
    }
    for user, (answers, submit) in plan.items():
        participation, _ = store.invite(
            key=TEAM, round_id=round_.id, user=user, display_name=f"Naam {user}", now=clock()
        )
        store.save_progress(
            participation_id=participation.id,
            state=ParticipationState.SUBMITTED if submit else ParticipationState.ANSWERING,
            position=0,
            now=clock(),
            answers=answers,
            mark_started=True,
            mark_submitted=submit,
        )

    result = store.submitted_answers(key=TEAM, round_id=round_.id)

    assert result == [
        {"q1": "4", "q2": "3", "open1": "Meer contact"},
        {"q1": "2", "q2": "2"},
        {},
    ]
    flattened = repr(result)
    assert not any(user in flattened for user in plan)
    assert store.submitted_answers(key=NEIGHBOUR, round_id=round_.id) == []


def test_participation_for_user_rejects_forged_ids(store: Store, clock: FakeClock) -> None:
    round_ = _team_with_round(store, clock)
    own, _ = store.invite(
        key=TEAM, round_id=round_.id, user="U-bas", display_name="B", now=clock()
    )
    other, _ = store.invite(
        key=TEAM, round_id=round_.id, user="U-kim", display_name="K", now=clock()
    )

    assert (
        store.participation_for_user(
            platform="slack", workspace=TEAM.workspace, user="U-bas", participation_id=own.id
        )
        == own
    )
    assert (
        store.participation_for_user(
            platform="slack", workspace=TEAM.workspace, user="U-bas", participation_id=other.id
        )
        is None
    )
    assert (
        store.participation_for_user(
            platform="slack", workspace=ELSEWHERE.workspace, user="U-bas", participation_id=own.id
        )
        is None
    )
    assert (
        store.participation_for_user(
            platform="telegram", workspace=TEAM.workspace, user="U-bas", participation_id=own.id
        )
        is None
    )
    assert (
        store.participation_for_user(
            platform="slack", workspace=TEAM.workspace, user="U-bas", participation_id=10**6
        )
        is None
    )


def test_teams_are_isolated(store: Store, clock: FakeClock) -> None:
    rounds = {key: _team_with_round(store, clock, key) for key in (TEAM, NEIGHBOUR, ELSEWHERE)}
    participations = {}
    for key, round_ in rounds.items():
        participation, _ = store.invite(
            key=key, round_id=round_.id, user="U-bas", display_name="Bas", now=clock()
        )
        store.save_progress(
            participation_id=participation.id,
            state=ParticipationState.SUBMITTED,
            position=0,
            now=clock(),
            answers={"q1": key.team + key.workspace},
            mark_started=True,
            mark_submitted=True,
        )
        participations[key] = participation

    for key, round_ in rounds.items():
        assert store.current_round(key=key) == round_
        assert store.submitted_answers(key=key, round_id=round_.id) == [
            {"q1": key.team + key.workspace}
        ]
        for other, other_round in rounds.items():
            if other == key:
                continue
            assert store.get_round(key=key, round_id=other_round.id) is None
            assert store.participations(key=key, round_id=other_round.id) == []
            assert store.submitted_answers(key=key, round_id=other_round.id) == []
            assert store.participation(key=key.member("U-bas"), round_id=other_round.id) is None
            with pytest.raises(RoundNotOpenError):
                store.close_round(key=key, round_id=other_round.id, now=clock())
        assert store.coordinators(key=key) == ["U-ida"]

    same_workspace = store.active_participations(
        platform="slack", workspace=TEAM.workspace, user="U-bas"
    )
    assert {p.key.team_key for p in same_workspace} == {TEAM, NEIGHBOUR}
    other_workspace = store.active_participations(
        platform="slack", workspace=ELSEWHERE.workspace, user="U-bas"
    )
    assert other_workspace == [
        store.participation(key=ELSEWHERE.member("U-bas"), round_id=rounds[ELSEWHERE].id)
    ]


def test_datetimes_round_trip_as_aware_utc(store: Store) -> None:
    amsterdam_summer = timezone(timedelta(hours=2))
    local = datetime(2025, 6, 2, 14, 30, 15, 123456, tzinfo=amsterdam_summer)
    store.ensure_team(key=TEAM, founder="U-ida", now=local)
    round_ = store.open_round(
        key=TEAM,
        instrument_id=INSTRUMENT,
        opened_by="U-ida",
        deadline=local + timedelta(days=7),
        now=local,
    )

    team = store.get_team(key=TEAM)
    reread = store.get_round(key=TEAM, round_id=round_.id)
    assert team is not None
    assert reread is not None
    for value in (team.created_at, reread.opened_at, reread.deadline):
        assert value is not None
        assert value.utcoffset() == timedelta(0)
        assert value.tzinfo == UTC
    assert team.created_at == local
    assert reread.opened_at == datetime(2025, 6, 2, 12, 30, 15, 123456, tzinfo=UTC)
    assert reread.deadline == local + timedelta(days=7)

    with pytest.raises((ValueError, StatementError), match="naive"):
        store.ensure_team(key=NEIGHBOUR, founder="U-ida", now=datetime(2025, 6, 2, 12, 0))  # noqa: DTZ001 - a naive datetime is exactly what must be refused


def test_active_participations_only_in_open_rounds(store: Store, clock: FakeClock) -> None:
    first = _team_with_round(store, clock, TEAM)
    second = _team_with_round(store, clock, NEIGHBOUR)
    in_first, _ = store.invite(
        key=TEAM, round_id=first.id, user="U-bas", display_name="Bas", now=clock()
    )
    clock.advance(hours=1)
    in_second, _ = store.invite(
        key=NEIGHBOUR, round_id=second.id, user="U-bas", display_name="Bas", now=clock()
    )

    active = store.active_participations(platform="slack", workspace=TEAM.workspace, user="U-bas")
    assert [p.id for p in active] == [in_second.id, in_first.id]

    store.close_round(key=NEIGHBOUR, round_id=second.id, now=clock())
    active = store.active_participations(platform="slack", workspace=TEAM.workspace, user="U-bas")
    assert active == [in_first]
    assert (
        store.active_participations(platform="slack", workspace=TEAM.workspace, user="U-x") == []
    )


def test_data_survives_restart(database_url: str, clock: FakeClock) -> None:
    first = Store.open(url=database_url)
    try:
        round_ = _team_with_round(first, clock)
        participation, _ = first.invite(
            key=TEAM, round_id=round_.id, user="U-bas", display_name="Bas", now=clock()
        )
        saved = first.save_progress(
            participation_id=participation.id,
            state=ParticipationState.PAUSED,
            position=7,
            now=clock(),
            answers={"q1": "3"},
            mark_started=True,
        )
    finally:
        first.close()

    second = Store.open(url=database_url)
    try:
        assert second.current_round(key=TEAM) == round_
        member = ConversationKey(
            platform=TEAM.platform, workspace=TEAM.workspace, team=TEAM.team, user="U-bas"
        )
        assert second.participation(key=member, round_id=round_.id) == saved
        assert second.answers(participation_id=participation.id) == {"q1": "3"}
    finally:
        second.close()
