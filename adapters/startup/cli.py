"""The ``quickscan`` command: run the bot, play a demo, check instrument files."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError

from adapters.console import (
    DEFAULT_MEMBERS,
    ConsoleAdapter,
    ConsoleRoster,
    reconfigure_stdin,
)
from adapters.startup.config import MAX_PORT, ConfigError, load_settings
from adapters.startup.demo import demo_script
from adapters.startup.kalender import calendar_overview
from adapters.startup.runners import build_runners, run_all
from bot.core.engine import DEFAULT_INSTRUMENT, Engine
from bot.core.logging_setup import LogConfigError, configure_logging, install_excepthook
from bot.core.ports import Roster, RosterRegistry
from bot.privacy.files import prepare_output_dir
from conversations.core.clock import SCHOOL_TZ, Clock, ShiftedClock, SystemClock
from conversations.instrument import Checklist, InstrumentError, Quickscan, load_instruments
from storage import db
from storage.checklist.store import ChecklistStore
from storage.crypto import ENCRYPTION_KEY_ENV, EncryptionKeyError, FieldCipher, generate_key
from storage.quickscan.store import Store

Instruments = dict[str, Quickscan | Checklist]
_LOG = logging.getLogger("adapters.startup.cli")  # the same name when run with -m


ROTATE_COMMANDS = ("sleutel-roteren", "rotate-keys")
NEW_KEY_COMMANDS = ("sleutel-maken", "new-key")
NO_KEY_WARNING = (
    "WAARSCHUWING: %s is niet gezet: open antwoorden en leerlingcodes "
    "staan onversleuteld in de database (zie docs/privacy.md)"
)


DATABASE_DOWN = (
    "quickscan: de database is niet bereikbaar; controleer QUICKSCAN_DATABASE_URL (of "
    "--database) en of de databaseserver draait\n"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "kalender":
            return calendar_overview(args)
        if args.command in ROTATE_COMMANDS:
            return _rotate_keys(args)
        if args.command in NEW_KEY_COMMANDS:
            sys.stdout.write(generate_key() + "\n")
            return 0
        return _check(args)
    except InstrumentError as error:
        sys.stderr.write(f"quickscan: instrument file invalid: {error}\n")
        return 2
    except (ConfigError, EncryptionKeyError) as error:
        # Both messages name the variable, never a key or a stored value.
        sys.stderr.write(f"quickscan: {error}\n")
        return 2
    except (OperationalError, InterfaceError):
        # Not the error's text: it can quote the URL with its password, or SQL.
        sys.stderr.write(DATABASE_DOWN)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quickscan", description="Quickscan samenwerken met ouders, als chatbot."
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start the bot (console adapter when no token is set)")
    run.add_argument(
        "--members",
        default=",".join(DEFAULT_MEMBERS),
        help="comma-separated team members for the console (default: a small demo team)",
    )
    run.add_argument("--database", help="database URL (default: QUICKSCAN_DATABASE_URL or SQLite)")
    run.add_argument(
        "--clock",
        type=_moment,
        help="console only: start the simulated clock at this moment (2026-11-23T09:00)",
    )
    web = sub.add_parser(
        "serve", help="serve Slack and Telegram over HTTP (one ASGI application, uvicorn)"
    )
    web.add_argument("--host", help="address to listen on (default: QUICKSCAN_HTTP_HOST)")
    web.add_argument("--port", type=_port, help="port (default: QUICKSCAN_HTTP_PORT)")
    web.add_argument("--database", help="database URL (default: as quickscan run)")
    demo = sub.add_parser("demo", help="play a whole round with simulated colleagues")
    demo.add_argument("--colleagues", type=int, default=6, help="simulated colleagues (default 6)")
    demo.add_argument("--seed", type=int, default=2013, help="seed of the simulated answers")
    demo.add_argument("--show-dms", action="store_true", help="also print every private message")
    demo.add_argument("--output", type=Path, help="where the chart goes (default: data dir/demo)")
    sub.add_parser("check", help="load and validate the instrument files")
    calendar = sub.add_parser(
        "kalender", help="print every team's upcoming holidays and planned pings"
    )
    calendar.add_argument("--database", help="database URL (default: as quickscan run)")
    calendar.add_argument("--clock", type=_moment, help="show the calendar as of this moment")
    rotate = sub.add_parser(
        ROTATE_COMMANDS[0],
        aliases=list(ROTATE_COMMANDS[1:]),
        help=f"re-seal open answers and pupil codes with the first key in {ENCRYPTION_KEY_ENV}",
    )
    rotate.add_argument("--database", help="database URL (default: as quickscan run)")
    sub.add_parser(
        NEW_KEY_COMMANDS[0],
        aliases=list(NEW_KEY_COMMANDS[1:]),
        help=f"print a new key for {ENCRYPTION_KEY_ENV}",
    )
    return parser


def _engine(
    *,
    database_url: str,
    roster: Roster,
    output_dir: Path | None = None,
    clock: Clock | None = None,
) -> tuple[Engine, Instruments]:
    settings = load_settings()
    instruments = load_instruments(directories=settings.instrument_dirs)
    store = Store.open(url=database_url, cipher=FieldCipher.from_env())
    engine = Engine(
        store=store,
        instruments=instruments,
        roster=roster,
        clock=clock or SystemClock(),
        # The configured folder of charts, exports and members' data files is made
        # 0700 at start (and swept daily); the demo's own folder is left as it is.
        output_dir=output_dir or prepare_output_dir(settings.output_dir),
        retention=settings.retention,
    )
    return engine, instruments


def _start_logging(*, console: bool) -> bool:
    """The one logging set-up (bot/core/logging_setup.py), before anything can log.

    INFO by default; WARNING on the console, whose terminal is the conversation.
    """
    try:
        configure_logging(environ=os.environ, default_level="WARNING" if console else "INFO")
    except LogConfigError as error:
        sys.stderr.write(f"quickscan: {error}\n")
        return False
    install_excepthook()
    return True


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not _start_logging(console=settings.platforms == ("console",)):
        return 2
    database_url = args.database or settings.database_url.get_secret_value()
    if settings.platforms != ("console",):
        if not FieldCipher.from_env().enabled:
            _LOG.warning(NO_KEY_WARNING, ENCRYPTION_KEY_ENV)  # a log line, JSON or text
        rosters = RosterRegistry()
        engine, _instruments = _engine(database_url=database_url, roster=rosters)
        try:
            runners = build_runners(platforms=settings.platforms, engine=engine, rosters=rosters)
        except ValueError as error:  # an incomplete Slack/Telegram configuration
            engine.store.close()
            sys.stderr.write(f"quickscan: {error}\n")
            return 2
        # Imported here: the console has its own clock and no use for APScheduler.
        from bot.calendar.scheduling import PingScheduler

        scheduler = PingScheduler(engine=engine)
        try:
            scheduler.start()
            _LOG.info("quickscan running on %s", ", ".join(settings.platforms))
            run_all(runners, on_stop=scheduler.stop)
        finally:
            scheduler.stop()
            engine.store.close()
        return 0
    roster = ConsoleRoster(members=[m.strip() for m in args.members.split(",") if m.strip()])
    clock = ShiftedClock(base=SystemClock(), start=args.clock)
    engine, _instruments = _engine(database_url=database_url, roster=roster, clock=clock)
    try:
        adapter = ConsoleAdapter(engine=engine, roster=roster, clock=clock)
        adapter.catch_up()  # pings missed while the bot was down, once
        reconfigure_stdin(sys.stdin)  # invalid UTF-8 is one skipped line, not the end
        adapter.run(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        engine.store.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    """``quickscan serve``: Slack's request URL and Telegram's webhook on one HTTP server."""
    settings = load_settings()
    if not _start_logging(console=False):
        return 2
    if settings.platforms == ("console",):
        sys.stderr.write(
            "quickscan: serve needs SLACK_BOT_TOKEN and/or TELEGRAM_BOT_TOKEN "
            "(the console runs with quickscan run)\n"
        )
        return 2
    if not FieldCipher.from_env().enabled:
        _LOG.warning(NO_KEY_WARNING, ENCRYPTION_KEY_ENV)
    registry = RosterRegistry()
    url = args.database or settings.database_url.get_secret_value()
    engine, _instruments = _engine(database_url=url, roster=registry)
    # Imported here: starlette, uvicorn and prometheus are no weight for `quickscan run`.
    from adapters.startup.serve import serve

    try:
        return serve(
            engine=engine,
            rosters=registry,
            platforms=settings.platforms,
            host=args.host or settings.http_host,
            port=settings.http_port if args.port is None else args.port,
        )
    finally:
        engine.store.close()


def _port(text: str) -> int:
    """A TCP port number, 0 (any free port) to 65535."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_PORT:
        raise argparse.ArgumentTypeError(f"not a port number: {text[:20]!r}")
    return int(text)


def _moment(text: str) -> datetime:
    """An ISO moment; without a zone it is school time (Europe/Amsterdam)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SCHOOL_TZ)


def _demo(args: argparse.Namespace) -> int:
    if not _start_logging(console=True):
        return 2
    names = [f"collega{index}" for index in range(1, args.colleagues + 1)]
    roster = ConsoleRoster(members=["coordinator", *names])
    with tempfile.TemporaryDirectory(prefix="quickscan-demo-") as folder:
        url = f"sqlite:///{Path(folder) / 'demo.sqlite3'}"
        output = args.output or load_settings().output_dir / "demo"
        engine, instruments = _engine(database_url=url, roster=roster, output_dir=output)
        instrument = instruments[DEFAULT_INSTRUMENT]
        assert isinstance(instrument, Quickscan)  # noqa: S101 - checked by Engine()
        try:
            adapter = ConsoleAdapter(engine=engine, roster=roster, show_dms=args.show_dms)
            for line in demo_script(instrument=instrument, names=names, seed=args.seed):
                if line.startswith("#") or "@team:" in line:
                    sys.stdout.write(f"\n{line}\n")
                adapter.feed(line)
        finally:
            engine.store.close()
    return 0


def _rotate_keys(args: argparse.Namespace) -> int:
    """``quickscan sleutel-roteren``: re-seal everything with the newest key.

    Run it after putting a new key first in the variable (the old one after it);
    afterwards the old key can be removed. Safe beside a running bot and safe to
    repeat: only values not yet sealed with the newest key are rewritten.
    """
    cipher = FieldCipher.from_env()
    if not cipher.enabled:
        sys.stderr.write(f"quickscan: set {ENCRYPTION_KEY_ENV} (newest key first) to rotate\n")
        return 2
    url = args.database or load_settings().database_url.get_secret_value()
    store = Store.open(url=url, cipher=cipher)
    try:
        answers = store.rotate_keys()
        checklist = ChecklistStore(engine=store.engine, cipher=cipher).rotate_keys()
        db.checkpoint(engine=store.engine)  # the old ciphertexts must not linger in the WAL
    finally:
        store.close()
    sys.stdout.write(
        f"{answers} open answers and {checklist} checklist values re-sealed with the newest "
        f"key; older keys can now be removed from {ENCRYPTION_KEY_ENV}.\n"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = load_settings()
    instruments = load_instruments(directories=settings.instrument_dirs)
    for identifier, instrument in sorted(instruments.items()):
        sys.stdout.write(f"{identifier}: {instrument.kind}, {instrument.title}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
