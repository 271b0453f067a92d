"""The ``quickscan`` command: run the bot, play a demo, check instrument files."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from adapters.console import DEFAULT_MEMBERS, ConsoleAdapter, ConsoleRoster
from bot.calendar_commands import describe
from bot.clock import Clock, ShiftedClock, SystemClock
from bot.config import load_settings
from bot.deadline import SCHOOL_TZ
from bot.demo import demo_script
from bot.engine import DEFAULT_INSTRUMENT, Engine
from bot.i18n import Catalogue
from bot.ports import Deliverers, Roster, RosterRegistry
from bot.runner import build_runners, run_all
from bot.scheduling import PingScheduler
from conversations.instrument import Checklist, InstrumentError, Quickscan, load_instruments
from storage.schedule_store import ScheduleStore
from storage.store import Store

Instruments = dict[str, Quickscan | Checklist]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "kalender":
            return _calendar(args)
        return _check(args)
    except InstrumentError as error:
        sys.stderr.write(f"quickscan: instrument file invalid: {error}\n")
        return 2


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
    store = Store.open(url=database_url)
    engine = Engine(
        store=store,
        instruments=instruments,
        roster=roster,
        clock=clock or SystemClock(),
        output_dir=output_dir or settings.output_dir,
    )
    return engine, instruments


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    database_url = args.database or settings.database_url
    if settings.platforms != ("console",):
        rosters = RosterRegistry()
        engine, _instruments = _engine(database_url=database_url, roster=rosters)
        try:
            runners = build_runners(platforms=settings.platforms, engine=engine, rosters=rosters)
        except ValueError as error:  # an incomplete Slack/Telegram configuration
            engine.store.close()
            sys.stderr.write(f"quickscan: {error}\n")
            return 2
        deliverers = Deliverers()
        for platform, runner in zip(settings.platforms, runners, strict=True):
            deliverers.register(platform=platform, deliver=runner.deliver)
        scheduler = PingScheduler(engine=engine, deliver=deliverers.deliver)
        scheduler.start()
        try:
            run_all(runners)
        finally:
            scheduler.stop()
            engine.store.close()
        return 0
    roster = ConsoleRoster(members=[m.strip() for m in args.members.split(",") if m.strip()])
    clock = ShiftedClock(base=SystemClock(), start=args.clock)
    engine, _instruments = _engine(database_url=database_url, roster=roster, clock=clock)
    try:
        adapter = ConsoleAdapter(engine=engine, roster=roster, clock=clock)
        adapter.deliver(engine.tick())  # pings missed while the bot was down, once
        adapter.run(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        engine.store.close()
    return 0


def _moment(text: str) -> datetime:
    """An ISO moment; without a zone it is school time (Europe/Amsterdam)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SCHOOL_TZ)


def _demo(args: argparse.Namespace) -> int:
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


def _calendar(args: argparse.Namespace) -> int:
    """``quickscan kalender``: what the bot will do and when, per team."""
    settings = load_settings()
    store = Store.open(url=args.database or settings.database_url)
    try:
        outbox = ScheduleStore(engine=store.engine)
        now = args.clock or SystemClock().now()
        teams = store.teams()
        if not teams:
            sys.stdout.write(Catalogue().t("calendar.no_teams") + "\n")
        for team in teams:
            key = team.key
            sys.stdout.write(f"\n== {key.platform}/{key.workspace}/{key.team}\n")
            overview = describe(
                team=team, pings=outbox.pings(key=key), now=now, texts=Catalogue(team.locale)
            )
            sys.stdout.write(overview + "\n")
    finally:
        store.close()
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = load_settings()
    instruments = load_instruments(directories=settings.instrument_dirs)
    for identifier, instrument in sorted(instruments.items()):
        sys.stdout.write(f"{identifier}: {instrument.kind}, {instrument.title}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
