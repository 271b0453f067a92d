"""``Store.rename_team``: a Telegram group that became a supergroup keeps everything.

Run on SQLite and PostgreSQL. The team row keeps its id and only its chat
reference changes, so rounds, participations, settings, coordinators, planned
pings and the checklist follow without being copied.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.schedule.store import PlannedPing, ScheduleStore
from storage.transactions import unit_of_work
from tests.conftest import FakeClock

OLD = TeamKey(platform="telegram", workspace="bot-1", team="-4001")
NEW = TeamKey(platform="telegram", workspace="bot-1", team="-1004001")
INSTRUMENT = "samenwerken-met-ouders"


def _team_with_everything(store: Store, clock: FakeClock) -> int:
    """A team with settings, two coordinators, an open round, a member, a ping, a teacher."""
    team, _ = store.ensure_team(key=OLD, founder="U-ida", now=clock())
    clock.advance(minutes=1)
    store.add_coordinator(key=OLD, user="U-bas", added_by="U-ida", now=clock())
    store.update_team(key=OLD, locale="en", min_respondents=4, region="zuid")
    round_ = store.open_round(
        key=OLD, instrument_id=INSTRUMENT, opened_by="U-ida", deadline=None, now=clock()
    )
    store.invite(key=OLD, round_id=round_.id, user="U-cas", display_name="Cas", now=clock())
    ScheduleStore(engine=store.engine).sync(
        key=OLD,
        planned=[
            PlannedPing(
                id=f"team{team.id}:quickscan:{round_.id}:close",
                kind="close",
                due_at=clock() + timedelta(days=7),
                useful_until=clock() + timedelta(days=8),
            )
        ],
        now=clock(),
    )
    ChecklistStore(engine=store.engine).bind_teacher(
        key=OLD, user="U-ida", display_name="Ida", now=clock()
    )
    return round_.id


def test_everything_follows_the_team_to_its_new_chat(store: Store, clock: FakeClock) -> None:
    round_id = _team_with_everything(store, clock)
    before = store.get_team(key=OLD)
    assert before is not None

    moved = store.rename_team(key=OLD, new_team=NEW.team)

    assert moved is not None
    assert moved.id == before.id
    assert moved.key == NEW
    assert (moved.locale, moved.min_respondents, moved.region) == ("en", 4, "zuid")
    assert store.get_team(key=OLD) is None
    assert store.coordinators(key=NEW) == ["U-ida", "U-bas"]
    current = store.current_round(key=NEW)
    assert current is not None
    assert current.id == round_id
    assert [p.key.user for p in store.participations(key=NEW, round_id=round_id)] == ["U-cas"]
    assert [p.team for p in ScheduleStore(engine=store.engine).pings(key=NEW)] == [NEW]
    teachers = ChecklistStore(engine=store.engine).teachers(key=NEW)
    assert [t.key.user for t in teachers] == ["U-ida"]
    # The round can be closed under the new id: nothing is stranded.
    store.close_round(key=NEW, round_id=round_id, now=clock())


def test_renaming_again_changes_nothing(store: Store, clock: FakeClock) -> None:
    _team_with_everything(store, clock)
    first = store.rename_team(key=OLD, new_team=NEW.team)
    again = store.rename_team(key=OLD, new_team=NEW.team)
    assert again == first
    assert store.rename_team(key=NEW, new_team=NEW.team) == first
    unknown = TeamKey(platform="telegram", workspace="bot-1", team="-9")
    assert store.rename_team(key=unknown, new_team="-10") is None


def test_a_placeholder_team_in_the_new_chat_gives_way(store: Store, clock: FakeClock) -> None:
    round_id = _team_with_everything(store, clock)
    # Someone typed in the supergroup before the migration was handled.
    placeholder, created = store.ensure_team(key=NEW, founder="U-zoe", now=clock())
    assert created

    moved = store.rename_team(key=OLD, new_team=NEW.team)

    assert moved is not None
    assert moved.id != placeholder.id
    assert store.coordinators(key=NEW) == ["U-ida", "U-bas"]
    assert not store.is_coordinator(key=NEW, user="U-zoe")
    current = store.current_round(key=NEW)
    assert current is not None
    assert current.id == round_id
    assert [team.id for team in store.teams()] == [moved.id]


def test_a_new_chat_team_with_data_of_its_own_is_never_merged(
    store: Store, clock: FakeClock
) -> None:
    _team_with_everything(store, clock)
    store.ensure_team(key=NEW, founder="U-zoe", now=clock())
    theirs = store.open_round(
        key=NEW, instrument_id=INSTRUMENT, opened_by="U-zoe", deadline=None, now=clock()
    )

    kept = store.rename_team(key=OLD, new_team=NEW.team)

    assert kept is not None
    assert kept.key == NEW
    assert store.coordinators(key=NEW) == ["U-zoe"]
    assert store.current_round(key=NEW) == theirs
    assert store.get_team(key=OLD) is not None


def test_a_rename_rolls_back_with_its_unit_of_work(store: Store, clock: FakeClock) -> None:
    _team_with_everything(store, clock)

    class Abort(Exception):
        pass

    def migrate() -> None:
        with unit_of_work(store.engine, locks=["team:old", "team:new"]):
            store.rename_team(key=OLD, new_team=NEW.team)
            raise Abort

    with pytest.raises(Abort):
        migrate()
    assert store.get_team(key=NEW) is None
    assert store.get_team(key=OLD) is not None
