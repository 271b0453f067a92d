"""Property: hostile input never crashes the engine and never reaches the channel.

Hypothesis drives the real engine (console platform, several members, SQLite and
PostgreSQL) with arbitrary text: NUL and control characters, lone surrogates,
non-ASCII digits, huge numbers, 100 kB lines and markup, from members and an
outsider, in the team channel and in DMs, across every ``/quickscan`` subcommand
with garbage arguments and every walkthrough state, plus forged and mutated
button payloads. It checks that

* no exception escapes ``Engine.handle`` and its catch-all never fires (that
  would be a bug hidden behind a polite notice);
* every reply to input that changed nothing goes only to its sender; the channel
  (and other members' DMs) hear only of real changes or of an explicit, valid
  ``status`` / ``grafiek``;
* no reply quotes a long input back;
* what is stored stays valid: at most one open round per team, positions in
  range, answers from the scale, grades in range, open answers capped and clean.

Each example works in a workspace of its own on one database per test, so no
example sees another's rows and no database is created per example.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.commands.parse import ALIASES, Sub, is_command, parse_command
from bot.core.engine import Engine
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from conversations.core.text_input import OPEN_ANSWER_MAX_CHARS, is_safe_text
from conversations.instrument import Quickscan, grade_item_id, load_instruments, open_item_id
from storage.keys import TeamKey
from storage.quickscan.records import MIN_RESPONDENTS_FLOOR, Participation, ParticipationState
from storage.quickscan.store import Store
from tests.conftest import FakeClock

S = ParticipationState
PLATFORM = "console"
TEAM = "team"
COORDINATOR = "anna"
MEMBERS = ("anna", "bram", "chris", "dewi")
OUTSIDER = "eve"  # speaks, but was never invited
INSTRUMENTS = load_instruments()
QUICKSCAN = INSTRUMENTS["quickscan-po"]
assert isinstance(QUICKSCAN, Quickscan)

# Settings: enough examples to find the usual suspects, few enough that the file
# runs well under a minute per backend. QUICKSCAN_PROPERTY_EXAMPLES raises the
# number for a longer hunt (e.g. 2000 before a release).
PROPERTY = settings(
    max_examples=int(os.environ.get("QUICKSCAN_PROPERTY_EXAMPLES", "50")),
    deadline=None,
    database=None,  # no .hypothesis directory in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "²",
    "３",
    "٣",
    "١٢",
    "99999999999999999999",
    "9" * 5000,
    "-1",
    "0",
    "+7",
    "1e9",
    "nan",
    "inf",
    "1_0",
    "7\n",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\x07",
    "\u202e",
    "\u200b",
    "\ud800",
    "x\udfffy",
    "\ufeff",
    "<b>x</b>",
    "*vet*",
    "_x_",
    "`x`",
    "[a](http://x)",
    "{name}",
    "{0}",
    "%s",
    "\n",
    "",
    " ",
    "@",
    "@bram",
    "@\x00",
    "qs:1:a:0:0\n",
]
WORDS = [
    "noord",
    "midden",
    "zuid",
    "Tilburg",
    "herfst",
    "2026-10-17",
    "2026-10-25",
    "ronde1_weken",
    "herinnering_dagen",
    "4",
    "7",
    "12",
    "standaard",
    "vragen",
    "verdeeld",
    "werkpunt_gemiddelde",
    "30",
    "2,5",
    "en",
    "nl",
    "verwijder",
    "remove",
    "@bram",
    "@anna",
    "15-01",
    "31-02-2025",
    "start",
    "sluit",
    "status",
    "1",
    "2",
]
ANSWER_WORDS = [
    "++",
    "+",
    "+/-",
    "-",
    "--",
    "?",
    "start",
    "later",
    "vorige",
    "overslaan",
    "versturen",
    "wijzig",
    "wijzig 12",
    "wijzig ３",
    "wijzig 99",
    "vraag 48",
    "7",
    "11",
    "0",
    "10",
]

# Numbers as people (and pranksters) type them: ``isdigit`` is True for several of
# these, ``int`` takes some and refuses others, and none is a plain small number.
NUMBERISH = ["²", "⑦", "３", "٣", "99999999999999999999", "9" * 5000, "1e9", "7\n", "-1", "𝟕"]
numberish = st.sampled_from(NUMBERISH)
huge = st.builds(
    lambda piece, times: piece * times,
    st.text(min_size=1, max_size=8),
    st.integers(min_value=1_000, max_value=13_000),
)
garbage = st.one_of(st.text(max_size=40), st.sampled_from(NASTY), numberish)
hostile = st.one_of(garbage, huge)
word = st.one_of(st.sampled_from(WORDS), garbage, numberish)


@st.composite
def command_text(draw: st.DrawFn) -> str:
    """``/quickscan <sub> <args>``: a known or garbage subcommand, garbage arguments."""
    known = st.sampled_from(sorted(ALIASES))
    sub = draw(st.one_of(known, known, known, garbage))
    args = draw(st.lists(word, max_size=4))
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(huge))
    prefix = draw(st.sampled_from(["/quickscan", "/QUICKSCAN", "/quickscan@bot"]))
    return " ".join([prefix, sub, *args])


dm_text = st.one_of(
    st.sampled_from(ANSWER_WORDS),
    numberish,
    numberish.map(lambda number: f"wijzig {number}"),
    hostile,
    command_text(),
)


@dataclass(frozen=True)
class Act:
    """One thing someone does: say a text or press a payload, in the team or a DM."""

    user: str
    where: Where
    text: str = ""
    payload: str | None = None
    dm_team: str = TEAM


users = st.sampled_from([*MEMBERS, OUTSIDER])
acts = st.one_of(
    st.builds(Act, user=users, where=st.just(Where.TEAM), text=command_text()),
    # The coordinator's garbage reaches past the "coordinators only" check.
    st.builds(Act, user=st.just(COORDINATOR), where=st.just(Where.TEAM), text=command_text()),
    st.builds(Act, user=users, where=st.just(Where.TEAM), text=hostile),
    st.builds(
        Act,
        user=users,
        where=st.just(Where.DM),
        text=dm_text,
        dm_team=st.sampled_from([TEAM, ""]),
    ),
    st.builds(
        Act,
        user=users,
        where=st.sampled_from([Where.DM, Where.TEAM]),
        payload=st.one_of(st.text(max_size=80), st.sampled_from(NASTY)),
    ),
    # A real button of someone's current prompt, pressed as is or mutated.
    st.builds(
        Act,
        user=users,
        where=st.just(Where.DM),
        payload=st.tuples(st.integers(0, 50), st.sampled_from(["", "\n", "0", ":1", "x"])).map(
            lambda pick: f"@button:{pick[0]}:{pick[1]}"
        ),
    ),
)

STATES = [
    S.INVITED,
    S.ANSWERING,
    S.PAUSED,
    S.GRADES,
    S.OPEN_QUESTIONS,
    S.REVIEW,
    S.SUBMITTED,
]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, tuple[ParticipationState, int]], bool]:
    """Where bram, chris and dewi are in the walkthrough, and whether the round closed."""
    places: dict[str, tuple[ParticipationState, int]] = {}
    for member in MEMBERS[1:]:
        state = draw(st.sampled_from(STATES))
        limit = {
            S.ANSWERING: len(QUICKSCAN.questions) - 1,
            S.GRADES: len(QUICKSCAN.clusters) - 1,
            S.OPEN_QUESTIONS: len(QUICKSCAN.closing.open_questions) - 1,
        }.get(state, 0)
        places[member] = (state, draw(st.integers(0, limit)))
    return places, draw(st.booleans())


class _Errors(logging.Handler):
    """Collects what the engine's catch-all logs: it must never fire."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=name, display_name=name.title()) for name in MEMBERS]


@dataclass
class World:
    engine: Engine
    store: Store
    clock: FakeClock
    errors: _Errors
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def workspace(self) -> str:
        return f"ws{next(self._ids)}"


@pytest.fixture
def world(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[World]:
    store = Store.open(url=database_url)
    errors = _Errors()
    logger = logging.getLogger("bot.core.engine")
    logger.addHandler(errors)
    try:
        yield World(
            engine=Engine(
                store=store,
                instruments=INSTRUMENTS,
                roster=Roster(),
                clock=clock,
                output_dir=tmp_path / "output",
            ),
            store=store,
            clock=clock,
            errors=errors,
        )
    finally:
        logger.removeHandler(errors)
        store.close()


# ----------------------------------------------------------------- the set-up


def _answers_up_to(state: ParticipationState, position: int) -> dict[str, str | None]:
    """The answers a member in ``state`` at ``position`` has given, in order."""
    codes = [option.code for option in QUICKSCAN.scale.options]
    answers: dict[str, str | None] = {}
    questions = QUICKSCAN.questions
    if state in (S.ANSWERING, S.PAUSED):
        count = position if state is S.ANSWERING else 7
        for index in range(count):
            answers[questions[index].id] = codes[index % len(codes)]
        return answers
    for index, question in enumerate(questions):
        answers[question.id] = codes[index % len(codes)]
    grades_done = position if state is S.GRADES else len(QUICKSCAN.clusters)
    for cluster in QUICKSCAN.clusters[:grades_done]:
        answers[grade_item_id(cluster_id=cluster.id)] = "7"
    if state is S.GRADES:
        return answers
    open_questions = QUICKSCAN.closing.open_questions
    opens_done = position if state is S.OPEN_QUESTIONS else len(open_questions)
    for question in open_questions[:opens_done]:
        answers[open_item_id(question_id=question.id)] = "Meer huisbezoeken"
    return answers


def _set_up(
    world: World, workspace: str, places: dict[str, tuple[ParticipationState, int]], closed: bool
) -> None:
    world.engine.handle(_event(workspace, Act(COORDINATOR, Where.TEAM, "/quickscan start")))
    key = TeamKey(platform=PLATFORM, workspace=workspace, team=TEAM)
    (round_,) = [r for r in [world.store.current_round(key=key)] if r is not None]
    for member, (state, position) in places.items():
        participation = world.store.participation(key=key.member(member), round_id=round_.id)
        assert participation is not None
        if state is S.INVITED:
            continue
        world.store.save_progress(
            participation_id=participation.id,
            state=state,
            position=position if state in (S.ANSWERING, S.GRADES, S.OPEN_QUESTIONS) else 0,
            now=world.clock.now(),
            answers=_answers_up_to(state, position),
            mark_started=True,
            mark_submitted=state is S.SUBMITTED,
        )
    if closed:
        world.engine.handle(_event(workspace, Act(COORDINATOR, Where.TEAM, "/quickscan sluit")))


def _event(workspace: str, act: Act) -> Inbound:
    return Inbound(
        platform=PLATFORM,
        workspace=workspace,
        team=act.dm_team if act.where is Where.DM else TEAM,
        where=act.where,
        sender=Sender(user=act.user, display_name=act.user.title()),
        text=act.text,
        payload=act.payload,
    )


def _real_payload(world: World, workspace: str, act: Act) -> Act:
    """Turn ``@button:<n>:<suffix>`` into the n-th button of someone's current prompt."""
    if act.payload is None or not act.payload.startswith("@button:"):
        return act
    _, number, suffix = act.payload.split(":", 2)
    buttons = [
        button.payload
        for participation in _participations(world, workspace)
        for button in world.engine.walkthrough.prompt_for(participation=participation).buttons
    ]
    if not buttons:
        return Act(act.user, act.where, payload="qs:1:a:0:0" + suffix)
    return Act(act.user, act.where, payload=buttons[int(number) % len(buttons)] + suffix)


def _participations(world: World, workspace: str) -> list[Participation]:
    found: list[Participation] = []
    for member in (*MEMBERS, OUTSIDER):
        found += world.store.active_participations(
            platform=PLATFORM, workspace=workspace, user=member
        )
    return found


# --------------------------------------------------------------- the checks


def _snapshot(world: World, workspace: str) -> tuple[Any, ...]:
    """Everything a channel announcement may report a change of, for one workspace."""
    queries = {
        "teams": "SELECT t.* FROM teams t WHERE t.workspace = :w",
        "coordinators": "SELECT c.team_id, c.user_ref FROM coordinators c"
        " JOIN teams t ON t.id = c.team_id WHERE t.workspace = :w",
        "rounds": "SELECT r.id, r.status FROM rounds r"
        " JOIN teams t ON t.id = r.team_id WHERE t.workspace = :w",
        "checklist_rounds": "SELECT r.* FROM checklist_rounds r"
        " JOIN teams t ON t.id = r.team_id WHERE t.workspace = :w",
    }
    with world.store.engine.connect() as connection:
        return tuple(
            sorted(tuple(map(str, row)) for row in connection.execute(text(sql), {"w": workspace}))
            for sql in queries.values()
        )


def _changed(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """Whether settings, coordinators or rounds changed; merely meeting a team is no change."""
    if not before[0]:  # the team did not exist: its creation with defaults is not news
        return before[1:] != after[1:]
    return before != after


def _public_read_allowed(event: Inbound) -> bool:
    """Valid read-only commands whose answer is meant for the whole channel."""
    if event.where is not Where.TEAM or not is_command(event.text):
        return False
    command = parse_command(event.text)
    args = tuple(arg.lower() for arg in command.args)
    if command.sub is Sub.STATUS:
        return not args
    if command.sub is Sub.GRAFIEK:
        return args in {(), ("vragen",), ("questions",)}
    if command.sub is Sub.CHECKLIST:
        return args in {("status",), ("stand",)}
    return False


def _check_replies(event: Inbound, replies: list[Outbound], *, changed: bool) -> None:
    sender = event.sender.user
    for reply in replies:
        destination = reply.destination
        to_sender = destination.user == sender and destination.kind in {
            DestinationKind.DM,
            DestinationKind.EPHEMERAL,
        }
        if to_sender:
            continue
        assert event.where is Where.TEAM, f"a DM event answered elsewhere: {destination}"
        if destination.kind is DestinationKind.TEAM:
            assert changed or _public_read_allowed(event), (
                f"channel post for input that changed nothing: {event.text[:80]!r}"
            )
        else:
            assert changed, f"a message to {destination} for input that changed nothing"
    if len(event.text) > OPEN_ANSWER_MAX_CHARS:
        window = event.text[:100]
        for reply in replies:
            assert window not in reply.text, "a long input was quoted back"


def _check_stored(world: World, workspace: str) -> None:
    with world.store.engine.connect() as connection:
        open_rounds = connection.execute(
            text(
                "SELECT r.team_id, count(*) FROM rounds r JOIN teams t ON t.id = r.team_id"
                " WHERE t.workspace = :w AND r.status = 'open' GROUP BY r.team_id"
            ),
            {"w": workspace},
        ).all()
        coordinators = connection.execute(
            text(
                "SELECT c.user_ref FROM coordinators c JOIN teams t ON t.id = c.team_id"
                " WHERE t.workspace = :w"
            ),
            {"w": workspace},
        ).scalars()
        for user in coordinators:
            assert 0 < len(user) <= 64
            assert is_safe_text(user)
    assert all(count <= 1 for _team, count in open_rounds)
    key = TeamKey(platform=PLATFORM, workspace=workspace, team=TEAM)
    team = world.store.get_team(key=key)
    if team is not None:
        assert MIN_RESPONDENTS_FLOOR <= team.min_respondents <= 500
    codes = {option.code for option in QUICKSCAN.scale.options}
    grades = {
        str(grade) for grade in range(QUICKSCAN.closing.grade_min, QUICKSCAN.closing.grade_max + 1)
    }
    question_ids = {question.id for question in QUICKSCAN.questions}
    grade_ids = {grade_item_id(cluster_id=cluster.id) for cluster in QUICKSCAN.clusters}
    open_ids = {open_item_id(question_id=q.id) for q in QUICKSCAN.closing.open_questions}
    for round_ in world.store.closed_rounds(key=key, instrument_id=QUICKSCAN.id) + [
        r for r in [world.store.current_round(key=key)] if r is not None
    ]:
        for participation in world.store.participations(key=key, round_id=round_.id):
            limit = {
                S.ANSWERING: len(QUICKSCAN.questions),
                S.GRADES: len(QUICKSCAN.clusters),
                S.OPEN_QUESTIONS: len(QUICKSCAN.closing.open_questions),
            }.get(participation.state, 1)
            assert 0 <= participation.position < limit, participation
            assert is_safe_text(participation.display_name)
            for item, value in world.store.answers(participation_id=participation.id).items():
                if item in question_ids:
                    assert value in codes, (item, value)
                elif item in grade_ids:
                    assert value in grades, (item, value)
                else:
                    assert item in open_ids, item
                    assert len(value) <= OPEN_ANSWER_MAX_CHARS
                    assert is_safe_text(value)


# ---------------------------------------------------------------- the property


member_text = st.one_of(
    numberish,
    numberish.map(lambda number: f"wijzig {number}"),
    st.sampled_from(ANSWER_WORDS),
    hostile,
)


@PROPERTY
@given(
    scenario=scenarios(),
    typed=st.tuples(member_text, member_text, member_text),
    script=st.lists(acts, max_size=5),
)
def test_hostile_input_never_crashes_nor_spams(
    world: World,
    scenario: tuple[dict[str, tuple[ParticipationState, int]], bool],
    typed: tuple[str, str, str],
    script: list[Act],
) -> None:
    """Every walkthrough state gets a hostile DM from its member, then anything goes."""
    workspace = world.workspace()
    places, closed = scenario
    _set_up(world, workspace, places, closed)
    world.errors.records.clear()
    first = [Act(member, Where.DM, said) for member, said in zip(MEMBERS[1:], typed, strict=True)]
    _play(world, workspace, first + script)


@PROPERTY
@given(script=st.lists(acts, min_size=1, max_size=8))
def test_hostile_input_on_a_new_team(world: World, script: list[Act]) -> None:
    """Before any round: the first words a team ever sends the bot."""
    workspace = world.workspace()
    world.errors.records.clear()
    _play(world, workspace, script)


def _play(world: World, workspace: str, script: list[Act]) -> None:
    """Each act through the engine, checked as it happens; the stored data at the end."""
    for act in script:
        event = _event(workspace, _real_payload(world, workspace, act))
        before = _snapshot(world, workspace)
        replies = world.engine.handle(event)
        changed = _changed(before, _snapshot(world, workspace))
        assert not world.errors.records, [r.getMessage() for r in world.errors.records]
        _check_replies(event, replies, changed=changed)
    _check_stored(world, workspace)
