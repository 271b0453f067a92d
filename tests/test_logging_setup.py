"""The one logging set-up: level and format from the environment, library caps, the cap filter."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.startup.cli import main
from bot.core.logging_setup import (
    LIBRARY_CAPS,
    PROJECT_PACKAGES,
    LibraryCap,
    LogConfigError,
    PrivateFormatter,
    PrivateJsonFormatter,
    configure_logging,
    format_from_environ,
    level_from_environ,
)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Undo what configure_logging changes in this process."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.raiseExceptions)
    levels = {name: logging.getLogger(name).level for name in LIBRARY_CAPS}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.raiseExceptions = saved[2]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("value", "level"), [("", "INFO"), (" debug ", "DEBUG"), ("Warning", "WARNING")]
)
def test_the_level_comes_from_the_environment(value: str, level: str) -> None:
    assert level_from_environ({"QUICKSCAN_LOG_LEVEL": value}) == level
    assert level_from_environ({}) == "INFO"


@pytest.mark.parametrize("value", ["verbose", "10", "ＤＥＢＵＧ", "debug\x00"])
def test_an_unknown_level_is_refused_by_name(value: str) -> None:
    with pytest.raises(LogConfigError, match="QUICKSCAN_LOG_LEVEL must be one of"):
        level_from_environ({"QUICKSCAN_LOG_LEVEL": value})


def test_quickscan_run_stops_on_an_unknown_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUICKSCAN_LOG_LEVEL", "loud")
    assert main(["run"]) == 2
    assert "QUICKSCAN_LOG_LEVEL must be one of DEBUG, INFO" in capsys.readouterr().err


def test_libraries_stay_capped_at_debug(restored_logging: None) -> None:
    stream = io.StringIO()
    assert configure_logging(environ={"QUICKSCAN_LOG_LEVEL": "DEBUG"}, stream=stream) == "DEBUG"
    assert logging.getLogger().level == logging.DEBUG
    for name, cap in LIBRARY_CAPS.items():
        assert logging.getLogger(name).getEffectiveLevel() >= cap, name
    # A library that lowers its own child logger is still filtered at the handler.
    logging.getLogger("sqlalchemy.engine.Engine").setLevel(logging.DEBUG)
    try:
        logging.getLogger("sqlalchemy.engine.Engine").info("SELECT secret FROM pupils")
        logging.getLogger("bot.core.engine").debug("round %d closed", 7)
    finally:
        logging.getLogger("sqlalchemy.engine.Engine").setLevel(logging.NOTSET)
    written = stream.getvalue()
    assert "SELECT" not in written
    assert "DEBUG bot.core.engine: round 7 closed" in written


def test_the_cap_filter_judges_by_logger_name_and_by_source_file() -> None:
    cap = LibraryCap()

    def record(name: str, path: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, path, 1, "x", None, None)

    assert not cap.filter(record("sqlalchemy.engine", "/x/y.py", logging.INFO))
    assert cap.filter(record("sqlalchemy.engine", "/x/y.py", logging.WARNING))
    # SQLAlchemy writing to one of our loggers: its file says where it came from.
    inside = "/venv/lib/site-packages/sqlalchemy/engine/base.py"
    assert not cap.filter(record("storage.checklist.store.sql", inside, logging.INFO))
    assert cap.filter(record("bot.core.engine", "/work/bot/engine.py", logging.DEBUG))


def test_our_records_show_ids_but_not_an_exception_passed_as_argument() -> None:
    record = logging.LogRecord(
        "bot.core.engine",
        logging.WARNING,
        f"{PROJECT_PACKAGES[0]}engine.py",
        1,
        "team %s: saving failed: %s",
        ("T42", KeyError("QX7Z")),
        None,
    )
    assert PrivateFormatter().format(record).endswith("team T42: saving failed: KeyError")


@pytest.mark.parametrize(("value", "form"), [("", "text"), (" JSON ", "json"), ("Text", "text")])
def test_the_format_comes_from_the_environment(value: str, form: str) -> None:
    assert format_from_environ({"QUICKSCAN_LOG_FORMAT": value}) == form
    assert format_from_environ({}) == "text"


@pytest.mark.parametrize("value", ["yaml", "jsonl", "ｊｓｏｎ", "json\x00"])
def test_an_unknown_format_is_refused_by_name(value: str) -> None:
    with pytest.raises(LogConfigError, match="QUICKSCAN_LOG_FORMAT must be one of text, json"):
        format_from_environ({"QUICKSCAN_LOG_FORMAT": value})


def test_quickscan_run_stops_on_an_unknown_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUICKSCAN_LOG_FORMAT", "xml")
    assert main(["run"]) == 2
    assert "QUICKSCAN_LOG_FORMAT must be one of text, json" in capsys.readouterr().err


def test_info_goes_to_the_stream_by_default(restored_logging: None) -> None:
    stream = io.StringIO()
    assert configure_logging(environ={}, stream=stream) == "INFO"
    logging.getLogger("bot.core.engine").info("round %d opened", 3)
    logging.getLogger("bot.core.engine").debug("not shown")
    assert stream.getvalue().rstrip().endswith("INFO bot.core.engine: round 3 opened")
    assert "not shown" not in stream.getvalue()


def test_json_lines_carry_the_same_safe_message_and_nothing_else(
    restored_logging: None,
) -> None:
    stream = io.StringIO()
    configure_logging(environ={"QUICKSCAN_LOG_FORMAT": "json"}, stream=stream)
    ours = logging.getLogger("bot.core.engine")
    code = "QX7Z"  # a pupil code: in an extra and in an exception, never printed
    ours.info("round %d opened: %d invitations queued", 3, 6, extra={"body": code})
    try:
        raise ValueError(f"pupil {code}")
    except ValueError:
        ours.exception("saving failed for team %s", "T42")
    logging.getLogger("httpx").warning("HTTP Request: %s", "https://api/bot123:secret/x")
    logging.getLogger("slack_bolt.App").warning({"text": code})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert code not in stream.getvalue()
    assert "secret" not in stream.getvalue()
    opened, failed, library, as_dict = lines
    assert set(opened) == {"time", "level", "logger", "message"}  # no extras
    assert opened["level"] == "INFO"
    assert opened["logger"] == "bot.core.engine"
    assert opened["message"] == "round 3 opened: 6 invitations queued"
    assert opened["time"].endswith("+00:00")
    # Written from this test file, not our packages: text arguments show their type.
    assert failed["message"] == "saving failed for team <str>"
    assert "builtins.ValueError (message withheld)" in failed["exc_info"]
    assert library["message"] == "HTTP Request: <str>"
    assert as_dict["message"] == "[dict withheld]"


def test_both_formatters_show_the_same_message() -> None:
    record = logging.LogRecord(
        "slack_bolt.App",
        logging.WARNING,
        "/x/site-packages/slack_bolt/app.py",
        1,
        "failed for %s after %d tries",
        ("U123 Anna", 3),
        None,
    )
    text = PrivateFormatter().format(record)
    shown = json.loads(PrivateJsonFormatter().format(record))["message"]
    assert shown == "failed for <str> after 3 tries"
    assert text.endswith(f": {shown}")


def test_the_console_logs_warnings_unless_asked_for_more(
    restored_logging: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """On the console stderr shares the terminal with the conversation: no line per message."""
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "QUICKSCAN_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUICKSCAN_OUTPUT_DIR", str(tmp_path / "output"))
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    monkeypatch.setattr(sys, "stdin", io.StringIO("anna@team: /quickscan status\n"))
    assert main(["run", "--database", url]) == 0
    assert logging.getLogger().level == logging.WARNING
    shown = capsys.readouterr()
    assert "[team>anna]" in shown.out
    assert "delivered" not in shown.err
    monkeypatch.setenv("QUICKSCAN_LOG_LEVEL", "info")
    monkeypatch.setattr(sys, "stdin", io.StringIO("anna@team: /quickscan status\n"))
    assert main(["run", "--database", url]) == 0
    assert logging.getLogger().level == logging.INFO
    assert " delivered (console ephemeral, attempt 1)" in capsys.readouterr().err
