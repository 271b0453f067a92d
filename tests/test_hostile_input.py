"""Hostile input, case by case: a clear private answer, nothing changed, still running.

Each case of issue 9 through the console harness (SQLite and PostgreSQL) or the
engine itself: non-ASCII digits and huge numbers, NUL and control characters,
100 kB lines, unbounded echoes, errors in the channel, open answers without a cap,
forged payloads, an unexpected exception, a database outage and invalid UTF-8 on
the console's stdin.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.core.engine import Engine
from conversations.core.clock import ShiftedClock, SystemClock
from conversations.core.i18n import Catalogue
from conversations.core.messages import DestinationKind, Inbound, Sender, Where
from conversations.core.text_input import (
    INPUT_MAX_CHARS,
    OPEN_ANSWER_MAX_CHARS,
    QUOTE_MAX_CHARS,
    clean_display_name,
    is_safe_text,
    parse_bounded_decimal,
    parse_bounded_int,
    quote,
)
from conversations.instrument import OPEN_PREFIX, load_instruments
from conversations.quickscan.payloads import Action, Verb, decode
from storage.keys import TeamKey
from storage.quickscan.records import ParticipationState, Team
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.console_harness import (
    CONSOLE_TEAM,
    QUESTIONS,
    Console,
    make_console,
    texts_for,
    walkthrough_lines,
)

MEMBERS = ("anna", "bram", "chris")
NL = Catalogue("nl")


@pytest.fixture
def console(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Console]:
    made = make_console(
        database_url=database_url,
        members=MEMBERS,
        clock=clock,
        output_dir=tmp_path / "output",
        coordinator="anna",
    )
    try:
        yield made
    finally:
        made.store.close()


def only_private(blocks: list[tuple[str, str]], user: str) -> list[str]:
    """The texts of the blocks, asserting that all of them went only to ``user``."""
    tags = {tag for tag, _text in blocks}
    assert tags <= {f"team>{user}", f"dm:{user}"}, tags
    return [text for _tag, text in blocks]


def team_settings(console: Console) -> Team | None:
    return console.store.get_team(key=CONSOLE_TEAM)


def answers_of(console: Console, user: str) -> dict[str, str]:
    (participation,) = console.store.active_participations(
        platform=CONSOLE_TEAM.platform, workspace=CONSOLE_TEAM.workspace, user=user
    )
    return console.store.answers(participation_id=participation.id)


def state_of(console: Console, user: str) -> tuple[ParticipationState, int]:
    (participation,) = console.store.active_participations(
        platform=CONSOLE_TEAM.platform, workspace=CONSOLE_TEAM.workspace, user=user
    )
    return participation.state, participation.position


# ------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "text",
    ["12", "+7", "-1", "1e9", "1_0", "²", "３", "٣", "99999999999999999999", "9" * 5000, "7\n8"],
)
def test_only_plain_ascii_numbers_within_bounds(text: str) -> None:
    assert parse_bounded_int(text, low=1, high=10) is None
    assert parse_bounded_int(" 7 ", low=1, high=10) == 7
    assert parse_bounded_int("7\n", low=1, high=10) == 7  # surrounding whitespace only


@pytest.mark.parametrize("text", ["nan", "inf", "1e2", "1_0", "١٢", "２,5", "2,555", "-1"])
def test_decimals_are_plain_too(text: str) -> None:
    assert parse_bounded_decimal(text, low=0, high=100) is None
    assert parse_bounded_decimal("2,5", low=1, high=5) == 2.5
    assert parse_bounded_decimal("30", low=0, high=100) == 30


def test_quotes_are_bounded_and_clean() -> None:
    shown = quote("x" * 100_000)
    assert len(shown) == QUOTE_MAX_CHARS + 1
    assert shown.endswith("…")
    assert quote("a\x00b\x1b[31mc\nd") == "ab[31mc d"
    assert is_safe_text("regel 1\nregel 2\tmet tab")
    assert not is_safe_text("a\x00b")
    assert not is_safe_text("\ud800")
    assert clean_display_name("\x00\x07", fallback="U123") == "U123"
    assert len(clean_display_name("Anna " * 100, fallback="U1")) <= 65


def test_numbers_in_commands_are_refused_privately(console: Console) -> None:
    before = team_settings(console)
    for arg in ("²", "３", "٣", "99999999999999999999", "9" * 4000, "1e3", "501"):
        replies = only_private(console.say(f"anna@team: /quickscan minimum {arg}"), "anna")
        assert replies == [NL.t("input.minimum_range", floor=3, max=500)]
    for arg in ("²", "３", "99999999999999999999"):
        replies = only_private(
            console.say(f"anna@team: /quickscan planning ronde1_weken {arg}"), "anna"
        )
        assert "ronde1_weken moet tussen" in replies[0]
    for arg in ("nan", "inf", "١٢", "1e2", "30%%"):
        line = f"anna@team: /quickscan drempel verdeeld {arg}"
        replies = only_private(console.say(line), "anna")
        assert "geen geldige waarde" in replies[0]
    for arg in ("１５-01", "15-\x0b01", "٢٠٢٥-٠١-١٥", "15-01-99999999999999999999"):
        replies = only_private(console.say(f"anna@team: /quickscan start {arg}"), "anna")
        assert console.store.current_round(key=CONSOLE_TEAM) is None, arg
        assert replies
    assert team_settings(console) == before
    accepted = console.say("anna@team: /quickscan minimum 4")
    assert texts_for(accepted, "team") == [NL.t("minimum.set", value=4)]


def test_numbers_in_the_walkthrough(console: Console) -> None:
    console.say("anna@team: /quickscan start", "bram@dm: start", "bram@dm: +")
    for typed in ("²", "⑦", "３", "٣", "99999999999999999999", "9" * 4000):
        replies = only_private(console.say(f"bram@dm: {typed}"), "bram")
        assert replies[0] == NL.t("dm.unknown_answer")
        assert "vraag 2 van 48" in replies[1]
    for typed in ("wijzig ²", "wijzig ３", "vraag ٣", "wijzig 99999999999999999999"):
        replies = only_private(console.say(f"bram@dm: {typed}"), "bram")
        assert "vraag 2 van 48" in replies[-1], typed
    assert state_of(console, "bram") == (ParticipationState.ANSWERING, 1)
    # A plain "3" picks the third button (+/-), as a click would.
    console.say("bram@dm: 3")
    assert answers_of(console, "bram")["q02"] == "+/-"

    console.say(*["bram@dm: +"] * (QUESTIONS - 2))
    assert state_of(console, "bram") == (ParticipationState.GRADES, 0)
    for typed in ("²", "⑦", "１０", "٣", "99999999999999999999", "0", "11", "-1"):
        replies = only_private(console.say(f"bram@dm: {typed}"), "bram")
        assert replies[0] == NL.t("dm.bad_grade"), typed
        assert "cijfer 1 van 3" in replies[1]
    assert state_of(console, "bram") == (ParticipationState.GRADES, 0)
    console.say("bram@dm: 10")
    assert state_of(console, "bram") == (ParticipationState.GRADES, 1)


def test_a_jump_needs_ascii_digits(console: Console) -> None:
    console.say("anna@team: /quickscan start", *walkthrough_lines("bram", answer="+"))
    assert state_of(console, "bram")[0] is ParticipationState.SUBMITTED
    for typed in ("wijzig ３", "wijzig ²", "wijzig 4\u0663"):
        assert state_of(console, "bram")[0] is ParticipationState.SUBMITTED
        only_private(console.say(f"bram@dm: {typed}"), "bram")
        assert state_of(console, "bram")[0] is ParticipationState.SUBMITTED, typed
    jumped = only_private(console.say("bram@dm: wijzig\t 12"), "bram")
    assert "vraag 12 van 48" in jumped[-1]


def test_a_team_command_typed_in_private_is_no_answer(console: Console) -> None:
    console.say("anna@team: /quickscan start", "bram@dm: start")
    assert state_of(console, "bram") == (ParticipationState.ANSWERING, 0)
    for typed in ("/quickscan sluit", "/quickscan start", "/QUICKSCAN status extra"):
        assert only_private(console.say(f"bram@dm: {typed}"), "bram") == [NL.t("input.team_only")]
    assert state_of(console, "bram") == (ParticipationState.ANSWERING, 0)
    assert answers_of(console, "bram") == {}
    assert console.store.current_round(key=CONSOLE_TEAM) is not None


# ------------------------------------------------------- NUL, control, length


def test_nul_and_control_characters_are_refused_before_storage(console: Console) -> None:
    console.say("anna@team: /quickscan start")
    console.say(*walkthrough_lines("bram", answer="+", grades=(7, 6, 8), send=False)[:52])
    assert state_of(console, "bram") == (ParticipationState.OPEN_QUESTIONS, 0)
    for typed in ("meer\x00gesprekken", "\x00", "rood\x1b[31m", "bel\x07"):
        replies = only_private(console.say(f"bram@dm: {typed}"), "bram")
        assert replies == [NL.t("input.unsafe")]
    assert state_of(console, "bram") == (ParticipationState.OPEN_QUESTIONS, 0)
    assert not any(key.startswith(OPEN_PREFIX) for key in answers_of(console, "bram"))
    # A NUL in a command: refused privately, nothing changed.
    refused = only_private(console.say("anna@team: /quickscan regio noord\x00"), "anna")
    assert refused == [NL.t("input.unsafe")]
    assert getattr(team_settings(console), "region", None) is None
    # Chatter in the team channel is not for the bot, NUL or not.
    assert console.say("bram@team: hoi\x00") == []


def test_long_lines_are_refused_and_never_echoed(console: Console) -> None:
    line = "x" * 100_000
    refused = only_private(console.say(f"anna@team: /quickscan {line}"), "anna")
    assert refused == [NL.t("input.too_long", max=INPUT_MAX_CHARS)]
    console.say("anna@team: /quickscan start", "bram@dm: start")
    in_dm = only_private(console.say(f"bram@dm: {line}"), "bram")
    assert in_dm == [NL.t("input.too_long", max=INPUT_MAX_CHARS)]
    # Below the message limit an unknown word is quoted, bounded.
    unknown = only_private(console.say(f"anna@team: /quickscan {'y' * 3000}"), "anna")
    assert NL.t("cmd.unknown", word="y" * QUOTE_MAX_CHARS + "…") == unknown[0]
    bad_start = only_private(console.say(f"anna@team: /quickscan start {'z' * 3000}"), "anna")
    assert "z" * (QUOTE_MAX_CHARS + 1) not in bad_start[0]


def test_open_answers_are_capped(console: Console) -> None:
    console.say("anna@team: /quickscan start")
    console.say(*walkthrough_lines("bram", answer="+", send=False)[:52])
    too_long = "a" * (OPEN_ANSWER_MAX_CHARS + 1)
    refused = only_private(console.say(f"bram@dm: {too_long}"), "bram")
    assert refused == [
        NL.t("input.open_too_long", length=OPEN_ANSWER_MAX_CHARS + 1, max=OPEN_ANSWER_MAX_CHARS)
    ]
    assert state_of(console, "bram") == (ParticipationState.OPEN_QUESTIONS, 0)
    just_fits = "b" * OPEN_ANSWER_MAX_CHARS
    console.say(f"bram@dm: {just_fits}")
    assert state_of(console, "bram") == (ParticipationState.OPEN_QUESTIONS, 1)
    stored = [v for k, v in answers_of(console, "bram").items() if k.startswith(OPEN_PREFIX)]
    assert stored == [just_fits]


def test_an_empty_message_on_an_open_question_gets_the_open_question_hint(
    tmp_path: Path, clock: FakeClock
) -> None:
    engine = _engine(tmp_path, clock)
    try:
        engine.handle(_said("anna", "/quickscan start", where=Where.TEAM))
        engine.handle(_said("bram", "start"))
        for answer in ["+"] * QUESTIONS + ["7", "6", "8"]:
            engine.handle(_said("bram", answer))
        for empty in ("", "   "):  # a photo or a sticker arrives without text
            replies = engine.handle(_said("bram", empty))
            assert replies[0].text == NL.t("open.how") == "Typ je antwoord, of kies 'overslaan'."
            assert replies[1].free_text
    finally:
        engine.store.close()


# -------------------------------------------------- errors only to the sender


def test_calendar_and_planning_errors_go_only_to_the_sender(console: Console) -> None:
    for line in (
        "/quickscan regio oost",
        "/quickscan gemeente Nergenshuizen",
        "/quickscan vakantie herfst morgen overmorgen",
        "/quickscan vakantie herfst 20261017 20261025",
        "/quickscan vakantie herfst 2026-10-25 2026-10-17",
        "/quickscan planning ronde1_weken 99",
        "/quickscan planning onzin 3",
        "/quickscan status nu",
        "/quickscan coordinator @\u200b",
    ):
        only_private(console.say(f"anna@team: {line}"), "anna")
    assert getattr(team_settings(console), "region", None) is None
    # Successful changes are still announced.
    assert "zuid" in texts_for(console.say("anna@team: /quickscan gemeente Tilburg"), "team")[0]
    assert texts_for(console.say("anna@team: /quickscan regio noord"), "team")
    assert texts_for(console.say("anna@team: /quickscan planning ronde1_weken 4"), "team")
    holiday = console.say("anna@team: /quickscan vakantie herfst 2026-10-17 2026-10-25")
    assert texts_for(holiday, "team")


# ------------------------------------------------------------------ payloads


@pytest.mark.parametrize(
    "payload",
    [
        "qs:1:a:0:3\n",
        "qs:１:a:0:3",
        "qs:1:a:０:3",
        "qs:01:a:0:3",
        "qs:1:a:0:03",
        "qs:1:a:0:3 ",
        " qs:1:a:0:3",
        "qs:1:A:0:3",
        "qs:1:a:0:3:4",
        "qs:1234567890123:a:0:3",
        "qs:1:a:0:٣",
        "qs:1:a:0:\x00",
    ],
)
def test_payloads_decode_only_in_canonical_ascii_form(payload: str) -> None:
    assert decode(payload) is None
    assert decode("qs:1:a:0:3") == Action(participation_id=1, verb=Verb.ANSWER, position=0, arg=3)


def test_a_mutated_real_button_changes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    engine = _engine(tmp_path, clock)
    try:
        started = engine.handle(_said("anna", "/quickscan start", where=Where.TEAM))
        (intro,) = [m for m in started if m.destination.user == "bram"]
        (first,) = engine.handle(_said("bram", payload=intro.buttons[0].payload))
        genuine = first.buttons[0].payload
        fullwidth = genuine.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        for forged in (genuine + "\n", fullwidth, genuine + "\x00"):
            (reply,) = engine.handle(_said("bram", payload=forged))
            assert reply.text == NL.t("dm.invalid_button")
            assert reply.destination.user == "bram"
        answers = engine.store.answers(participation_id=int(genuine.split(":")[1]))
        assert answers == {}
    finally:
        engine.store.close()


# ------------------------------------------------------------ display names


def test_display_names_are_cleaned_at_the_door(tmp_path: Path, clock: FakeClock) -> None:
    engine = _engine(tmp_path, clock)

    def announcement_by(sender: Sender, *, team: str) -> str:
        replies = engine.handle(
            Inbound(
                platform="console",
                workspace="w",
                team=team,
                where=Where.TEAM,
                sender=sender,
                text="/quickscan start",
            )
        )
        (announcement,) = [r for r in replies if r.destination.kind is DestinationKind.TEAM]
        return announcement.text

    try:
        nasty = Sender(user="anna", display_name="An\x00na\x1b[31m " + "x" * 500)
        shown = announcement_by(nasty, team="t")
        assert "\x00" not in shown
        assert "\x1b" not in shown
        assert "x" * 100 not in shown
        assert "Anna[31m" in shown
        # A bidi override in a name would turn the rest of the channel's sentence around.
        turned = Sender(user="bram", display_name="\u202eevE\u2066")
        assert announcement_by(turned, team="another team").startswith("evE heeft")
        assert quote("\u202e!lennahc") == "!lennahc"
    finally:
        engine.store.close()


# -------------------------------------------------------- failures, outages


def test_an_unexpected_failure_is_answered_privately_and_logged_without_content(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(tmp_path, clock)
    answer = "mijn geheime antwoord over ouder X"

    def explode(event: Inbound) -> list[object]:
        raise RuntimeError(f"failed on {event.text}")

    try:
        engine.handle(_said("anna", "/quickscan start", where=Where.TEAM))
        original = engine.walkthrough.handle
        engine.walkthrough.handle = explode  # type: ignore[method-assign,assignment]  # a failing step
        with caplog.at_level(logging.DEBUG):
            (reply,) = engine.handle(_said("bram", answer))
        assert reply.text == NL.t("input.failed")
        assert reply.destination.kind is DestinationKind.DM
        assert reply.destination.user == "bram"
        logged = "\n".join(
            record.getMessage() + str(record.exc_info or "") for record in caplog.records
        )
        assert "RuntimeError" in logged
        assert "dm text" in logged
        assert answer not in logged
        assert "geheime" not in caplog.text
        # The engine keeps serving.
        engine.walkthrough.handle = original  # type: ignore[method-assign]  # restored
        assert "vraag 1 van 48" in engine.handle(_said("bram", "start"))[-1].text
    finally:
        engine.store.close()


@dataclass
class Outage:
    """Takes the test database away and brings it back."""

    begin: Callable[[], None]
    end: Callable[[], None]


@pytest.fixture
def outage(request: pytest.FixtureRequest, database_url: str, console: Console) -> Outage:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        moved = path.with_suffix(".away")

        def begin_sqlite() -> None:
            console.store.engine.dispose()
            moved.mkdir()
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{path}{suffix}")
                if source.exists():
                    source.rename(moved / source.name)
            path.mkdir()  # a directory where the file was: "unable to open database file"

        def end_sqlite() -> None:
            path.rmdir()
            for item in moved.iterdir():
                item.rename(path.parent / item.name)
            moved.rmdir()

        return Outage(begin=begin_sqlite, end=end_sqlite)
    admin_url: str = request.getfixturevalue("postgres_server_url")
    name = sql.Identifier(str(url.database))

    def set_connections(allowed: bool) -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                    name, sql.Literal(allowed)
                )
            )
            if not allowed:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (str(url.database),),
                )

    return Outage(begin=lambda: set_connections(False), end=lambda: set_connections(True))


def test_the_console_survives_a_database_outage(console: Console, outage: Outage) -> None:
    console.say("anna@team: /quickscan start", "bram@dm: start")
    outage.begin()
    try:
        during = only_private(console.say("bram@dm: +"), "bram")
        assert during == [NL.t("input.database_down")]
        command = only_private(console.say("anna@team: /quickscan status"), "anna")
        assert command == [NL.t("input.database_down")]
        console.adapter.clock = ShiftedClock(base=SystemClock())
        ticked = console.say("@clock: 2099-01-04T08:00")
        assert ticked == [("console", NL.t("input.console_failed"))]
    finally:
        outage.end()
    after = console.say("bram@dm: +")
    assert "vraag 2 van 48" in texts_for(after, "dm:bram")[-1]
    assert answers_of(console, "bram") == {"q01": "+"}


def test_a_clock_tick_during_an_outage_is_reported(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    console = make_console(
        database_url=database_url, members=MEMBERS, clock=clock, output_dir=tmp_path
    )

    class Broken:
        def tick(self) -> list[object]:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    try:
        console.adapter.engine = Broken()  # type: ignore[assignment]  # only tick is used
        console.adapter.clock = ShiftedClock(base=SystemClock())
        blocks = console.say("@clock: 2099-01-04T08:00")
        assert blocks == [("console", NL.t("input.console_failed"))]
    finally:
        console.store.close()


# ----------------------------------------------------------------- the console


def test_invalid_utf8_on_stdin_is_one_skipped_line(console: Console) -> None:
    raw = (
        b"anna@team: /quickscan start\n"
        + b"bram@dm: caf\xe9 \xff\xfe\n"
        + b"bram@dm: start\n"
        + b"bram@dm: ++\n"
    )
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape")
    console.adapter.run(stream, interactive=False)
    blocks = console.new_blocks()
    assert ("console", NL.t("input.console_bad_utf8")) in blocks
    assert "vraag 2 van 48" in texts_for(blocks, "dm:bram")[-1]


def test_a_real_console_process_reports_invalid_utf8_and_goes_on(
    tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "PYTHONIOENCODING"):
        env.pop(name, None)
    env["LC_ALL"] = "C"  # no UTF-8 locale: the console still reads UTF-8
    script = (
        b"anna@team: /quickscan start\n"
        b"bram@dm: \xc3\x28 \xa0\xa1\n"
        b"bram@dm: start\n"
        b"bram@dm: ++\n"
        b"bram@dm: \xc2\xb2\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapters.startup.cli",
            "run",
            "--database",
            database_url,
            "--members",
            "anna,bram",
        ],
        input=script,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    output = done.stdout.decode("utf-8")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    assert NL.t("input.console_bad_utf8") in output
    assert "vraag 2 van 48" in output
    assert NL.t("dm.unknown_answer") in output  # "²" is no answer, and no crash
    assert "Traceback" not in done.stderr.decode("utf-8", "replace")


def test_a_console_without_its_database_says_so_in_one_line(tmp_path: Path) -> None:
    """No traceback and no URL (it may hold a password): what is wrong and what to check."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"):
        env.pop(name, None)
    unreachable = "postgresql+psycopg://quickscan:geheim-wachtwoord@127.0.0.1:1/quickscan"
    done = subprocess.run(
        [sys.executable, "-m", "adapters.startup.cli", "run", "--database", unreachable],
        input=b"anna@team: /quickscan help\n",
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    errors = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 3, errors[-2000:]
    assert "de database is niet bereikbaar" in errors
    assert "Traceback" not in errors
    assert "geheim-wachtwoord" not in errors + done.stdout.decode("utf-8", "replace")


# ------------------------------------------------------------------- helpers


class _Roster:
    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=name, display_name=name) for name in MEMBERS]


def _engine(tmp_path: Path, clock: FakeClock, *, database_url: str | None = None) -> Engine:
    return Engine(
        store=Store.open(url=database_url or f"sqlite:///{tmp_path / 'hostile.sqlite3'}"),
        instruments=load_instruments(),
        roster=_Roster(),
        clock=clock,
        output_dir=tmp_path / "output",
    )


def _said(
    user: str, text: str = "", *, where: Where = Where.DM, payload: str | None = None
) -> Inbound:
    return Inbound(
        platform="console",
        workspace="w",
        team="t",
        where=where,
        sender=Sender(user=user, display_name=user),
        text=text,
        payload=payload,
    )


def test_a_redelivered_refused_message_is_refused_once(tmp_path: Path, clock: FakeClock) -> None:
    """A platform retry (same delivery id) of a refused message gets no second refusal."""
    engine = _engine(tmp_path, clock)
    try:
        for text in ("x" * (INPUT_MAX_CHARS + 1), "antwoord\x00"):
            event = replace(_said("bram", text), event_id=f"retry-{len(text)}")
            (refused,) = engine.handle(event)
            assert refused.destination.user == "bram"
            assert engine.handle(event) == []
    finally:
        engine.store.close()


def test_a_hand_typed_join_token_is_refused_without_a_database_error(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    engine = _engine(tmp_path, clock, database_url=database_url)
    try:
        started = engine.handle(_said("anna", "/quickscan start", where=Where.TEAM))
        token = next(m.join_token for m in started if m.join_token is not None)
        eve = Sender(user="eve", display_name="Eve\x00\x1b")
        for typed in (token + "\x00", "\x00", "x" * 5000, token + "\n", token[:-1] + "３"):
            (reply,) = engine.join(platform="console", workspace="w", token=typed, sender=eve)
            assert reply.text == NL.t("join.unknown")
            assert reply.destination.user == "eve"
        (intro,) = engine.join(platform="console", workspace="w", token=token, sender=eve)
        assert "Hallo Eve!" in intro.text
    finally:
        engine.store.close()


def test_events_with_unusable_ids_are_dropped_quietly(
    database_url: str, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Ids come from the platform; NUL or a 300-character id did not, and is not stored."""
    engine = _engine(tmp_path, clock, database_url=database_url)
    try:
        for changed in (
            {"event_id": "evt\x00"},
            {"event_id": "e" * 300},
            {"team": "t\x00"},
            {"workspace": "\ud800"},
            {"sender": Sender(user="", display_name="niemand")},
            {"sender": Sender(user="u\x00", display_name="u")},
        ):
            fields = {
                "platform": "console",
                "workspace": "w",
                "team": "t",
                "where": Where.TEAM,
                "sender": Sender(user="anna", display_name="anna"),
                "text": "/quickscan start",
                **changed,
            }
            with caplog.at_level(logging.WARNING):
                assert engine.handle(Inbound(**fields)) == []  # type: ignore[arg-type]  # the fields of Inbound
        assert engine.store.teams() == []
        assert "unusable identifiers" in caplog.text
    finally:
        engine.store.close()
