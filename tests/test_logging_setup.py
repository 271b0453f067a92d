"""The one logging set-up: its level from the environment, library caps, the cap filter."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from adapters.startup.cli import main
from bot.core.logging_setup import (
    LIBRARY_CAPS,
    PROJECT_PACKAGES,
    LibraryCap,
    LogConfigError,
    PrivateFormatter,
    configure_logging,
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
