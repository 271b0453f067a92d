"""One replica of the bot in its own OS process, and the test's end of the line to it.

tests/test_replicas.py starts several of these against one database, the way
several identical ``quickscan`` processes share one PostgreSQL (or, embedded, one
SQLite file). Each builds its own Engine, so nothing in memory is shared: only the
database can keep them correct.

Protocol, one JSON object per line: the replica prints ``{"ready": true}`` once its
engine is built. For each command it prepares the event, prints
``{"armed": true}`` and waits for the line ``go``, so the test can release every
replica at the same moment; then it prints ``{"replies": [...], "error": ...,
"failures": [...]}``. ``failures`` are the names of the errors the engine logged
while handling the event (never their messages). Commands:

- ``{"op": "say", "user": u, "text": t, "where": "team" | "dm", "event_id": id}``
- ``{"op": "replan"}``: the hourly re-plan of every team (``Engine.replan_all``).
- ``{"op": "quit"}``: exit.

``Replica`` and ``race`` below are the test's side of the same protocol.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.core.engine import Engine
from conversations.core.messages import Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from storage.quickscan.store import Store
from tests.testbot import MEMBERS, TEAM, Roster

ROOT = Path(__file__).resolve().parents[1]
REPLY_TIMEOUT_SECONDS = 120  # a hung replica fails the test instead of hanging it


class FixedClock:
    """The replicas' time: the moment the test chose, the same in every process."""

    def __init__(self, *, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at


class FailureNames(logging.Handler):
    """Collects the exception type names of what the engine logged as failed."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            self.names.append(record.exc_info[0].__name__)
        else:
            self.names.append(record.levelname)


def answer(line: dict[str, Any]) -> None:
    """One protocol line to the test, at once (the test waits for it)."""
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def reply_fields(message: Outbound) -> dict[str, Any]:
    """What a test needs of a reply: where it goes, its text and its dedupe key."""
    return {
        "kind": message.destination.kind.value,
        "user": message.destination.user,
        "text": message.text,
        "key": message.key,
    }


def prepare(engine: Engine, command: dict[str, Any]) -> Callable[[], list[Outbound]]:
    """The work one command stands for, ready to run at the test's signal."""
    if command["op"] == "replan":

        def replan() -> list[Outbound]:
            engine.replan_all()
            return []

        return replan
    event = Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        where=Where.TEAM if command["where"] == "team" else Where.DM,
        sender=Sender(user=command["user"], display_name=command["user"].title()),
        text=command["text"],
        event_id=command["event_id"],
    )
    return lambda: engine.handle(event)


def serve(*, url: str, at: datetime, output_dir: Path) -> None:
    """Build one engine on ``url`` and run commands until ``quit`` or end of input."""
    failures = FailureNames()
    logging.getLogger().addHandler(failures)
    store = Store.open(url=url, migrate=False)
    engine = Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster(members=MEMBERS),
        clock=FixedClock(at=at),
        output_dir=output_dir,
    )
    try:
        answer({"ready": True})
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "quit":
                return
            work = prepare(engine, command)
            answer({"armed": True})
            if sys.stdin.readline().strip() != "go":
                return
            failures.names.clear()
            error = None
            replies: list[Outbound] = []
            try:
                replies = work()
            except Exception as raised:  # reported to the test, which fails on it
                error = type(raised).__name__
            result = {
                "replies": [reply_fields(reply) for reply in replies],
                "error": error,
                "failures": failures.names,
            }
            answer(result)
    finally:
        store.close()


# ------------------------------------------------------------ the test's end


class Replica:
    """One replica process, spoken to line by line."""

    def __init__(self, *, url: str, at: datetime, output_dir: Path, log: Path) -> None:
        self._log = log
        self._stderr = log.open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.replica_driver", url, at.isoformat(), str(output_dir)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.read() == {"ready": True}

    def _pipe(self, name: str) -> IO[str]:
        pipe = getattr(self._process, name)
        assert pipe is not None
        return pipe  # type: ignore[no-any-return]  # Popen's pipes are typed Optional[IO]

    def write(self, line: str) -> None:
        stdin = self._pipe("stdin")
        stdin.write(line + "\n")
        stdin.flush()

    def read(self) -> dict[str, Any]:
        """The replica's next line; fails with its log when it died or hung."""
        stdout = self._pipe("stdout")
        ready, _, _ = select.select([stdout], [], [], REPLY_TIMEOUT_SECONDS)
        line = stdout.readline() if ready else ""
        if not line:
            self._process.kill()
            self._process.wait()
            msg = f"replica gave no answer:\n{self._log.read_text(errors='replace')}"
            raise AssertionError(msg)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._process.poll() is None:
            self.write(json.dumps({"op": "quit"}))
            self._process.wait(timeout=REPLY_TIMEOUT_SECONDS)
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()
        self._stderr.close()


@dataclass(frozen=True)
class Outcome:
    """What one replica did with its command."""

    replies: list[dict[str, Any]]
    error: str | None
    failures: list[str]

    @property
    def clean(self) -> bool:
        return self.error is None and not self.failures


def race(replicas: Sequence[Replica], commands: Sequence[dict[str, Any]]) -> list[Outcome]:
    """Give each replica its command, then release them all at once."""
    for replica, command in zip(replicas, commands, strict=True):
        replica.write(json.dumps(command))
    for replica in replicas:
        assert replica.read() == {"armed": True}
    for replica in replicas:
        replica.write("go")
    return [Outcome(**replica.read()) for replica in replicas]


class Counter:
    """Unique event ids across the test (a redelivery would be ignored)."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> str:
        self._next += 1
        return f"replica-test-{self._next}"


def say(event_id: str, user: str, text: str, *, where: str) -> dict[str, Any]:
    return {"op": "say", "user": user, "text": text, "where": where, "event_id": event_id}


if __name__ == "__main__":
    serve(url=sys.argv[1], at=datetime.fromisoformat(sys.argv[2]), output_dir=Path(sys.argv[3]))
