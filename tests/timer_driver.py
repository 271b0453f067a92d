"""A replica of the bot's timer in a process of its own, for tests/test_timer_leader.py.

``replica URL CLOCK_FILE OUTPUT_DIR POLL REPLAN`` runs a ``PingScheduler`` on the
database at URL until SIGTERM (a clean stop) or SIGKILL (a crash); its log goes to
stdout, one line per record, prefixed with the process id. The engine's time is
read from CLOCK_FILE (an ISO moment the test rewrites), so that every replica
agrees on it and the test moves it on between steps.

``hold URL NAME`` takes the leader lock NAME, prints ``held`` or ``refused`` and
then sleeps until it is killed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from bot.calendar.scheduling import PingScheduler
from bot.core.engine import Engine
from conversations.instrument import load_instruments
from storage.db import create_engine_for
from storage.leader import try_lead
from storage.quickscan.store import Store
from tests.testbot import MEMBERS, Roster


class FileClock:
    """The moment written in a file: one clock shared by several processes."""

    def __init__(self, *, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        """The moment in the file (the test replaces the file atomically)."""
        return datetime.fromisoformat(self._path.read_text(encoding="utf-8").strip())


def _replica(args: argparse.Namespace) -> int:
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(process)d %(name)s %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its job chatter is noise here
    stopping = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_term)
    store = Store.open(url=args.url)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster(members=MEMBERS),
        clock=FileClock(path=Path(args.clock_file)),
        output_dir=Path(args.output_dir),
    )
    scheduler = PingScheduler(
        engine=engine,
        poll_every=timedelta(seconds=args.poll),
        replan_every=timedelta(seconds=args.replan),
    )
    try:
        scheduler.start()
        logging.getLogger("timer_driver").info("replica started")
        stopping.wait()
    finally:
        scheduler.stop()
        store.close()
    return 0


def _hold(args: argparse.Namespace) -> int:
    lease = try_lead(engine=create_engine_for(url=args.url), name=args.name)
    sys.stdout.write("held\n" if lease is not None else "refused\n")
    sys.stdout.flush()
    threading.Event().wait()  # until killed
    return 0


def main() -> int:
    """Run the sub-command given on the command line."""
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(required=True)
    replica = commands.add_parser("replica")
    replica.add_argument("url")
    replica.add_argument("clock_file")
    replica.add_argument("output_dir")
    replica.add_argument("poll", type=float)
    replica.add_argument("replan", type=float)
    replica.set_defaults(run=_replica)
    hold = commands.add_parser("hold")
    hold.add_argument("url")
    hold.add_argument("name")
    hold.set_defaults(run=_hold)
    args = parser.parse_args()
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
