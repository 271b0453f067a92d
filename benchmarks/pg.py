"""A throwaway PostgreSQL server for the benchmarks, started like the tests' set-up.

``tests/conftest.py`` starts its server inside a pytest fixture and reports
failures through ``pytest.fail``; a benchmark runs outside pytest, so it gets
the same recipe here: ``initdb`` and ``pg_ctl`` from PATH or the newest Debian
install, run as the ``postgres`` user when we are root (PostgreSQL refuses
root), trust authentication on 127.0.0.1 only, durability off (the data is
thrown away), and a watchdog that stops the server should the benchmark be
killed before it can clean up.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 60
MAX_CONNECTIONS = 300  # two replicas' pools and the benchmark's own checks fit easily

# Arguments: the pid to wait for, the directory to remove, then the stop command.
_WATCHDOG = """
pid=$1; root=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$root"
"""


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL binaries here, or the server would not start; the message says why."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: PATH first, then /usr/lib/postgresql/*."""
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("pg_ctl") is not None:
        return Path(initdb).parent

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in Path(path).parent.name.split(".") if part.isdigit())

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(bindir) / "initdb").exists() and (Path(bindir) / "pg_ctl").exists():
            return Path(bindir)
    raise PostgresUnavailableError("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _owner_prefix(root: Path) -> list[str]:
    """The command prefix that runs a tool as the cluster's owner (``postgres`` as root)."""
    if os.geteuid() != 0:
        return []
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailableError("running as root without a 'postgres' user") from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailableError("running as root and 'runuser' is missing")
    os.chown(root, owner.pw_uid, owner.pw_gid)
    return [runuser, "-u", "postgres", "--"]


def _run(prefix: list[str], root: Path, *args: str) -> None:
    completed = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [*prefix, *args], capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
    )
    if completed.returncode != 0:
        log = root / "server.log"
        server_log = log.read_text(errors="replace") if log.exists() else ""
        raise PostgresUnavailableError(
            f"{Path(args[0]).name} failed ({completed.returncode}): "
            f"{completed.stderr.strip()} {server_log[-2000:]}"
        )


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a fresh cluster; yield its libpq URL (database ``postgres``); remove it after."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="quickscan-bench-pg-"))
    prefix = _owner_prefix(root)
    port = free_port()
    data = root / "data"
    stop = [*prefix, str(bindir / "pg_ctl"), "--pgdata", str(data), "--mode", "immediate", "stop"]
    watchdog = subprocess.Popen(  # noqa: S603 - our own arguments
        ["sh", "-c", _WATCHDOG, "watchdog", str(os.getpid()), str(root), *stop],  # noqa: S607
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _run(
            prefix,
            root,
            str(bindir / "initdb"),
            *("--pgdata", str(data), "--username", "postgres", "--auth", "trust"),
            *("--encoding", "UTF8", "--no-sync"),
        )
        options = " ".join(
            [
                f"-p {port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={root}",
                f"-c max_connections={MAX_CONNECTIONS}",
                # Durability is pointless for a throwaway cluster; speed is not.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        _run(
            prefix,
            root,
            str(bindir / "pg_ctl"),
            *("--pgdata", str(data), "--log", str(root / "server.log")),
            *("--options", options, "--wait", f"--timeout={START_TIMEOUT_S}", "start"),
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        watchdog.terminate()
        watchdog.wait(timeout=START_TIMEOUT_S)
        subprocess.run(stop, capture_output=True, timeout=START_TIMEOUT_S, check=False)  # noqa: S603
        shutil.rmtree(root, ignore_errors=True)
