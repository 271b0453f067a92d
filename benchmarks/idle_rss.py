"""Idle memory of ``quickscan run`` on the console (and ``quickscan serve``): VmRSS.

Run it from the project root (Linux: it reads ``/proc/<pid>/status``)::

    python benchmarks/idle_rss.py
    SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… python benchmarks/idle_rss.py --serve

``quickscan run`` starts twice on one SQLite file in a temporary directory (the
first start creates the schema, the second is every later start), with no
platform token (so it is the console) and its standard input held open, so it
waits for the first line. ``--serve`` also starts ``quickscan serve`` the same way
on a free port, with the caller's platform settings: serve needs a platform, and
the platform's API must be reachable for it to start. Once the process sleeps
and its resident set has not changed for a while it counts as idle, and its
VmRSS (and VmHWM, the peak) are printed with the heavy libraries it loaded. The
process is then stopped. Figures only: nothing here asserts on memory.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

QUICKSCAN = Path(sys.executable).with_name("quickscan")
SETTLE_SECONDS = 2.0
"""How long VmRSS must stay the same (while the process sleeps) to count as idle."""
POLL_SECONDS = 0.2
START_TIMEOUT_SECONDS = 120.0
TARGET_MB = 80
HEAVY = ("matplotlib", "numpy", "PIL", "kiwisolver", "lxml")
"""Compiled libraries worth naming when mapped at idle (``/proc/<pid>/maps``); which
pure-Python modules load is tests/test_lean_start.py's business."""
_PLATFORM = ("SLACK_", "TELEGRAM_")


@dataclass(frozen=True, slots=True, kw_only=True)
class Idle:
    """What an idle process holds."""

    rss_kb: int
    peak_kb: int
    seconds_to_idle: float
    heavy_loaded: tuple[str, ...]


def status_kb(*, pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    msg = f"no {field} in /proc/{pid}/status"
    raise RuntimeError(msg)


def state(*, pid: int) -> str:
    """The process state letter (S = sleeping, R = running)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("State:"):
            return line.split()[1]
    return "?"


def heavy_loaded(*, pid: int) -> tuple[str, ...]:
    """Which of ``HEAVY`` have files mapped into the process (compiled parts, mostly)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return tuple(name for name in HEAVY if f"/{name}/" in maps or f"/{name}." in maps)


def wait_idle(*, process: subprocess.Popen[bytes], started: float) -> Idle:
    """Poll until the process sleeps with an unchanged VmRSS for ``SETTLE_SECONDS``."""
    pid = process.pid
    last, since = -1, time.monotonic()
    while time.monotonic() - started < START_TIMEOUT_SECONDS:
        if process.poll() is not None:
            msg = f"the process ended early with exit code {process.returncode}"
            raise RuntimeError(msg)
        rss = status_kb(pid=pid, field="VmRSS")
        now = time.monotonic()
        if rss != last or state(pid=pid) != "S":
            last, since = rss, now
        elif now - since >= SETTLE_SECONDS:
            return Idle(
                rss_kb=rss,
                peak_kb=status_kb(pid=pid, field="VmHWM"),
                seconds_to_idle=since - started,
                heavy_loaded=heavy_loaded(pid=pid),
            )
        time.sleep(POLL_SECONDS)
    msg = f"not idle after {START_TIMEOUT_SECONDS:.0f} s"
    raise RuntimeError(msg)


def clean_environment(*, directory: Path, platform: bool) -> dict[str, str]:
    """No quickscan settings, platform settings only if asked; data in ``directory``."""
    dropped = ("QUICKSCAN_",) if platform else ("QUICKSCAN_", *_PLATFORM)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(dropped)
    }
    environment["HOME"] = str(directory)
    environment["XDG_DATA_HOME"] = str(directory / "data")
    environment["QUICKSCAN_OUTPUT_DIR"] = str(directory / "output")
    return environment


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def measure(*, arguments: Sequence[str], directory: Path, platform: bool = False) -> Idle:
    """Start ``quickscan <arguments>`` with stdin held open; measure it once idle; stop it."""
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own executable and arguments, no shell
        [str(QUICKSCAN), *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_environment(directory=directory, platform=platform),
        cwd=directory,
    )
    try:
        return wait_idle(process=process, started=started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdin is not None:
            process.stdin.close()


def report(*, name: str, idle: Idle) -> None:
    """One line per command."""
    rss_mb = idle.rss_kb / 1024
    verdict = "below" if rss_mb < TARGET_MB else "ABOVE"
    heavy = ", ".join(idle.heavy_loaded) or "none"
    print(
        f"{name}: idle VmRSS {rss_mb:.1f} MB ({verdict} the {TARGET_MB} MB target), "
        f"peak {idle.peak_kb / 1024:.1f} MB, idle after {idle.seconds_to_idle:.1f} s; "
        f"heavy libraries mapped: {heavy}"
    )


def main(*, argv: Sequence[str] | None = None) -> None:
    """Measure ``quickscan run`` on the console, then (``--serve``) ``quickscan serve``."""
    parser = argparse.ArgumentParser(description="Idle VmRSS of quickscan run / serve.")
    parser.add_argument(
        "--serve", action="store_true", help="also quickscan serve (needs a platform's settings)"
    )
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        raise SystemExit("needs Linux /proc")
    print(f"Python {sys.version.split()[0]}, {QUICKSCAN}")
    with tempfile.TemporaryDirectory(prefix="quickscan-rss-") as name:
        directory = Path(name)
        url = f"sqlite:///{directory / 'run.sqlite3'}"
        # The first start creates the schema with Alembic, which then stays loaded; every
        # later start finds the schema current and never imports it (storage/db.py).
        for name in ("first start, creates the schema", "restart, schema current"):
            report(
                name=f"quickscan run (console, {name})",
                idle=measure(arguments=["run", "--database", url], directory=directory),
            )
        if args.serve:
            serve_url = f"sqlite:///{directory / 'serve.sqlite3'}"
            arguments = ["serve", "--port", str(free_port()), "--database", serve_url]
            idle = measure(arguments=arguments, directory=directory, platform=True)
            report(name="quickscan serve", idle=idle)


if __name__ == "__main__":
    main()
