"""Engine services the platform adapters rely on, on SQLite and PostgreSQL.

Redeliveries, join links, the outbox (what ``handle`` returns is queued, and
the dispatcher the engine made sends it), undeliverable messages reported once,
a roster that cannot list its channel, and a chat that moved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.core.ports import RosterRegistry, RosterUnavailableError
from bot.delivery.api import Delivery, Limit, Migrated, Permanent, SendResult, Sent
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.delivery.outbox import OutboxStore
from storage.keys import TeamKey
from storage.quickscan.store import Store
from storage.transactions import in_unit_of_work
from tests.conftest import FakeClock

TEAM = TeamKey(platform="telegram", workspace="bot1", team="-100")
SUPERGROUP = "-1009"
NL = Catalogue("nl")


class Roster:
    def __init__(self) -> None:
        self.refuse_with: str | None = None
        self.database: Engine | None = None  # set: note whether a transaction is open
        self.asked_in_transaction: list[bool] = []

    def members(self, *, team: TeamKey) -> list[Sender]:
        if self.database is not None:
            self.asked_in_transaction.append(in_unit_of_work(self.database.store.engine))
        if self.refuse_with is not None:
            raise RosterUnavailableError(key=self.refuse_with)
        return [Sender(user="anna", display_name="Anna"), Sender(user="bram", display_name="Bram")]


@dataclass
class RecordingSender:
    """A platform that shows what it was sent; some chats answer with a given result."""

    platform: str = TEAM.platform
    sent: list[Delivery] = field(default_factory=list)
    results: dict[str, SendResult] = field(default_factory=dict)  # chat or user -> result

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        return ()

    def send(self, delivery: Delivery) -> SendResult:
        destination = delivery.message.destination
        result = self.results.get(destination.user or destination.team)
        if result is not None:
            return result
        self.sent.append(delivery)
        return Sent()

    def to(self, user: str) -> list[str]:
        return [d.message.text for d in self.sent if d.message.destination.user == user]


@dataclass
class World:
    engine: Engine
    roster: Roster
    sender: RecordingSender

    def deliver(self) -> list[Outbound]:
        """Send everything queued; the messages the platform received."""
        before = len(self.sender.sent)
        self.engine.dispatcher(sender=self.sender).run_until_idle()
        return [delivery.message for delivery in self.sender.sent[before:]]


@pytest.fixture
def world(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[World]:
    store = Store.open(url=database_url)
    roster = Roster()
    rosters = RosterRegistry()
    rosters.register(platform="telegram", roster=roster)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=rosters,
        clock=clock,
        output_dir=tmp_path,
    )
    yield World(engine=engine, roster=roster, sender=RecordingSender())
    store.close()


@pytest.fixture
def engine(world: World) -> Engine:
    return world.engine


def team_event(user: str, text: str, *, team: str = TEAM.team, **extra: object) -> Inbound:
    return Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=team,
        where=Where.TEAM,
        sender=Sender(user=user, display_name=user.title()),
        text=text,
        **extra,  # type: ignore[arg-type]  # keyword fields of Inbound only
    )


def test_a_redelivered_event_is_handled_once(world: World) -> None:
    engine = world.engine
    first = engine.handle(team_event("anna", "/quickscan start", event_id="cmd-1"))
    assert first
    again = engine.handle(team_event("anna", "/quickscan start", event_id="cmd-1"))
    assert again == []
    # A different delivery is not a redelivery: it gets the "already open" answer.
    other = engine.handle(team_event("anna", "/quickscan start", event_id="cmd-2"))
    assert "loopt al" in other[0].text
    # The platform received the first delivery's messages once, and the refusal.
    assert world.deliver() == [*first, *other]


def test_what_handle_returns_is_queued_and_the_dispatcher_sends_it_in_order(
    world: World,
) -> None:
    started = world.engine.handle(team_event("anna", "/quickscan start"))
    kinds = [message.destination.kind for message in started]
    assert kinds == [DestinationKind.TEAM, DestinationKind.DM, DestinationKind.DM]
    assert OutboxStore(engine=world.engine.store.engine).stats().pending == len(started)
    assert world.deliver() == started
    assert OutboxStore(engine=world.engine.store.engine).stats().pending == 0
    assert world.deliver() == []  # sent once


def test_the_dispatcher_is_woken_once_the_rows_are_committed(world: World) -> None:
    dispatcher = world.engine.dispatcher(sender=world.sender)
    outbox = OutboxStore(engine=world.engine.store.engine)
    pending_when_woken: list[int] = []

    def wake() -> None:  # what the running dispatcher would see when woken
        pending_when_woken.append(outbox.stats().pending)

    dispatcher.wake = wake  # type: ignore[method-assign]  # record instead of waking
    queued = world.engine.handle(team_event("anna", "/quickscan start"))
    assert pending_when_woken == [len(queued)]
    assert world.engine.handle(team_event("bram", "goedemorgen")) == []
    assert pending_when_woken == [len(queued)]  # nothing queued, nobody woken


def test_platform_admins_count_as_coordinators(engine: Engine) -> None:
    engine.handle(team_event("anna", "/quickscan start"))  # anna sets the bot up
    engine.handle(team_event("anna", "/quickscan sluit"))
    refused = engine.handle(team_event("bram", "/quickscan start"))
    assert "Alleen een coördinator" in refused[0].text
    assert refused[0].destination.kind is DestinationKind.EPHEMERAL
    allowed = engine.handle(team_event("bram", "/quickscan start", sender_is_admin=True))
    assert allowed[0].destination.kind is DestinationKind.TEAM


def announcement(messages: list[Outbound]) -> Outbound:
    return next(m for m in messages if m.destination.kind is DestinationKind.TEAM)


def test_joining_by_link_invites_and_rejoining_resumes(world: World) -> None:
    engine = world.engine
    token = announcement(engine.handle(team_event("anna", "/quickscan start"))).join_token
    assert token is not None
    assert len(token) <= 64
    chris = Sender(user="chris", display_name="Chris")
    (intro,) = engine.join(
        platform=TEAM.platform, workspace=TEAM.workspace, token=token, sender=chris
    )
    assert "Hallo Chris! Een coördinator" in intro.text
    assert intro.destination.user == "chris"
    counts = engine.store.round_counts(key=TEAM, round_id=1)
    assert counts.invited == 3
    dm = Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team="",
        where=Where.DM,
        sender=chris,
        text="start",
    )
    engine.handle(dm)
    (again,) = engine.join(
        platform=TEAM.platform, workspace=TEAM.workspace, token=token, sender=chris
    )
    assert "vraag 1 van 48" in again.text
    assert engine.join(
        platform=TEAM.platform, workspace=TEAM.workspace, token=token, sender=chris, event_id="j1"
    )
    assert (
        engine.join(
            platform=TEAM.platform,
            workspace=TEAM.workspace,
            token=token,
            sender=chris,
            event_id="j1",
        )
        == []
    )
    (wrong,) = engine.join(
        platform=TEAM.platform, workspace="other-bot", token=token, sender=chris
    )
    assert "geen open quickscan-ronde" in wrong.text
    world.deliver()
    assert "geen open quickscan-ronde" in world.sender.to("chris")[-1]


def test_an_unreachable_member_is_reported_once(world: World) -> None:
    engine = world.engine
    engine.handle(team_event("anna", "/quickscan start"))
    world.sender.results["bram"] = Permanent(reason="bot_blocked")
    world.deliver()
    notices = world.sender.to("anna")
    assert [text for text in notices if "Bram kon geen privébericht" in text] == [
        NL.t("dm.unreachable", name="Bram")
    ]
    # Another failure (a reminder, say) tells nobody again.
    again = engine.report_undeliverable(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        kind="dm",
        user="bram",
        reason="bot_blocked",
    )
    assert again == []
    status = engine.handle(team_event("anna", "/quickscan status"))
    private = [m for m in status if m.destination.kind is DestinationKind.EPHEMERAL]
    assert "Niet bereikbaar via een privébericht: Bram" in private[0].text
    public = [m for m in status if m.destination.kind is DestinationKind.TEAM]
    assert "Bram" not in public[0].text


def test_a_channel_the_bot_cannot_post_in_is_told_to_the_coordinator_once(
    world: World,
) -> None:
    world.engine.handle(team_event("anna", "/quickscan start"))
    world.sender.results[TEAM.team] = Permanent(reason="not_in_channel")
    world.deliver()
    world.engine.handle(team_event("anna", "/quickscan status"))  # fails too
    world.deliver()
    notice = NL.t("engine.channel_unreachable", reason="not_in_channel")
    assert world.sender.to("anna").count(notice) == 1
    assert notice not in world.sender.to("bram")


def test_a_roster_that_cannot_list_the_channel_starts_nothing(world: World) -> None:
    world.roster.refuse_with = "slack_channel.not_member"
    (reply,) = world.engine.handle(team_event("anna", "/quickscan start"))
    assert reply.destination.kind is DestinationKind.EPHEMERAL
    assert reply.destination.user == "anna"
    assert reply.text == NL.t("slack_channel.not_member")
    assert world.engine.store.get_team(key=TEAM) is None  # nothing founded, nothing opened
    assert world.deliver() == [reply]
    world.roster.refuse_with = None
    started = world.engine.handle(team_event("anna", "/quickscan start"))
    assert announcement(started).join_token is not None


def test_the_members_are_asked_before_the_transaction_opens(world: World) -> None:
    """A slow platform answering who is in the channel holds no database lock."""
    world.roster.database = world.engine
    started = world.engine.handle(team_event("anna", "/quickscan start"))
    assert announcement(started).join_token is not None
    assert world.roster.asked_in_transaction == [False]


def test_a_group_that_became_a_supergroup_keeps_everything(world: World) -> None:
    engine = world.engine
    engine.handle(team_event("anna", "/quickscan start"))
    engine.handle(team_event("anna", "/quickscan minimum 4"))
    # Telegram answers the first send to the old group with "chat migrated".
    world.sender.results[TEAM.team] = Migrated(new_team=SUPERGROUP)
    world.deliver()
    moved = TeamKey(platform=TEAM.platform, workspace=TEAM.workspace, team=SUPERGROUP)
    assert engine.store.get_team(key=TEAM) is None
    team = engine.store.get_team(key=moved)
    assert team is not None
    assert team.min_respondents == 4
    teams = [d.message.destination.team for d in world.sender.sent]
    assert TEAM.team not in teams
    assert teams.count(SUPERGROUP) == len(teams)  # the DMs name the team's new id too
    assert any(d.message.join_token for d in world.sender.sent)  # the announcement went
    closed = engine.handle(team_event("anna", "/quickscan sluit", team=SUPERGROUP))
    assert closed[0].destination.team == SUPERGROUP
    assert engine.store.current_round(key=moved) is None


def test_unsent_messages_follow_a_migration_reported_by_the_adapter(world: World) -> None:
    engine = world.engine
    queued = engine.handle(team_event("anna", "/quickscan start"))
    engine.migrate_chat(
        platform=TEAM.platform, workspace=TEAM.workspace, old_team=TEAM.team, new_team=SUPERGROUP
    )
    sent = world.deliver()
    assert [m.text for m in sent] == [m.text for m in queued]
    assert {m.destination.team for m in sent} == {SUPERGROUP}


def test_where_admins_are_known_a_member_cannot_claim_the_team(engine: Engine) -> None:
    first = engine.handle(team_event("bram", "/quickscan help", admins_known=True))
    assert "Coördinatoren: de beheerders van deze groep" in first[0].text
    refused = engine.handle(team_event("bram", "/quickscan start", admins_known=True))
    assert "Alleen een coördinator" in refused[0].text
    allowed = engine.handle(
        team_event("anna", "/quickscan start", admins_known=True, sender_is_admin=True)
    )
    assert allowed[0].destination.kind is DestinationKind.TEAM
    assert engine.store.coordinators(key=TEAM) == []  # the admins manage it, nobody claimed it


def test_two_processes_starting_a_round_at_once_open_one_and_invite_once(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    """Two engines on one database (two processes): the database serialises them."""
    stores = [Store.open(url=database_url) for _ in range(2)]
    engines = []
    for store in stores:
        rosters = RosterRegistry()
        rosters.register(platform="telegram", roster=Roster())
        engines.append(
            Engine(
                store=store,
                instruments=load_instruments(),
                roster=rosters,
                clock=clock,
                output_dir=tmp_path,
            )
        )
    barrier = threading.Barrier(len(engines))
    replies: list[list[Outbound]] = [[] for _ in engines]

    def start(index: int) -> None:
        barrier.wait()
        event = team_event("anna", "/quickscan start", event_id=f"start-{index}")
        replies[index] = engines[index].handle(event)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(engines))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        opened = [r for r in replies if any(m.join_token for m in r)]
        assert len(opened) == 1
        (refused,) = [r for r in replies if r is not opened[0]]
        assert [m.text for m in refused] == [NL.t("start.already_open")]
        sender = RecordingSender()
        engines[0].dispatcher(sender=sender).run_until_idle()
        invited = sorted(d.message.destination.user or "" for d in sender.sent if d.message.key)
        assert invited == ["anna", "bram"]
    finally:
        for store in stores:
            store.close()
