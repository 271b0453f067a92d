"""``quickscan kalender``: what the bot will do and when, per team, without changing anything.

Apart from the rest of the command line because it is the one command that only
reads a database another process owns: it must neither create nor migrate it,
and it plans as of a moment of its own (``--clock``) with the bot's own services.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.startup.config import load_settings
from bot.commands.calendar import describe
from bot.core.builder import build_services
from bot.core.ports import RosterRegistry
from conversations.core.clock import SystemClock
from conversations.core.i18n import Catalogue
from conversations.instrument import load_instruments
from storage import db
from storage.crypto import FieldCipher
from storage.quickscan.store import Store
from storage.schedule.store import ScheduleStore

CALENDAR_NO_DATABASE = (
    "quickscan: kalender: deze database bestaat niet; controleer QUICKSCAN_DATABASE_URL (of "
    "--database): kalender maakt geen database aan\n"
)
CALENDAR_SCHEMA_BEHIND = (
    "quickscan: kalender: het schema van de database is niet actueel; start de bot eerst "
    "(quickscan run of serve werkt het bij), kalender wijzigt niets\n"
)


def calendar_overview(args: argparse.Namespace) -> int:
    """``quickscan kalender``: what the bot will do and when, per team.

    Planned as of ``--clock`` (default: now) by the bot's own reminders, with every
    source of pings wired as the running bot wires them, not only read from the
    outbox: the outbox holds what was planned when the bot last ran, so a later
    ``--clock`` would otherwise list pings long past as still to come.

    Only reads: it creates no database and migrates none (the running bot does);
    a missing database or one whose schema is not current is refused.
    """
    settings = load_settings()
    url = args.database or settings.database_url.get_secret_value()
    if not _database_exists(url):
        sys.stderr.write(CALENDAR_NO_DATABASE)
        return 3
    store = Store.open(url=url, migrate=False, cipher=FieldCipher.from_env())
    try:
        with store.engine.connect() as connection:
            current = db.current_revision(connection)
        if current != db.schema_head():
            sys.stderr.write(CALENDAR_SCHEMA_BEHIND)
            return 3
        now = args.clock or SystemClock().now()
        reminders = build_services(
            store=store,
            instruments=load_instruments(directories=settings.instrument_dirs),
            roster=RosterRegistry(),
            clock=_FixedClock(moment=now),
            output_dir=settings.output_dir,  # only named: planning writes no file
        ).reminders
        outbox = ScheduleStore(engine=store.engine)
        teams = store.teams()
        if not teams:
            sys.stdout.write(Catalogue().t("calendar.no_teams") + "\n")
        for team in teams:
            key = team.key
            sys.stdout.write(f"\n== {key.platform}/{key.workspace}/{key.team}\n")
            overview = describe(
                team=team,
                pings=outbox.pings(key=key),
                now=now,
                texts=Catalogue(team.locale),
                planned=reminders.plan(team=team),
            )
            sys.stdout.write("\n".join(overview) + "\n")
    finally:
        store.close()
    return 0


@dataclass(frozen=True, slots=True, kw_only=True)
class _FixedClock:
    """``kalender --clock``: the moment the plan is made as of, standing still."""

    moment: datetime

    def now(self) -> datetime:
        """The fixed moment."""
        return self.moment


def _database_exists(url: str) -> bool:
    """False for a SQLite file that is not there (opening it would create it).

    A server database (PostgreSQL) is asked instead: its schema check refuses an
    empty one, and an unreachable server is ``DATABASE_DOWN``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return True
    return Path(database).is_file()
