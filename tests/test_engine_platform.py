"""Engine services the platform adapters rely on: redeliveries, join links, unreachable members."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.core.ports import RosterRegistry
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="telegram", workspace="bot1", team="-100")


class Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user="anna", display_name="Anna"), Sender(user="bram", display_name="Bram")]


@pytest.fixture
def engine(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Engine]:
    store = Store.open(url=database_url)
    rosters = RosterRegistry()
    rosters.register(platform="telegram", roster=Roster())
    yield Engine(
        store=store,
        instruments=load_instruments(),
        roster=rosters,
        clock=clock,
        output_dir=tmp_path,
    )
    store.close()


def team_event(user: str, text: str, **extra: object) -> Inbound:
    return Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        where=Where.TEAM,
        sender=Sender(user=user, display_name=user.title()),
        text=text,
        **extra,  # type: ignore[arg-type]  # keyword fields of Inbound only
    )


def test_a_redelivered_event_is_handled_once(engine: Engine) -> None:
    first = engine.handle(team_event("anna", "/quickscan start", event_id="cmd-1"))
    assert first
    again = engine.handle(team_event("anna", "/quickscan start", event_id="cmd-1"))
    assert again == []
    # A different delivery is not a redelivery: it gets the "already open" answer.
    other = engine.handle(team_event("anna", "/quickscan start", event_id="cmd-2"))
    assert "loopt al" in other[0].text


def test_platform_admins_count_as_coordinators(engine: Engine) -> None:
    engine.handle(team_event("anna", "/quickscan start"))  # anna sets the bot up
    engine.handle(team_event("anna", "/quickscan sluit"))
    refused = engine.handle(team_event("bram", "/quickscan start"))
    assert "Alleen een coördinator" in refused[0].text
    allowed = engine.handle(team_event("bram", "/quickscan start", sender_is_admin=True))
    assert allowed[0].destination.kind is DestinationKind.TEAM


def announcement(messages: list[Outbound]) -> Outbound:
    return next(m for m in messages if m.destination.kind is DestinationKind.TEAM)


def test_joining_by_link_invites_and_rejoining_resumes(engine: Engine) -> None:
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
    (wrong,) = engine.join(
        platform=TEAM.platform, workspace="other-bot", token=token, sender=chris
    )
    assert "geen open quickscan-ronde" in wrong.text


def test_an_unreachable_member_is_reported_once(engine: Engine) -> None:
    engine.handle(team_event("anna", "/quickscan start"))
    (report,) = engine.report_unreachable(team=TEAM, user="bram")
    assert report.destination.kind is DestinationKind.DM
    assert report.destination.user == "anna"
    assert "Bram kon geen privébericht" in report.text
    assert engine.report_unreachable(team=TEAM, user="bram") == []
    status = engine.handle(team_event("anna", "/quickscan status"))
    private = [m for m in status if m.destination.kind is DestinationKind.EPHEMERAL]
    assert "Niet bereikbaar via een privébericht: Bram" in private[0].text
    public = [m for m in status if m.destination.kind is DestinationKind.TEAM]
    assert "Bram" not in public[0].text


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
