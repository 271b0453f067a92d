"""No log line carries content: not on the console, not on Slack, not on Telegram.

A whole quickscan round (typed open answers with a distinctive text) and a
checklist round (distinctive pupil codes and a typed verbeterstap) run through
each adapter with ``QUICKSCAN_LOG_LEVEL=DEBUG`` and the project's one logging
set-up (``bot/core/logging_setup.py``; the console round also with
``QUICKSCAN_LOG_FORMAT=json``). Every record of every logger reaches a root
handler at DEBUG that formats it with the project's formatter, besides the
configured handler itself. Along the way the adapters meet an engine failure
whose exception text holds a pupil code, and a database error with a pupil code
as its SQL parameter is logged. Then every line is searched: no pupil code, no
open answer, no verbeterstap, no display name, no SQL parameter.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.core.engine import Engine
from bot.core.logging_setup import (
    LIBRARY_CAPS,
    PrivateFormatter,
    PrivateJsonFormatter,
    configure_logging,
)
from storage.quickscan.store import Store
from tests.conftest import FakeClock
from tests.console_harness import QUESTIONS, make_console
from tests.fakes.slack import CHANNEL, SlackTeam, slack_world
from tests.fakes.telegram import FakeTelegram, running_bot

SEPTEMBER = datetime(2026, 9, 28, 7, 0, tzinfo=UTC)
OPEN_TEXT = "Zebrapadoverleg met de ouderraad 9731"
STEP_TEXT = "Huisbezoekplan Kwartelkoning 4417"
CODES = {0: ("QX7Z", "ZK42", "QX9B"), 1: ("ZK17", "QW3X"), 2: ("XQ88", "KZ5Q")}
FAILURE_CODE = "QZ4711"  # the pupil code inside a failing engine call's exception text
SQL_VALUE = "QX7ZSQLPARAM"
# Display names differ from the platform ids, so a name in a log line is a leak.
NAMES = ("Xandervliet", "Ysoldebrakel", "Wolfgerdina", "Quirijnhoven", "Zwanettevos")
ANSWERS = ("++", "+", "+/-", "-", "?")
FORBIDDEN = (OPEN_TEXT, STEP_TEXT, FAILURE_CODE, SQL_VALUE) + tuple(
    code for codes in CODES.values() for code in codes
)


@dataclass
class Logs:
    """Everything logged during a test, formatted by the project's formatter."""

    stream: io.StringIO
    lines: list[str] = field(default_factory=list)

    def everything(self) -> str:
        return "\n".join([*self.lines, self.stream.getvalue()])

    def assert_clean(self, *, names: tuple[str, ...] = ()) -> None:
        everything = self.everything()
        assert everything.strip(), "nothing was logged: the capture does not work"
        lowered = everything.lower()
        leaked = [value for value in (*FORBIDDEN, *names) if value.lower() in lowered]
        assert not leaked, f"logged: {leaked}"
        assert "[parameters:" not in everything  # SQLAlchemy's parameter dump
        assert "sqlalchemy.engine" not in everything  # statements and rows are capped


class _Collect(logging.Handler):
    def __init__(self, lines: list[str], formatter: logging.Formatter) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter)
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append(self.format(record))


@pytest.fixture
def logs(request: pytest.FixtureRequest) -> Iterator[Logs]:
    """The project's set-up at DEBUG plus a root handler that sees every record.

    Parametrise indirectly with "json" for ``QUICKSCAN_LOG_FORMAT=json``.
    """
    form = getattr(request, "param", "text")
    root = logging.getLogger()
    names = [*LIBRARY_CAPS, "sqlalchemy.engine", "sqlalchemy.pool"]
    saved = (root.handlers[:], root.level, logging.raiseExceptions)
    levels = {name: logging.getLogger(name).level for name in names}
    captured = Logs(stream=io.StringIO())
    environ = {"QUICKSCAN_LOG_LEVEL": "debug", "QUICKSCAN_LOG_FORMAT": form}
    assert configure_logging(environ=environ, stream=captured.stream)
    formatter = PrivateJsonFormatter() if form == "json" else PrivateFormatter()
    root.addHandler(_Collect(captured.lines, formatter))
    try:
        yield captured
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.raiseExceptions = saved[2]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _sql_error_logged(store: Store) -> None:
    """A real database error whose parameter is a pupil code, logged like code would."""
    with pytest.raises(Exception) as raised, store.engine.connect() as connection:  # noqa: PT011 - the dialects differ
        connection.execute(
            text("SELECT * FROM no_such_table WHERE code = :code"), {"code": SQL_VALUE}
        )
    logging.getLogger("storage.quickscan.store").error("query failed", exc_info=raised.value)


def _fail_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """The engine's next ``handle`` raises with a pupil code in its message."""
    original = engine.handle
    calls: list[int] = []

    def failing(event: object) -> object:
        if not calls:
            calls.append(1)
            raise RuntimeError(f"duplicate key value (label)=({FAILURE_CODE})")
        return original(event)  # type: ignore[arg-type]  # same event, passed on

    monkeypatch.setattr(engine, "handle", failing)
    return lambda: monkeypatch.setattr(engine, "handle", original)


# ------------------------------------------------------------------ console


@pytest.mark.parametrize("logs", ["text", "json"], indirect=True)
def test_console_round_and_checklist_log_no_content(
    database_url: str, tmp_path: Path, logs: Logs
) -> None:
    members = ("anna", "bram", "chris", "dewi", "eva")
    console = make_console(
        database_url=database_url,
        members=members,
        clock=FakeClock(start=SEPTEMBER),
        output_dir=tmp_path,
    )
    try:
        lines = ["anna@team: /quickscan start"]
        for name, answer in zip(members, ANSWERS, strict=True):
            lines += [f"{name}@dm: start", *[f"{name}@dm: {answer}"] * QUESTIONS]
            lines += [f"{name}@dm: {grade}" for grade in (7, 6, 8)]
            lines += [f"{name}@dm: {OPEN_TEXT}", f"{name}@dm: overslaan", f"{name}@dm: overslaan"]
            lines.append(f"{name}@dm: versturen")
        lines += ["anna@team: /quickscan sluit", "anna@team: /quickscan export"]
        lines += ["bram@team: /quickscan grafiek vragen"]
        for index, codes in CODES.items():
            name = members[index]
            lines += [f"{name}@team: /quickscan checklist", f"{name}@dm: /checklist klas"]
            lines += [f"{name}@dm: {code}" for code in codes] + [f"{name}@dm: klaar"]
        lines.append("anna@team: /quickscan checklist start 1 16-10")
        for index, codes in CODES.items():
            name = members[index]
            lines.append(f"{name}@dm: /checklist invullen")
            lines += [f"{name}@dm: 2 2 3 3 2 2 {STEP_TEXT}"] + [f"{name}@dm: 3 3 2 2 3 3"] * (
                len(codes) - 1
            )
        lines += ["anna@team: /quickscan checklist sluit", "anna@dm: /checklist export"]
        lines += [f"anna@dm: /checklist verwijder {CODES[0][0]}", "bram@dm: /checklist wis"]
        shown = console.say(*lines)
        everything = "\n".join(block for _tag, block in shown)
        assert "Teamresultaat" in everything  # the round really ran ...
        assert CODES[0][1] in everything  # ... and so did the checklist
        _sql_error_logged(console.store)
    finally:
        console.store.close()
    logs.assert_clean()


# -------------------------------------------------------------------- Slack


def _slack_click_until(team: SlackTeam, user: str, label: str) -> None:
    assert team.click(user, label).status == 200


def test_slack_round_and_checklist_log_no_content(
    database_url: str, tmp_path: Path, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    with slack_world(
        database_url=database_url,
        clock=FakeClock(start=SEPTEMBER),
        output_dir=tmp_path,
        names=NAMES,
    ) as (world, ids):
        team, fake = world.team, world.fake
        anna = ids[0]
        restore = _fail_once(world.engine, monkeypatch)
        team.command(anna, "status")  # fails inside the engine: the person hears so
        restore()
        assert team.command(anna, "start").status == 200
        for user, answer in zip(ids, ANSWERS, strict=True):
            _slack_click_until(team, user, "start")
            for _ in range(QUESTIONS):
                _slack_click_until(team, user, answer)
            for grade in ("7", "6", "8"):
                _slack_click_until(team, user, grade)
            assert team.type_answer(user, OPEN_TEXT).status == 200
            _slack_click_until(team, user, "overslaan")
            _slack_click_until(team, user, "overslaan")
            _slack_click_until(team, user, "versturen")
        team.command(anna, "sluit")
        team.command(anna, "export")
        for index, codes in CODES.items():
            user = ids[index]
            team.command(user, "checklist")
            team.say_in_dm(user, "/checklist klas")
            for code in codes:
                team.say_in_dm(user, code)
            team.say_in_dm(user, "klaar")
        team.command(anna, "checklist start 1 16-10")
        for index, codes in CODES.items():
            user = ids[index]
            team.say_in_dm(user, "/checklist invullen")
            team.say_in_dm(user, f"2 2 3 3 2 2 {STEP_TEXT}")
            for _ in codes[1:]:
                team.say_in_dm(user, "3 3 2 2 3 3")
        team.command(anna, "checklist sluit")
        team.say_in_dm(anna, "/checklist export")
        dm = "\n".join(message.body for message in fake.dm(anna))
        assert CODES[0][1] in dm  # the checklist really ran in her DM
        assert any(upload.filename.endswith(".xlsx") for upload in fake.uploads.values())
        assert not list(tmp_path.rglob("*.xlsx")), "delivered exports are removed from disk"
        assert any("Teamresultaat" in m.body for m in fake.messages_in(CHANNEL))
        _sql_error_logged(world.store)
    assert "RuntimeError" in logs.everything()  # the failure was logged, by type
    logs.assert_clean(names=NAMES)


# ----------------------------------------------------------------- Telegram

GROUP = -100424242
ANNA = 11


def _press(fake: FakeTelegram, user: int, label: str, expect: str) -> None:
    prompt = fake.prompt(user)
    assert prompt is not None
    query = fake.press(user, prompt, label=label)
    fake.wait_for(lambda: fake.answer_of(query))
    fake.wait_for(lambda: expect in fake.last_text(user))


def _say(fake: FakeTelegram, user: int, text_: str, expect: str) -> None:
    fake.send_private(user, text_)
    fake.wait_for(lambda: re.search(expect, fake.last_text(user)) is not None)


def test_telegram_round_and_checklist_log_no_content(
    database_url: str, tmp_path: Path, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {ANNA + index: name for index, name in enumerate(NAMES)}
    with FakeTelegram() as fake:
        for user, name in users.items():
            fake.add_user(user, name, started=user == ANNA)
        fake.add_group(GROUP, title="Team", admins=(ANNA,), members=tuple(users))
        with running_bot(
            fake=fake,
            database_url=database_url,
            clock=FakeClock(start=SEPTEMBER),
            output_dir=tmp_path,
        ) as bot:
            restore = _fail_once(bot.engine, monkeypatch)
            fake.send_group(ANNA, GROUP, "/quickscan status")
            # The update fails once (logged by type), and is handled again: answered.
            fake.wait_for(lambda: "RuntimeError" in logs.everything())
            fake.wait_for(lambda: [row.status for row in bot.outbox()] == ["sent"])
            restore()
            fake.send_group(ANNA, GROUP, "/quickscan start")
            announcement = fake.wait_for(
                lambda: (m := fake.last_message(GROUP)) is not None and m.buttons and m
            )
            token = announcement.buttons[0]["url"].split("start=")[1]
            for (user, _name), answer in zip(users.items(), ANSWERS, strict=True):
                if user != ANNA:
                    fake.send_private(user, f"/start {token}")
                fake.wait_for(lambda user=user: fake.prompt(user))
                _press(fake, user, "start", "vraag 1 van 48")
                for number in range(1, QUESTIONS + 1):
                    following = f"vraag {number + 1} van 48" if number < 48 else "cijfer 1 van 3"
                    _press(fake, user, answer, following)
                _press(fake, user, "7", "cijfer 2 van 3")
                _press(fake, user, "6", "cijfer 3 van 3")
                _press(fake, user, "8", "open vraag 1 van 3")
                _say(fake, user, OPEN_TEXT, "open vraag 2 van 3")
                _press(fake, user, "overslaan", "open vraag 3 van 3")
                _press(fake, user, "overslaan", "Samenvatting")
                _press(fake, user, "versturen", "Bedankt")
            fake.send_group(ANNA, GROUP, "/quickscan sluit")
            fake.wait_for(
                lambda: "Teamresultaat" in "".join(m.shown() for m in fake.chat_messages(GROUP))
            )
            fake.send_group(ANNA, GROUP, "/quickscan export")
            fake.wait_for(lambda: any(m.document for m in fake.chat_messages(ANNA)))
            for index, codes in CODES.items():
                user = ANNA + index
                fake.send_group(user, GROUP, "/quickscan checklist")
                fake.wait_for(lambda user=user: "checklist" in fake.last_text(user).lower())
                _say(fake, user, "/checklist klas", "klas")
                for code in codes:
                    _say(fake, user, code, re.escape(code) + "|klas")
                _say(fake, user, "klaar", str(len(codes)))
            fake.send_group(ANNA, GROUP, "/quickscan checklist start 1 16-10")
            fake.wait_for(lambda: "geopend" in fake.last_text(GROUP))
            for index, codes in CODES.items():
                user = ANNA + index
                _say(fake, user, "/checklist invullen", "leerling 1 van")
                fake.send_private(user, f"2 2 3 3 2 2 {STEP_TEXT}")
                for _ in codes[1:]:
                    fake.send_private(user, "3 3 2 2 3 3")
                fake.wait_for(lambda user=user: "Klaar" in fake.last_text(user))
            fake.send_group(ANNA, GROUP, "/quickscan checklist sluit")
            fake.wait_for(lambda: "Deelname" in fake.last_text(GROUP))
            before = sum(1 for m in fake.chat_messages(ANNA) if m.document)
            fake.send_private(ANNA, "/checklist export")
            fake.wait_for(lambda: sum(1 for m in fake.chat_messages(ANNA) if m.document) > before)
            fake.wait_for(lambda: not list(tmp_path.rglob("*.xlsx")))  # delivered: removed
            _sql_error_logged(bot.store)
            assert not bot.errors
    assert "RuntimeError" in logs.everything()
    logs.assert_clean(names=NAMES)


def test_the_formatter_withholds_library_text_and_exception_messages() -> None:
    formatter = PrivateFormatter()
    library = logging.LogRecord(
        "httpx",
        logging.WARNING,
        "/x/site-packages/httpx/_client.py",
        1,
        "HTTP Request: %s %s %d",
        ("POST", "https://api/bot123:secret/sendMessage", 200),
        None,
    )
    assert formatter.format(library).endswith("HTTP Request: <str> <str> 200")
    interpolated = logging.LogRecord(
        "slack_bolt.App",
        logging.WARNING,
        "/x/site-packages/slack_bolt/app.py",
        1,
        f"Unhandled request ({{'text': '{OPEN_TEXT}'}})",
        None,
        None,
    )
    shown = formatter.format(interpolated)
    assert shown.endswith("Unhandled request [52 characters withheld]")
    ready = logging.LogRecord(
        "telegram.ext.Application",
        logging.INFO,
        "/x/site-packages/telegram/a.py",
        1,
        "Application started",
        None,
        None,
    )
    assert formatter.format(ready).endswith(": Application started")
    try:
        raise ValueError(f"bad label {FAILURE_CODE}") from KeyError(SQL_VALUE)
    except ValueError as error:
        own = logging.LogRecord(
            "bot.core.engine",
            logging.ERROR,
            __file__,
            1,
            "failed",
            None,
            (type(error), error, error.__traceback__),
        )
    shown = formatter.format(own)
    assert "builtins.ValueError (message withheld)" in shown
    assert "builtins.KeyError (message withheld)" in shown
    assert FAILURE_CODE not in shown
    assert SQL_VALUE not in shown
    as_message = logging.LogRecord(
        "bot.core.engine", logging.ERROR, __file__, 1, ValueError(FAILURE_CODE), None, None
    )
    assert formatter.format(as_message).endswith("[ValueError withheld]")
    # A record formatted before by another formatter keeps its full text there only.
    logging.Formatter().format(own)
    assert FAILURE_CODE in (own.exc_text or "")
    assert FAILURE_CODE not in formatter.format(own)
