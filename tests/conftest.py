"""Shared fixtures: a real PostgreSQL server, fresh databases, a store, a clock, a testbot.

Storage tests run against SQLite and PostgreSQL alike, and so does ``testbot``: one
engine that tests drive with ``say``/``press`` instead of building their own.
The PostgreSQL server is started by the test set-up itself from the machine's
``initdb``/``pg_ctl`` (or taken from ``QUICKSCAN_TEST_POSTGRES_URL``), so no service
has to be running.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from storage.quickscan.store import Store
from tests.testbot import MEMBERS, TestBot

POSTGRES_URL_ENV = "QUICKSCAN_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "QUICKSCAN_REQUIRE_POSTGRES"
START_TIMEOUT_SECONDS = 60


# Arguments: the pid to wait for, the directory to remove, then the stop command.
_WATCHDOG_SCRIPT = """
pid=$1; root=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$root"
"""


class FakeClock:
    """A controllable clock: the code under test takes ``now`` from it.

    Calling it returns the current (aware UTC) time; ``advance`` moves it on.
    """

    def __init__(self, *, start: datetime) -> None:
        """Start the clock at an aware datetime."""
        if start.tzinfo is None:
            msg = "FakeClock needs an aware datetime"
            raise ValueError(msg)
        self._now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        """The current fake time."""
        return self._now

    @staticmethod
    def default_start() -> datetime:
        """Monday 6 January 2025, 09:00 UTC: the tests' usual "now"."""
        return datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The current fake time (the engine's Clock protocol)."""
        return self._now

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move the clock forward, by a timedelta or timedelta keyword arguments.

        Returns:
            The new current time.
        """
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            msg = "time does not run backwards"
            raise ValueError(msg)
        self._now += step
        return self._now


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at Monday 6 January 2025, 09:00 UTC."""
    return FakeClock(start=FakeClock.default_start())


def _unavailable(reason: str) -> NoReturn:
    """Skip the PostgreSQL tests, or fail when CI demands PostgreSQL."""
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"PostgreSQL required ({REQUIRE_POSTGRES_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def _find_pg_bindir() -> Path | None:
    """The directory with initdb and pg_ctl: PATH first, then the newest Debian install."""
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("pg_ctl") is not None:
        return Path(initdb).parent

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(bindir) / "initdb").exists() and (Path(bindir) / "pg_ctl").exists():
            return Path(bindir)
    return None


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class _LocalPostgres:
    """A throw-away PostgreSQL cluster in a temporary directory."""

    bindir: Path
    root: Path
    port: int
    prefix: list[str]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def run(self, *args: str) -> None:
        """Run a PostgreSQL tool as the cluster's owner."""
        completed = subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS
        )
        if completed.returncode != 0:
            log = self.root / "server.log"
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(
                f"{' '.join(args)} failed ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}\n{server_log}",
                pytrace=False,
            )

    def start(self) -> None:
        """initdb and start the server (pg_ctl -w waits until it accepts connections)."""
        self.run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                # Durability is pointless for a test cluster; speed is not.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c wal_level=minimal",
                "-c max_wal_senders=0",
            ]
        )
        self.run(
            str(self.bindir / "pg_ctl"),
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.root / "server.log"),
            "--options",
            options,
            "--wait",
            f"--timeout={START_TIMEOUT_SECONDS}",
            "start",
        )

    def watch(self, *, pid: int) -> subprocess.Popen[bytes]:
        """Start a watchdog that stops the server should pytest die without teardown.

        A ``timeout`` or Ctrl-C twice kills pytest before its fixtures finish;
        without this the server and its directory would outlive the run.
        """
        return subprocess.Popen(
            ["sh", "-c", _WATCHDOG_SCRIPT, "watchdog", str(pid), str(self.root), *self._stop()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _stop(self) -> list[str]:
        """The command that stops the server at once; the data is thrown away anyway."""
        return [
            *self.prefix,
            str(self.bindir / "pg_ctl"),
            "--pgdata",
            str(self.data_dir),
            "--mode",
            "immediate",
            "stop",
        ]

    def stop(self) -> None:
        """Stop the server."""
        subprocess.run(
            self._stop(), capture_output=True, timeout=START_TIMEOUT_SECONDS, check=False
        )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A libpq URL of a PostgreSQL server on which tests may create databases."""
    configured = os.environ.get(POSTGRES_URL_ENV)
    if configured:
        yield (
            make_url(configured).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        return
    bindir = _find_pg_bindir()
    if bindir is None:
        _unavailable("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin")
    prefix: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the postgres user.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no 'postgres' user to run the server")
        runuser = shutil.which("runuser")
        if runuser is None:
            _unavailable("running as root and 'runuser' is missing")
        prefix = [runuser, "-u", "postgres", "--"]
    # Not under pytest's tmp_path: its parents are private to the current user.
    root = Path(tempfile.mkdtemp(prefix="quickscan-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = _LocalPostgres(bindir=bindir, root=root, port=_free_port(), prefix=prefix)
    watchdog = server.watch(pid=os.getpid())
    try:
        server.start()
        yield f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
    finally:
        watchdog.terminate()
        watchdog.wait(timeout=START_TIMEOUT_SECONDS)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres_database(postgres_server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    name = f"quickscan_test_{uuid.uuid4().hex[:16]}"
    identifier = sql.Identifier(name)
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
    try:
        yield (
            make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    url: str = request.getfixturevalue("fresh_postgres_database")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database, closed after the test."""
    opened = Store.open(url=database_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def testbot_members() -> tuple[str, ...]:
    """The team's members for ``testbot``; a test module may override this fixture."""
    return MEMBERS


@pytest.fixture
def testbot(
    database_url: str, clock: FakeClock, tmp_path: Path, testbot_members: tuple[str, ...]
) -> Iterator[TestBot]:
    """One engine on a fresh database (SQLite and PostgreSQL), driven by ``say``/``press``."""
    bot = TestBot.open(
        database_url=database_url,
        clock=clock,
        output_dir=tmp_path / "output",
        members=testbot_members,
    )
    try:
        yield bot
    finally:
        bot.close()
