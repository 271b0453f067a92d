"""The quickscan's command routes and the words people type, read from the catalogue.

Which route takes which command (first match wins) and what its flags ask of the
middleware (create the team, coordinators only, re-plan); that every locale's
words work in every team; and that the messages whose duplicates would hurt (an
invitation, a result post) carry their de-duplication keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.commands import parse
from bot.commands.help import UnknownCommandRoute
from bot.commands.parse import ALIASES, Sub, parse_command, sub_words
from bot.commands.privacy import ForgetMeRoute, MyDataRoute
from bot.commands.rounds import CloseRoute, StartRoute
from bot.commands.routes import privacy_routes, team_command_routes, walkthrough_routes
from bot.commands.settings import (
    PlanningChangeRoute,
    PlanningShowRoute,
    ThresholdsChangeRoute,
    ThresholdsShowRoute,
)
from bot.core.context import EventContext
from bot.core.engine import Engine
from bot.core.router import Route
from bot.privacy.policy import RetentionPolicy
from bot.results.service import Results
from conversations.core.i18n import Catalogue, available_locales
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import Quickscan, load_instruments
from conversations.quickscan.walkthrough import Walkthrough, _words
from conversations.quickscan.words import normalise, words_of
from storage.keys import TeamKey
from storage.quickscan.store import Store
from tests.conftest import FakeClock

KEY = TeamKey(platform="console", workspace="w", team="t")
NAV_BUTTONS = {"later": "later", "back": "back", "skip": "skip", "send": "send", "edit": "edit"}


def _quickscans() -> dict[str, Quickscan]:
    return {k: v for k, v in load_instruments().items() if isinstance(v, Quickscan)}


class Roster:
    def __init__(self, users: list[str]) -> None:
        self.users = users

    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=user, display_name=user.capitalize()) for user in self.users]


# ---------------------------------------------------------------------- words


def test_every_subcommand_has_words_in_every_locale() -> None:
    for locale in available_locales():
        texts = Catalogue(locale)
        for sub in Sub:
            own = texts.t(f"words.command.{sub.name.lower()}").split("|")
            assert all(word.strip() for word in own), (locale, sub)
    for sub in Sub:
        assert sub.value in sub_words(sub)  # the canonical Dutch word always works
        assert all(ALIASES[word] is sub for word in sub_words(sub))


@pytest.mark.parametrize(
    ("text", "sub"),
    [
        ("/quickscan sluit", Sub.SLUIT),
        ("/quickscan close", Sub.SLUIT),
        ("/quickscan LANGUAGE en", Sub.TAAL),
        ("/quickscan@QuickscanBot thresholds", Sub.DREMPEL),
        ("/quickscan forget-me confirm", Sub.VERGEET_MIJ),
        ("/quickscan vergeet-mij", Sub.VERGEET_MIJ),
        ("/quickscan", Sub.HELP),
        ("/quickscan sluiten", None),
    ],
)
def test_the_words_of_every_locale_name_the_same_subcommand(text: str, sub: Sub | None) -> None:
    assert parse_command(text).sub is sub


def test_a_word_naming_two_subcommands_is_a_catalogue_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parse, "sub_words", lambda sub: frozenset({"x", sub.value}))
    with pytest.raises(ValueError, match="'x' names both"):
        parse._aliases()


def test_every_navigation_button_can_also_be_typed_in_every_locale() -> None:
    for locale in available_locales():
        texts = Catalogue(locale)
        for kind, button in NAV_BUTTONS.items():
            label = normalise(texts.t(f"button.{button}"))
            assert label in _words(kind), (locale, kind)
            assert texts.t(f"words.nav.{kind}")  # each locale names its own words
    assert {"vorige", "back", "« vorige"} <= words_of("words.nav.back")


# --------------------------------------------------------------------- routes


@pytest.fixture
def routes(tmp_path: Path) -> Iterator[list[Route]]:
    """The quickscan's routes in the order the builder composes them (no checklist)."""
    store = Store.open(url=f"sqlite:///{tmp_path / 'routes.sqlite3'}")
    clock = FakeClock(start=FakeClock.default_start())
    quickscans = _quickscans()
    walkthrough = Walkthrough(store=store, instruments=quickscans, clock=clock)
    results = Results(store=store, instruments=quickscans, clock=clock)
    try:
        yield [
            *privacy_routes(store=store, snapshots=results, output_dir=tmp_path),
            *team_command_routes(
                store=store,
                instruments=quickscans,
                roster=Roster(["anna"]),
                walkthrough=walkthrough,
                results=results,
                default_instrument="quickscan-po",
                retention=RetentionPolicy(),
            ),
            *walkthrough_routes(walkthrough=walkthrough),
        ]
    finally:
        store.close()


def _route(routes: list[Route], text: str, *, where: Where = Where.TEAM) -> Route | None:
    event = Inbound(
        platform=KEY.platform,
        workspace=KEY.workspace,
        team=KEY.team,
        where=where,
        sender=Sender(user="anna", display_name="Anna"),
        text=text,
    )
    ctx = EventContext(event=event, key=KEY, now=FakeClock.default_start(), texts=Catalogue())
    return next((route for route in routes if route.check(ctx)), None)


@pytest.mark.parametrize(
    ("text", "kind", "coordinator_only", "replans"),
    [
        ("/quickscan start 15-12", StartRoute, True, True),
        ("/quickscan sluit", CloseRoute, True, True),
        ("/quickscan drempel", ThresholdsShowRoute, False, False),
        ("/quickscan threshold verdeeld 10", ThresholdsChangeRoute, True, False),
        ("/quickscan planning", PlanningShowRoute, False, False),
        ("/quickscan schedule default", PlanningChangeRoute, True, True),
        ("/quickscan onzin", UnknownCommandRoute, False, False),
        ("/quickscan mijn-gegevens", MyDataRoute, False, False),
        ("/quickscan forget-me confirm", ForgetMeRoute, False, False),
    ],
)
def test_each_command_goes_to_its_route_with_its_flags(
    routes: list[Route], text: str, kind: type, coordinator_only: bool, replans: bool
) -> None:
    route = _route(routes, text)
    assert isinstance(route, kind)
    assert route.coordinator_only is coordinator_only
    assert route.replans is replans
    # Asking what is stored must not store anything: privacy routes need no team.
    assert route.needs_team is not isinstance(route, MyDataRoute | ForgetMeRoute)


def test_managing_commands_are_for_coordinators_and_the_rest_for_everyone(
    routes: list[Route],
) -> None:
    managing = {
        "start",
        "sluit",
        "coordinator @bram",
        "minimum 4",
        "taal en",
        "export",
        "regio noord",
        "gemeente Utrecht",
        "vakantie herfst 2025-10-18 2025-10-26",
        "drempel standaard",
        "planning standaard",
    }
    for words in managing:
        route = _route(routes, f"/quickscan {words}")
        assert route is not None, words
        assert route.coordinator_only, words
    for words in ("status", "help", "grafiek", "grafiek vragen", "kalender", "drempel"):
        route = _route(routes, f"/quickscan {words}")
        assert route is not None, words
        assert not route.coordinator_only, words


def test_commands_routed_elsewhere_are_not_taken_here(routes: list[Route]) -> None:
    assert _route(routes, "/quickscan checklist start 1") is None  # the checklist's own
    assert _route(routes, "hallo allemaal") is None  # channel chatter
    in_dm = _route(routes, "/quickscan my-data", where=Where.DM)
    assert isinstance(in_dm, MyDataRoute)  # works in private too
    walkthrough = _route(routes, "vorige", where=Where.DM)
    assert walkthrough is not None
    assert not walkthrough.needs_team


# ------------------------------------------------------------ de-duplication


def test_invitations_and_the_result_post_carry_their_keys(
    database_url: str, tmp_path: Path
) -> None:
    store = Store.open(url=database_url)
    try:
        engine = Engine(
            store=store,
            instruments=load_instruments(),
            roster=Roster(["anna", "bram", "chris"]),
            clock=FakeClock(start=FakeClock.default_start()),
            output_dir=tmp_path,
        )

        def say(text: str) -> list[Outbound]:
            return engine.handle(
                Inbound(
                    platform=KEY.platform,
                    workspace=KEY.workspace,
                    team=KEY.team,
                    where=Where.TEAM,
                    sender=Sender(user="anna", display_name="Anna"),
                    text=text,
                )
            )

        opened = say("/quickscan start")
        round_ = store.current_round(key=KEY)
        assert round_ is not None
        invitations = {
            m.destination.user: m.key for m in opened if m.destination.kind is DestinationKind.DM
        }
        assert sorted(invitations) == ["anna", "bram", "chris"]
        for user, key in invitations.items():
            participation = store.participation(key=KEY.member(user or ""), round_id=round_.id)
            assert participation is not None
            assert key == f"invite:{round_.id}:{participation.id}"  # names no user id
        (announcement,) = [m for m in opened if m.destination.kind is DestinationKind.TEAM]
        assert announcement.key is None
        (post,) = say("/quickscan sluit")
        assert post.key == f"result:{round_.id}"
        assert post.attachment is None  # three respondents at most: no chart to draw
    finally:
        store.close()
