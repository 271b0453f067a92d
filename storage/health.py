"""Readiness: can this process serve events against its database right now?

``quickscan serve`` answers ``/readyz`` from here, every few seconds per replica,
so a load balancer stops sending events to a replica whose database is away or
whose schema is behind the code (an upgrade half-rolled out). The check reads one
row (Alembic's version table) and never writes; it runs the migrations' scripts
directory only to learn the head, which Alembic reads from the files on disk.

The reason given is safe to show to anyone who can reach the endpoint: it names
what is wrong, never the database URL, a password, a host or SQL. Connection
errors are reduced to their type for the same reason (a driver's message can
quote the URL).

How long an unreachable server takes to report depends on the engine's connect
timeout: ``create_engine_for`` leaves the driver's default (psycopg waits for the
operating system, which refuses a closed port at once but may wait long for a
host that drops packets). A caller that needs a bound should pass an engine made
with ``connect_args={"connect_timeout": seconds}``, or run the check with its
own deadline; this module adds no thread or timer of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from storage.db import alembic_config

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """Whether the database is ready, and if not, why (content-free).

    Attributes:
        ok: The database answered and its schema is at the migrations' head.
        reason: "ready", or what is wrong; never a URL, a host, a password or SQL.
    """

    ok: bool
    reason: str


@cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the packaged migrations.

    Cached: the scripts on disk do not change while the process runs, and parsing
    every migration file on each probe would cost more than the probe itself.
    """
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.get_heads())


def database_ready(*, engine: Engine) -> Readiness:
    """Check that ``engine``'s database answers and is migrated to head.

    Opens one connection (from the pool when one is idle), reads the Alembic
    version table and gives the connection back; no transaction stays open.

    Args:
        engine: The engine the bot's store uses.

    Returns:
        ``Readiness(ok=True, reason="ready")``, or ``ok=False`` with one of
        "database unreachable (<ErrorType>)", "migrations behind: <current> != <head>"
        (``current`` is "none" on a database never migrated).
    """
    try:
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # any failure to reach or read the database means not ready
        # The type only: a driver's message may carry the host, user or URL.
        _LOG.warning("readiness: database unreachable (%s)", type(error).__name__)
        return Readiness(ok=False, reason=f"database unreachable ({type(error).__name__})")
    head = head_revisions()
    if current != head:
        reason = f"migrations behind: {_revisions(current)} != {_revisions(head)}"
        return Readiness(ok=False, reason=reason)
    return Readiness(ok=True, reason="ready")


def _revisions(revisions: frozenset[str]) -> str:
    """Revision ids in a stable order, "none" for an unmigrated database."""
    return ",".join(sorted(revisions)) or "none"
