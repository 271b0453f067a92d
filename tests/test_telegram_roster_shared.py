"""Two replicas, one database: what one Telegram roster learns, the other knows.

Issue 11: with the roster in process memory, the replica that handled
``/quickscan start`` invited only the members it had seen itself. Here two
engines with a roster each (as two processes) share one SQLite or PostgreSQL
database, and every sighting made by one counts for the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from telegram import User

from adapters.telegram.roster import PLATFORM, TelegramRoster
from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.core.messages import DestinationKind, Inbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.models.roster import RosterMemberRow, RosterPersonRow
from storage.privacy.member_data import MemberData
from storage.quickscan.store import Store
from tests.conftest import FakeClock

BOT = "4242"
GROUP, OTHER_GROUP, SUPERGROUP = "-100", "-200", "-1009"
ANNA = User(id=11, first_name="Anna", last_name="de Vries", is_bot=False, username="Anna_dV")
BRAM = User(id=12, first_name="Bram", is_bot=False)
CHRIS = User(id=13, first_name="Chris", is_bot=False, username="chris")
HELPER_BOT = User(id=99, first_name="Helper", is_bot=True)


@dataclass
class Replica:
    """One process: its own store connection pool, engine and roster."""

    store: Store
    engine: Engine
    roster: TelegramRoster

    def command(self, user: User, text: str, *, team: str = GROUP) -> list[str]:
        """A group command from ``user``; the users the replies are DMs to."""
        self.roster.seen(group=team, user=user)  # as the handlers do before the event
        replies = self.engine.handle(
            Inbound(
                platform=PLATFORM,
                workspace=BOT,
                team=team,
                where=Where.TEAM,
                sender=Sender(user=str(user.id), display_name=user.full_name),
                text=text,
                sender_is_admin=True,
            )
        )
        return [
            r.destination.user or "" for r in replies if r.destination.kind is DestinationKind.DM
        ]


def _replica(url: str, clock: FakeClock, output: Path) -> Replica:
    store = Store.open(url=url)
    roster = TelegramRoster(engine=store.engine)
    roster.workspace = BOT
    rosters = RosterRegistry()
    rosters.register(platform=PLATFORM, roster=roster)
    engine = Engine(
        store=store, instruments=load_instruments(), roster=rosters, clock=clock, output_dir=output
    )
    return Replica(store=store, engine=engine, roster=roster)


@pytest.fixture
def replicas(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> Iterator[tuple[Replica, Replica]]:
    first = _replica(database_url, clock, tmp_path)
    second = _replica(database_url, clock, tmp_path)
    try:
        yield first, second
    finally:
        first.store.close()
        second.store.close()


def _members(replica: Replica, team: str = GROUP) -> list[tuple[str, str]]:
    listed = replica.roster.members(team=TeamKey(platform=PLATFORM, workspace=BOT, team=team))
    return [(sender.user, sender.display_name) for sender in listed]


def _rows(replica: Replica, user: User) -> int:
    with replica.store.engine.connect() as connection:
        people = connection.execute(
            select(func.count())
            .select_from(RosterPersonRow)
            .where(RosterPersonRow.user == str(user.id))
        ).scalar_one()
        members = connection.execute(
            select(func.count())
            .select_from(RosterMemberRow)
            .where(RosterMemberRow.user == str(user.id))
        ).scalar_one()
    return int(people) + int(members)


def test_a_member_seen_by_one_replica_is_invited_when_the_other_starts_the_round(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    for user in (ANNA, BRAM, CHRIS, HELPER_BOT):
        first.roster.seen(group=GROUP, user=user)
    first.roster.started(user=ANNA)
    first.roster.started(user=BRAM)  # Chris never started the bot: the deep link is his way in
    invited = second.command(ANNA, "/quickscan start")
    assert sorted(invited) == ["11", "12"]
    assert _members(second) == [("11", "Anna de Vries"), ("12", "Bram")]
    assert _members(first) == _members(second)


def test_started_blocked_and_dm_routing_are_seen_across_replicas(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    first.roster.seen(group=GROUP, user=CHRIS)
    assert _members(second) == []  # seen, but a DM would not reach him yet
    second.roster.started(user=CHRIS)
    assert _members(first) == [("13", "Chris")]
    first.roster.blocked(user="13")
    assert second.roster.is_unreachable(user="13")
    assert _members(second) == []
    second.roster.started(user=CHRIS)  # he unblocked the bot and wrote to it
    assert not first.roster.is_unreachable(user="13")
    first.roster.talked_about(user="13", team=OTHER_GROUP)
    assert second.roster.last_team(user="13") == OTHER_GROUP
    assert second.roster.user_by_username(username="@CHRIS") == "13"
    assert first.roster.user_by_username(username="anna_dv") is None  # never seen
    second.roster.blocked(user="77")  # a stranger: unreachable is still remembered
    assert first.roster.is_unreachable(user="77")


def test_a_group_migration_moves_the_members_in_order_and_the_dm_routing(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    for user in (BRAM, ANNA, CHRIS):
        first.roster.started(user=user)
        first.roster.seen(group=GROUP, user=user)
    second.roster.seen(group=SUPERGROUP, user=CHRIS)  # already seen in the supergroup
    first.roster.talked_about(user="11", team=GROUP)
    second.roster.migrate(old=GROUP, new=SUPERGROUP)
    assert [user for user, _ in _members(first, SUPERGROUP)] == ["13", "12", "11"]
    assert _members(first, GROUP) == []
    assert first.roster.last_team(user="11") == SUPERGROUP
    first.roster.migrate(old=GROUP, new=SUPERGROUP)  # the other replica saw it too: no-op
    assert len(_members(second, SUPERGROUP)) == 3


def test_leaving_deletes_the_membership_and_at_the_last_group_the_person(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    first.roster.started(user=ANNA)
    first.roster.seen(group=GROUP, user=ANNA)
    first.roster.seen(group=OTHER_GROUP, user=ANNA)
    second.roster.left(group=GROUP, user=ANNA)
    assert _members(first) == []
    assert _members(first, OTHER_GROUP) == [("11", "Anna de Vries")]
    second.roster.left(group=OTHER_GROUP, user=ANNA)
    assert _rows(first, ANNA) == 0


def test_vergeet_mij_removes_the_members_roster_rows(replicas: tuple[Replica, Replica]) -> None:
    first, second = replicas
    for group in (GROUP, OTHER_GROUP):
        for user in (ANNA, BRAM):
            first.roster.seen(group=group, user=user)
    first.roster.started(user=ANNA)
    first.roster.talked_about(user="11", team=GROUP)
    data = MemberData(store=second.store).export(platform=PLATFORM, workspace=BOT, user="11")
    assert data["roster"] == {
        "display_name": "Anna de Vries",
        "username": "Anna_dV",
        "may_receive_private_messages": True,
        "unreachable": False,
        "last_team": GROUP,
        "groups_seen_in": [GROUP, OTHER_GROUP],
    }
    second.command(ANNA, "/quickscan vergeet-mij bevestig")
    assert _rows(first, ANNA) == 0
    assert _rows(first, BRAM) == 3  # the person and two groups
    first.roster.talked_about(user="11", team=GROUP)  # the confirmation's DM
    assert _rows(second, ANNA) == 0
    assert (
        MemberData(store=first.store).export(platform=PLATFORM, workspace=BOT, user="11")["roster"]
        == {}
    )


def test_a_repeated_sighting_reads_and_writes_nothing(replicas: tuple[Replica, Replica]) -> None:
    first, second = replicas
    first.roster.started(user=ANNA)
    first.roster.seen(group=GROUP, user=ANNA)
    first.roster.talked_about(user="11", team=GROUP)
    statements: list[str] = []

    def record(connection: Connection, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.split()[:2]).upper())  # "BEGIN IMMEDIATE"

    engine = second.store.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        second.roster.seen(group=GROUP, user=ANNA)
        second.roster.started(user=ANNA)
        second.roster.talked_about(user="11", team=GROUP)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Reads only, and on SQLite in plain transactions: no queueing for the write lock.
    # (A plain "BEGIN"; "BEGIN IMMEDIATE" would be kept here and fail the comparison.)
    kept = [words.split()[0] for words in statements if words != "BEGIN"]
    assert kept == ["SELECT", "SELECT", "SELECT"]
    renamed = User(id=11, first_name="Anna", last_name="Jansen", is_bot=False, username="Anna_dV")
    second.roster.seen(group=GROUP, user=renamed)
    assert _members(first) == [("11", "Anna Jansen")]


def test_concurrent_sightings_on_two_replicas_never_fail(
    replicas: tuple[Replica, Replica],
) -> None:
    errors: list[BaseException] = []

    def sight(replica: Replica) -> None:
        try:
            for number in range(20):
                user = User(id=100 + number, first_name=f"Lid {number}", is_bot=False)
                replica.roster.started(user=user)
                replica.roster.seen(group=GROUP, user=user)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=sight, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [user for user, _ in _members(replicas[0])] == [str(100 + n) for n in range(20)]
