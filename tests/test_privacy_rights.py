"""Members' rights: ``/quickscan mijn-gegevens`` and ``/quickscan vergeet-mij``.

Driven through the engine as console events, on SQLite and PostgreSQL: the data
file goes only to the member's DM (0600 in a 0700 folder) and holds their own
answers and checklist codes; erasure asks for confirmation, removes what it
promises (also in an open round), warns the last coordinator, keeps closed
results, and on SQLite leaves no trace in the database file or its WAL.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from bot.delivery.codec import decode_body
from conversations.core.messages import DestinationKind, Inbound, Outbound, Sender, Where
from storage.checklist.store import ChecklistStore
from storage.delivery.outbox import OutboxStore
from storage.keys import TeamKey
from storage.models.quickscan import RoundResultRow
from storage.results.store import FINGERPRINTS, ResultStore, fingerprint, member_identity
from tests.conftest import FakeClock
from tests.console_harness import QUESTIONS, Console, make_console, walkthrough_lines
from tests.test_team_result import rendered

MEMBER = "zwaantje"
TEAM = TeamKey(platform="console", workspace="console", team="team")
CLOSED_TEXT = "Gesloten-ronde-open-antwoord-5521"
OPEN_TEXT = "Lopende-ronde-open-antwoord-8830"
PUPILS = ("QX71", "QY82")
COLLEAGUES = ("chris", "dewi", "eva", "fatima")


def _say(console: Console, user: str, text: str, *, where: Where = Where.TEAM) -> list[Outbound]:
    """One event straight into the engine, so the test sees every message's destination."""
    return console.adapter.engine.handle(
        Inbound(
            platform=TEAM.platform,
            workspace=TEAM.workspace,
            team=TEAM.team,
            where=where,
            sender=Sender(user=user, display_name=user),
            text=text,
        )
    )


def _answer_with_open_text(name: str, text: str) -> list[str]:
    lines = [f"{name}@dm: start", *[f"{name}@dm: +"] * QUESTIONS]
    lines += [f"{name}@dm: {grade}" for grade in (7, 6, 8)]
    return [*lines, f"{name}@dm: {text}", f"{name}@dm: overslaan", f"{name}@dm: overslaan"]


def _setup(
    database_url: str, clock: FakeClock, tmp_path: Path, *, colleagues: Sequence[str] = ("chris",)
) -> Console:
    """A closed round and an open one with the member's answers, and a checklist class."""
    console = make_console(
        database_url=database_url,
        members=["anna", MEMBER, *colleagues],
        clock=clock,
        output_dir=tmp_path / "output",
    )
    console.say("anna@team: /quickscan start")
    console.say(*_answer_with_open_text(MEMBER, CLOSED_TEXT), f"{MEMBER}@dm: versturen")
    for name in colleagues:
        console.say(*walkthrough_lines(name, answer="++"))
    console.say("anna@team: /quickscan sluit")
    clock.advance(days=30)
    console.say("anna@team: /quickscan start")
    console.say(*_answer_with_open_text(MEMBER, OPEN_TEXT))
    console.say(f"{MEMBER}@team: /quickscan checklist")
    console.say(f"{MEMBER}@dm: /checklist klas", *[f"{MEMBER}@dm: {p}" for p in PUPILS])
    console.say(f"{MEMBER}@dm: klaar")
    console.new_blocks()
    return console


@pytest.fixture
def console(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Console]:
    """The set-up of most tests, on SQLite and PostgreSQL; the store closed afterwards."""
    made = _setup(database_url, clock, tmp_path)
    try:
        yield made
    finally:
        made.store.close()


@pytest.fixture
def five_console(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Console]:
    """The set-up with five respondents in the closed round: its snapshot has fingerprints."""
    made = _setup(database_url, clock, tmp_path, colleagues=COLLEAGUES)
    try:
        yield made
    finally:
        made.store.close()


def _fingerprinted(console: Console, *, round_id: int, user: str) -> bool:
    """Whether the round's snapshot still holds the member's respondent fingerprint."""
    stored = ResultStore(engine=console.store.engine).load(key=TEAM, round_id=round_id)
    assert stored is not None
    prints = json.loads(stored)[FINGERPRINTS]
    member = member_identity(platform=TEAM.platform, workspace=TEAM.workspace, user=user)
    return fingerprint(salt=prints["salt"], member=member) in prints["hashes"]


def _only_to(messages: Sequence[Outbound], user: str) -> None:
    assert messages
    for message in messages:
        assert message.destination.kind is not DestinationKind.TEAM
        assert message.destination.user == user


def _participations(console: Console, user: str) -> int:
    store = console.store
    rounds = [
        store.current_round(key=TEAM),
        *store.closed_rounds(key=TEAM, instrument_id="quickscan-po"),
    ]
    return sum(
        1
        for round_ in rounds
        if round_ is not None
        for participation in store.participations(key=TEAM, round_id=round_.id)
        if participation.key.user == user
    )


def _delivered(console: Console, messages: Sequence[Outbound], tmp_path: Path) -> list[Outbound]:
    """The messages with their files made, as the delivery makes them when it sends."""
    return rendered(messages, store=console.store, output_dir=tmp_path / "output")


def test_my_data_comes_privately_as_a_private_file(console: Console, tmp_path: Path) -> None:
    queued = _say(console, MEMBER, "/quickscan mijn-gegevens")
    assert all(message.file is None for message in queued)  # written only at delivery
    replies = _delivered(console, queued, tmp_path)

    _only_to(replies, MEMBER)
    ack, sent = replies
    assert ack.destination.kind is DestinationKind.EPHEMERAL
    assert sent.destination.kind is DestinationKind.DM
    assert sent.file is not None
    assert stat.S_IMODE(sent.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(sent.file.parent.stat().st_mode) == 0o700
    assert MEMBER not in str(sent.file)  # a listing of the folder names nobody
    data = json.loads(sent.file.read_text(encoding="utf-8"))
    assert data["user"] == MEMBER
    participations = data["quickscan"]["participations"]
    assert [p["round_status"] for p in participations] == ["closed", "open"]
    assert participations[0]["answers"]["open:priority"] == CLOSED_TEXT
    assert participations[1]["answers"]["open:priority"] == OPEN_TEXT
    assert participations[0]["display_name"] == MEMBER
    codes = [pupil["code"] for entry in data["checklist"] for pupil in entry["pupils"]]
    assert codes == list(PUPILS)
    others = json.dumps(data)
    assert "chris" not in others  # nobody else's data

    in_dm = _say(console, MEMBER, "/quickscan my-data", where=Where.DM)
    assert [m.destination.kind for m in in_dm] == [DestinationKind.DM]


def test_asking_what_is_stored_stores_nothing(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    console = make_console(
        database_url=database_url, members=["anna"], clock=clock, output_dir=tmp_path / "out"
    )
    try:
        for text in (
            "/quickscan mijn-gegevens",
            "/quickscan vergeet-mij",
            "/quickscan forget-me confirm",
        ):
            _only_to(_say(console, "nieuw", text), "nieuw")
        assert console.store.get_team(key=TEAM) is None  # no team, no coordinator made
    finally:
        console.store.close()


def test_forget_me_asks_first_and_then_erases(five_console: Console, tmp_path: Path) -> None:
    console = five_console
    closed = console.store.closed_rounds(key=TEAM, instrument_id="quickscan-po")[0]
    counts_before = console.store.round_counts(key=TEAM, round_id=closed.id)

    (explanation,) = _say(console, MEMBER, "/quickscan vergeet-mij")
    assert explanation.destination.kind is DestinationKind.EPHEMERAL
    assert "bevestig" in explanation.text
    assert _participations(console, MEMBER) == 2  # nothing erased yet
    (usage,) = _say(console, MEMBER, "/quickscan vergeet-mij ja-hoor")
    assert "niets gewijzigd" in usage.text
    assert _participations(console, MEMBER) == 2

    (done,) = _say(console, MEMBER, "/quickscan vergeet-mij bevestig")

    _only_to([done], MEMBER)
    assert "2 deelnames" in done.text
    assert "2 leerlingen van je checklist" in done.text
    assert _participations(console, MEMBER) == 0
    assert _participations(console, "chris") == 2  # others keep theirs
    checklist = ChecklistStore(engine=console.store.engine, cipher=console.store.cipher)
    assert checklist.teacher_data(platform="console", workspace="console", user=MEMBER) == []
    assert console.store.coordinators(key=TEAM) == ["anna"]
    # The member's fingerprint left the closed round's snapshot; its figures stayed.
    assert not _fingerprinted(console, round_id=closed.id, user=MEMBER)
    assert _fingerprinted(console, round_id=closed.id, user="chris")
    # The closed round's published result does not change: it names nobody.
    assert console.store.get_round(key=TEAM, round_id=closed.id) == closed
    assert counts_before.finished == 5
    (data,) = _delivered(
        console, _say(console, MEMBER, "/quickscan mijn-gegevens", where=Where.DM), tmp_path
    )
    assert data.file is not None
    exported = json.loads(data.file.read_text(encoding="utf-8"))
    assert exported["quickscan"]["participations"] == []
    assert exported["checklist"] == []


def test_the_last_coordinator_is_warned_and_told(console: Console) -> None:
    (explanation,) = _say(console, "anna", "/quickscan vergeet-mij")
    assert "enige coördinator van team" in explanation.text
    (done,) = _say(console, "anna", "/quickscan forget-me confirm")
    assert "team heeft nu geen coördinator meer" in done.text
    assert console.store.coordinators(key=TEAM) == []
    assert all(
        r.opened_by != "anna"
        for r in console.store.closed_rounds(key=TEAM, instrument_id="quickscan-po")
    )


@pytest.mark.parametrize("value", [CLOSED_TEXT, OPEN_TEXT, MEMBER, *PUPILS])
def test_erased_values_are_gone_from_the_sqlite_file_and_wal(
    value: str, clock: FakeClock, tmp_path: Path
) -> None:
    database = tmp_path / "rights.sqlite3"
    console = _setup(f"sqlite:///{database}", clock, tmp_path)
    try:
        assert _found(database, value)  # present before: the search can fail

        _say(console, MEMBER, "/quickscan vergeet-mij bevestig")
        console.adapter.drain()  # the confirmation is delivered: a sent message names nobody

        assert not _found(database, value)
    finally:
        console.store.close()


def _found(database: Path, value: str) -> bool:
    needle = value.encode("utf-8")
    files = [database, database.with_name(database.name + "-wal")]
    return any(path.exists() and needle in path.read_bytes() for path in files)


def test_a_round_closed_before_snapshots_is_frozen_before_the_erasure(
    five_console: Console,
) -> None:
    """Frozen afterwards, its figures would differ from the close post by the member's answers."""
    console = five_console
    closed = console.store.closed_rounds(key=TEAM, instrument_id="quickscan-po")[0]
    with console.store.engine.begin() as connection:  # as if closed by an earlier version
        connection.execute(delete(RoundResultRow).where(RoundResultRow.round_id == closed.id))
    results = ResultStore(engine=console.store.engine)
    assert not results.has_snapshot(round_id=closed.id)

    _say(console, MEMBER, "/quickscan vergeet-mij bevestig")

    assert _participations(console, MEMBER) == 0
    stored = results.load(key=TEAM, round_id=closed.id)
    assert stored is not None
    frozen = json.loads(stored)
    assert frozen["respondents"] == 5  # the member's answers are in, as in the close post
    assert frozen["legacy"] is True
    assert not _fingerprinted(console, round_id=closed.id, user=MEMBER)


def test_messages_still_queued_for_a_forgotten_member_are_never_sent(
    console: Console, clock: FakeClock
) -> None:
    """The erasure reaches the outbox: only its own confirmation still goes to the member."""
    (queued,) = _say(console, MEMBER, "/quickscan help")  # queued, not yet delivered
    assert queued.destination.user == MEMBER
    (done,) = _say(console, MEMBER, "/quickscan vergeet-mij bevestig")

    outbox = OutboxStore(engine=console.store.engine, cipher=console.store.cipher)
    claimed = outbox.claim(
        platform=TEAM.platform, owner="test", now=clock(), lease=timedelta(minutes=1), limit=50
    )
    waiting = [
        decode_body(item.body, team=item.team, kind=item.kind, user=item.user) for item in claimed
    ]
    assert [message.text for message in waiting] == [done.text]
