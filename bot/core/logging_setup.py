"""One logging set-up for every adapter: levels, one handler, one content-free formatter.

The bot's logs may be read by whoever runs the server, who must never see what a
colleague answered or which pupils a teacher registered. Three layers make sure:

* **Our own log calls** name ids, counts and error types only (reviewed, and
  searched by ``tests/test_log_privacy.py``).
* **Third-party libraries** log request bodies, SQL rows and URLs with the bot
  token at DEBUG or INFO. Their loggers are capped (``LIBRARY_CAPS``) so those
  records are never even created, and a filter on the handler drops what slips
  through (a library that sets its own child logger's level).
* **The formatter** (:class:`PrivateFormatter`) never prints an exception's text
  (``str(exc)`` can carry an SQL statement's values, a pupil code or a request
  body): only the exception types and the stack frames. A record that a library
  wrote prints its constant template with the arguments replaced by their types,
  and a ready-made one (an f-string: the text itself holds the values) only up to
  its opening words, before the first character that could start a value.

``configure_logging`` is called once at start by ``adapters/startup/cli.py``, for
every adapter alike; the level comes from ``QUICKSCAN_LOG_LEVEL`` (default INFO),
records go to stderr, one line each: text by default, or one JSON object per line
with ``QUICKSCAN_LOG_FORMAT=json`` (python-json-logger) for a log collector. Both
formats show the same content-free message (:func:`safe_record`).
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import sys
import threading
import traceback
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

LEVEL_ENV = "QUICKSCAN_LOG_LEVEL"
DEFAULT_LEVEL = "INFO"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMAT_ENV = "QUICKSCAN_LOG_FORMAT"
FORMATS = ("text", "json")
# The JSON fields: the record's level, logger and safe message, plus "time" (UTC, ISO
# 8601) and, when there is one, the scrubbed "exc_info". Never a record's extras.
JSON_FIELDS = ("levelname", "name", "message")
JSON_NAMES = {"levelname": "level", "name": "logger"}

# The lowest level each library may log at, whatever QUICKSCAN_LOG_LEVEL says, and why.
LIBRARY_CAPS: Mapping[str, int] = {
    "slack_sdk": logging.INFO,  # DEBUG: every Web API request and response body
    "slack_bolt": logging.WARNING,  # INFO: "request body: ..." after a listener error
    "telegram": logging.INFO,  # DEBUG: request parameters, update payloads
    "httpx": logging.WARNING,  # INFO: every request URL, with the bot token in it
    "httpcore": logging.WARNING,  # DEBUG: raw request and response bytes
    "urllib3": logging.WARNING,  # DEBUG: request URLs and headers
    "apscheduler": logging.INFO,  # DEBUG: job arguments (team keys, ping ids) in detail
    "sqlalchemy": logging.WARNING,  # INFO/DEBUG: statements, parameters and result rows
    "alembic": logging.WARNING,  # INFO: one line per migration step, nothing useful
    "tornado": logging.WARNING,  # INFO: access lines of the webhook
    "websocket": logging.WARNING,  # DEBUG: Socket Mode frames (the events themselves)
    "asyncio": logging.WARNING,  # DEBUG: slow callbacks with their arguments
    "matplotlib": logging.WARNING,  # DEBUG: hundreds of font-matching lines per chart
    "PIL": logging.WARNING,  # DEBUG: image plugin chatter
}
# Where our own code lives: records written from these packages are trusted to log
# ids only; anything written elsewhere is treated as third-party text.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = tuple(
    f"{_PROJECT_ROOT / name}{os.sep}" for name in ("bot", "adapters", "conversations", "storage")
)
# The opening words of a library's ready-made message: letters and spaces only.
_OPENING_WORDS = re.compile(r"[A-Za-z][A-Za-z ]{0,59}")
# Arguments of third-party records that are shown: they cannot carry text.
_SAFE_ARG_TYPES = (bool, int, float, date, datetime, time, timedelta, type(None))


class LogConfigError(ValueError):
    """QUICKSCAN_LOG_LEVEL names no level; the message says which values are allowed."""


def level_from_environ(environ: Mapping[str, str], *, default: str = DEFAULT_LEVEL) -> str:
    """The configured level name (``QUICKSCAN_LOG_LEVEL``, any case), ``default`` when unset.

    Raises:
        LogConfigError: the variable holds something else than a level name.
    """
    raw = environ.get(LEVEL_ENV, "").strip().upper()
    if not raw:
        return default
    if raw not in LEVELS:
        shown = raw[:20] if raw.isascii() and raw.isprintable() else "?"
        raise LogConfigError(f"{LEVEL_ENV} must be one of {', '.join(LEVELS)}, not {shown!r}")
    return raw


def format_from_environ(environ: Mapping[str, str]) -> str:
    """The configured format (``QUICKSCAN_LOG_FORMAT``, any case): "text" when unset.

    Raises:
        LogConfigError: the variable holds something else than a format name.
    """
    raw = environ.get(FORMAT_ENV, "").strip().lower()
    if not raw:
        return FORMATS[0]
    if raw not in FORMATS:
        shown = raw[:20] if raw.isascii() and raw.isprintable() else "?"
        raise LogConfigError(f"{FORMAT_ENV} must be one of {', '.join(FORMATS)}, not {shown!r}")
    return raw


def is_project_record(record: logging.LogRecord) -> bool:
    """Whether our own code wrote ``record`` (then its arguments are ids and counts)."""
    return record.pathname.startswith(PROJECT_PACKAGES)


def library_of(record: logging.LogRecord) -> str:
    """The capped library a third-party record belongs to ("" when none).

    Decided by the logger's name, or else by the file that wrote it: SQLAlchemy
    logs to whatever logger an engine was given, ours included.
    """
    top = record.name.split(".", 1)[0]
    if top in LIBRARY_CAPS:
        return top
    parts = Path(record.pathname).parts
    for folder in ("site-packages", "dist-packages"):
        if folder in parts:
            index = parts.index(folder)
            if index + 1 < len(parts) and parts[index + 1] in LIBRARY_CAPS:
                return parts[index + 1]
    return ""


class LibraryCap(logging.Filter):
    """Drops records of capped libraries below their cap, even if a logger allowed them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a library record under its library's cap."""
        library = library_of(record)
        return not library or record.levelno >= LIBRARY_CAPS[library]


class _Scrubbing(logging.Formatter):
    """What both formatters print of an error: its types and frames, never its message."""

    def formatException(self, ei: Any) -> str:  # named by the base class: base name
        """Exception types and stack frames, never an exception's message."""
        _type, error, _tb = ei
        if not isinstance(error, BaseException):
            return ""
        return scrubbed_traceback(error)

    def formatStack(self, stack_info: str) -> str:  # named by the base class: base name
        """Stack info is code locations and code lines only: shown as it is."""
        return stack_info


class PrivateFormatter(_Scrubbing):
    """The one formatter: ids and error types, never content. See the module docstring."""

    def __init__(self) -> None:
        super().__init__(fmt=FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The line for ``record``, formatted from a safe copy (:func:`safe_record`)."""
        return super().format(safe_record(record))

    @staticmethod
    def safe_message(record: logging.LogRecord) -> str:
        """Our records as written; a library's template with its arguments' types only."""
        if not isinstance(record.msg, str):
            # logger.error(error): the object's str() is its message, which may be content.
            return f"[{type(record.msg).__name__} withheld]"
        template = record.msg
        if is_project_record(record):
            # Our ids and counts as written; an exception passed as an argument shows
            # its type only (its text may be content).
            args = record.args if isinstance(record.args, tuple) else None
            if args and any(isinstance(arg, BaseException) for arg in args):
                record = logging.makeLogRecord(record.__dict__)
                record.args = tuple(
                    type(arg).__name__ if isinstance(arg, BaseException) else arg for arg in args
                )
            try:
                return record.getMessage()
            except (TypeError, ValueError, KeyError):
                return f"{template} [arguments withheld]"
        if not record.args:
            # No arguments: any values were put into the text before logging (an
            # f-string), so only its opening words are shown, up to the first
            # character that could start a value ("Unhandled request ({...})").
            opening = _OPENING_WORDS.match(template)
            shown = opening[0].rstrip() if opening is not None else ""
            if shown == template:
                return template
            return f"{shown} [{len(template) - len(shown)} characters withheld]".lstrip()
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        values = tuple(_shown_arg(arg) for arg in args)
        try:
            return template % values
        except (TypeError, ValueError, KeyError):
            return f"{template} [arguments withheld]"


class PrivateJsonFormatter(_Scrubbing, JsonFormatter):
    """The same content-free record as :class:`PrivateFormatter`, as one JSON object.

    Fields: ``time`` (UTC), ``level``, ``logger``, ``message`` and, for an error,
    ``exc_info`` (types and frames only). A record's extras are never written: a
    library's ``extra=`` may hold a request body.
    """

    def __init__(self) -> None:
        super().__init__(fmt=list(JSON_FIELDS), rename_fields=dict(JSON_NAMES), timestamp="time")

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``, from a safe copy (:func:`safe_record`)."""
        return super().format(safe_record(record))


def safe_record(record: logging.LogRecord) -> logging.LogRecord:
    """A new record with ``record``'s place and time and its message made safe.

    New, because other handlers may have cached the full exception text on the
    record itself (``exc_text``), which must not be reused, and because only the
    standard attributes are copied: extras added by whoever logged are left behind.
    """
    shown = logging.LogRecord(
        name=record.name,
        level=record.levelno,
        pathname=record.pathname,
        lineno=record.lineno,
        msg=PrivateFormatter.safe_message(record),
        args=None,
        exc_info=record.exc_info,
        func=record.funcName,
        sinfo=record.stack_info,
    )
    shown.created, shown.msecs = record.created, record.msecs
    shown.relativeCreated = record.relativeCreated
    shown.thread, shown.threadName = record.thread, record.threadName
    shown.process, shown.processName = record.process, record.processName
    return shown


def scrubbed_traceback(error: BaseException) -> str:
    """The chain of exception types with their frames (file, line, code), no messages."""
    blocks: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        name = f"{type(current).__module__}.{type(current).__qualname__}"
        blocks.append(f"Traceback (most recent call last):\n{frames}{name} (message withheld)")
        current = current.__cause__ or current.__context__
    return "\nCaused by or during:\n".join(reversed(blocks))


def log_failure(logger: logging.Logger, what: str, error: BaseException, **ids: object) -> None:
    """Log that ``what`` failed: the error's type, its frames and ``ids``, never its message.

    Unlike ``logger.exception`` the exception itself never reaches the record, so
    not even a handler with another formatter can print its text.
    """
    context = " ".join(f"{name}={value}" for name, value in sorted(ids.items()))
    logger.error(
        "%s failed: %s %s\n%s",
        what,
        type(error).__name__,
        context,
        scrubbed_traceback(error),
        stacklevel=2,  # the record names the caller's file and line
    )


def _shown_arg(arg: object) -> object:
    if isinstance(arg, _SAFE_ARG_TYPES):
        return arg
    return _Withheld(type(arg).__name__)


class _Withheld:
    """Stands in for an argument: prints as ``<type>``, also under %d or %r."""

    def __init__(self, name: str) -> None:
        self._text = f"<{name}>"

    def __str__(self) -> str:
        return self._text

    __repr__ = __str__


def logging_config(*, level: str, form: str = FORMATS[0]) -> dict[str, Any]:
    """The ``dictConfig`` of the bot: one stderr handler, library caps, our formatter."""
    if level not in LEVELS:
        raise LogConfigError(f"unknown log level {level!r}")
    if form not in FORMATS:
        raise LogConfigError(f"unknown log format {form!r}")
    formatter = PrivateJsonFormatter if form == "json" else PrivateFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"library_cap": {"()": LibraryCap}},
        "formatters": {"private": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "private",
                "filters": ["library_cap"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            name: {"level": logging.getLevelName(max(cap, logging.getLevelName(level)))}
            for name, cap in LIBRARY_CAPS.items()
        },
    }


def configure_logging(
    *, environ: Mapping[str, str], stream: TextIO | None = None, default_level: str = DEFAULT_LEVEL
) -> str:
    """Install the set-up at start; returns the level in force.

    Args:
        environ: Where ``QUICKSCAN_LOG_LEVEL`` and ``QUICKSCAN_LOG_FORMAT`` are read.
        stream: Where records go (tests); stderr by default.
        default_level: The level when the variable is unset: INFO for a bot
            process; the console passes WARNING, because there stderr shares the
            terminal with the conversation, where a line per printed message
            ("delivered") would only be in the way.

    Raises:
        LogConfigError: ``QUICKSCAN_LOG_LEVEL`` is not a level name, or
            ``QUICKSCAN_LOG_FORMAT`` not a format name.
    """
    level = level_from_environ(environ, default=default_level)
    config = logging_config(level=level, form=format_from_environ(environ))
    if stream is not None:
        config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    # A record that fails to format must not be printed raw by logging's own
    # error report, which shows the message's arguments.
    logging.raiseExceptions = False
    return level


def install_excepthook() -> None:
    """Uncaught exceptions (main and other threads) are logged scrubbed, not printed whole.

    Python's default hooks print the exception's message, which may hold content.
    Called by the command line only: tests keep pytest's own hooks.
    """
    log = logging.getLogger(__name__)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "?"
        log.error(
            "uncaught %s in thread %s",
            args.exc_type.__name__,
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    def main_hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        log.critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))

    threading.excepthook = thread_hook
    sys.excepthook = main_hook


def cap_library_loggers(*names: str) -> None:
    """Raise these libraries' loggers to at least their cap.

    The adapters call it for their own libraries, so the caps hold even where they
    run without the command line's set-up (tests, an embedding program).
    """
    for name in names:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < LIBRARY_CAPS[name]:
            library.setLevel(LIBRARY_CAPS[name])
