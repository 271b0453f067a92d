"""A bot process SIGKILLed at each outbox boundary loses nothing and repeats nothing.

A child process runs the engine and a dispatcher with a recording fake platform
through one round: ``/quickscan start`` (six members invited), five members
submitting their answers, ``/quickscan sluit`` (the result post, its chart
rendered at delivery). Every event carries a delivery id, as platforms send them. The
child kills itself (SIGKILL: no clean-up of any kind) at one injected point:

* inside the start's transaction, right after the round was opened;
* right after the start committed, before anything was sent;
* mid fan-out: before the third invitation reaches the platform;
* mid fan-out, after the platform accepted the third invitation but before the
  outbox recorded it as sent (the at-least-once window);
* inside the close's transaction, right after the round was closed;
* right after the close committed, before the result was posted;
* mid result post: while its chart is rendered, before it reaches the platform,
  and after the platform accepted it but before the outbox recorded it.

Then the bot starts again (later than any claim's lease), and the
platform re-sends every event that was not acknowledged, which is every event
since the kill ("handled before acknowledged"). Afterwards every member has
exactly one invitation and the team exactly one result post. Only in the
at-least-once window does the platform see one send twice, and then it is the
same outbox row (the same id), which is what lets a platform de-duplicate it.

On SQLite and PostgreSQL. The child is this module run as a script.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn, ParamSpec, TypeVar

import pytest

from bot.core.engine import Engine
from bot.delivery.api import Delivery, Limit, SendResult, Sent
from conversations.core.messages import AttachmentKind, Inbound, Outbound, Sender, Where
from conversations.instrument import Quickscan, grade_item_id, load_instruments
from storage.delivery.outbox import OutboxStore
from storage.keys import TeamKey
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store

P = ParamSpec("P")
R = TypeVar("R")

PLATFORM = "crashtest"
WORKSPACE = "w1"
TEAM = "team1"
COORDINATOR = "anna"
MEMBERS = ("anna", "bram", "chris", "dewi", "eva", "fatima")
ANSWERING = ("bram", "chris", "dewi", "eva", "fatima")  # enough for exact figures: a chart
INSTRUMENT = "quickscan-po"
FIRST_RUN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RESTART_AFTER = timedelta(hours=1)  # beyond any claim's lease
FANOUT_KILL_AT = 3  # the third invitation
TIMEOUT_S = 120

# Where the child kills itself.
OPEN_UNCOMMITTED = "open-uncommitted"
OPEN_COMMITTED = "open-committed"
FANOUT = "fanout"
FANOUT_UNMARKED = "fanout-unmarked"
CLOSE_UNCOMMITTED = "close-uncommitted"
CLOSE_COMMITTED = "close-committed"
RESULT_RENDER = "result-render"
RESULT = "result"
RESULT_UNMARKED = "result-unmarked"
CRASH_POINTS = (
    OPEN_UNCOMMITTED,
    OPEN_COMMITTED,
    FANOUT,
    FANOUT_UNMARKED,
    CLOSE_UNCOMMITTED,
    CLOSE_COMMITTED,
    RESULT_RENDER,
    RESULT,
    RESULT_UNMARKED,
)
UNMARKED = frozenset({FANOUT_UNMARKED, RESULT_UNMARKED})


# ------------------------------------------------------------------ the child


def die() -> NoReturn:
    """SIGKILL this process: no finally, no atexit, no flush of anything."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("SIGKILL did not end the process")


@dataclass(frozen=True, slots=True)
class Step:
    """One platform event of the script: who said what in the team channel, with which id."""

    event_id: str
    user: str
    text: str


# Between the two: the members answer. Their walkthrough (tested elsewhere, also
# across a SIGKILL) is not what this test is about, so their submitted answers are
# written straight to the store, once.
START = Step("start", COORDINATOR, "/quickscan start")
CLOSE = Step("close", COORDINATOR, "/quickscan sluit")


def submit_answers(*, store: Store, instrument: Quickscan, now: datetime) -> None:
    """Every answering member submitted every question (skipped when already done)."""
    key = TeamKey(platform=PLATFORM, workspace=WORKSPACE, team=TEAM)
    round_ = store.current_round(key=key)
    if round_ is None:
        return
    answers = {question.id: "+" for question in instrument.questions}
    answers |= {grade_item_id(cluster_id=cluster.id): "7" for cluster in instrument.clusters}
    for user in ANSWERING:
        participation = store.participation(key=key.member(user), round_id=round_.id)
        if participation is None or participation.state is ParticipationState.SUBMITTED:
            continue
        store.save_progress(
            participation_id=participation.id,
            state=ParticipationState.SUBMITTED,
            position=0,
            now=now,
            answers=answers,
            mark_started=True,
            mark_submitted=True,
        )


class FixedClock:
    """The child's time: one moment per run (the restart runs later than the leases)."""

    def __init__(self, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


class Roster:
    """The team channel's members."""

    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=name, display_name=name.title()) for name in MEMBERS]


class RecordingPlatform:
    """A fake platform: appends every accepted message to a file, synced before it returns.

    Dies at the injected point: before accepting the n-th invitation or the result
    post, or right after accepting it (before the outbox records it as sent).
    """

    platform = PLATFORM

    def __init__(self, *, record: Path, crash: str | None) -> None:
        self._record = record
        self._crash = crash
        self._invitations = 0

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        return ()

    def send(self, delivery: Delivery) -> SendResult:
        message = delivery.message
        key = message.key or ""
        kill_here = False
        if key.startswith("invite:"):
            self._invitations += 1
            kill_here = self._invitations == FANOUT_KILL_AT and self._crash in {
                FANOUT,
                FANOUT_UNMARKED,
            }
        elif key.startswith("result:"):
            kill_here = self._crash in {RESULT, RESULT_UNMARKED}
        if kill_here and self._crash in {FANOUT, RESULT}:
            die()
        line = {
            "id": delivery.outbox_id,
            "kind": message.destination.kind.value,
            "team": message.destination.team,
            "user": message.destination.user,
            "key": message.key,
            "join_token": message.join_token is not None,
            "image": message.image is not None and message.image.exists(),
        }
        with self._record.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if kill_here:
            die()
        return Sent()


def _kill_after(method: Callable[P, R]) -> Callable[P, R]:
    """``method``, then SIGKILL: inside the transaction that called it."""

    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        method(*args, **kwargs)
        die()

    return wrapped


def child_main(argv: Sequence[str] | None = None) -> int:
    """Run the script against the database; die at ``--crash`` if given."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--clock", required=True)
    parser.add_argument("--crash", choices=CRASH_POINTS)
    args = parser.parse_args(argv)
    store = Store.open(url=args.database)
    instruments = load_instruments()
    instrument = instruments[INSTRUMENT]
    assert isinstance(instrument, Quickscan)
    clock = FixedClock(datetime.fromisoformat(args.clock))
    engine = Engine(
        store=store,
        instruments=instruments,
        roster=Roster(),
        clock=clock,
        output_dir=args.output,
    )
    dispatcher = engine.dispatcher(
        sender=RecordingPlatform(record=args.record, crash=args.crash), workers=1
    )
    crash = args.crash
    if crash == OPEN_UNCOMMITTED:
        store.open_round = _kill_after(store.open_round)  # type: ignore[method-assign]
    if crash == CLOSE_UNCOMMITTED:
        store.close_round = _kill_after(store.close_round)  # type: ignore[method-assign]
    if crash == RESULT_RENDER:
        render = engine.renderers.render

        def render_then_die(message: Outbound) -> Outbound:
            if message.attachment and message.attachment.kind is AttachmentKind.QUICKSCAN_CHART:
                render(message)
                die()
            return render(message)

        engine.renderers.render = render_then_die  # type: ignore[method-assign]

    dispatcher.run_until_idle()  # what an earlier run left
    for step in (START, CLOSE):
        event = Inbound(
            platform=PLATFORM,
            workspace=WORKSPACE,
            team=TEAM,
            where=Where.TEAM,
            sender=Sender(user=step.user, display_name=step.user.title()),
            text=step.text,
            event_id=step.event_id,
        )
        engine.handle(event)  # committed: the platform may now be acknowledged
        if (crash, step) in {(OPEN_COMMITTED, START), (CLOSE_COMMITTED, CLOSE)}:
            die()
        dispatcher.run_until_idle()
        if step is START:
            submit_answers(store=store, instrument=instrument, now=clock.now())
    store.close()
    return 0


# ------------------------------------------------------------------ the test


@dataclass(frozen=True, slots=True)
class Record:
    """One message as the fake platform accepted it."""

    outbox_id: int
    kind: str
    user: str | None
    key: str | None
    join_token: bool
    image: bool


def child_args(*, database_url: str, tmp_path: Path, moment: datetime) -> list[str]:
    return [
        "--database",
        database_url,
        "--record",
        str(tmp_path / "platform.jsonl"),
        "--output",
        str(tmp_path / "output"),
        "--clock",
        moment.isoformat(),
    ]


def run_killed_child(
    *, database_url: str, tmp_path: Path, crash: str
) -> subprocess.CompletedProcess[str]:
    """The first run, in a process of its own, which kills itself at ``crash``."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.test_outbox_crash",
            *child_args(database_url=database_url, tmp_path=tmp_path, moment=FIRST_RUN),
            "--crash",
            crash,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )


def records(tmp_path: Path) -> list[Record]:
    path = tmp_path / "platform.jsonl"
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        found.append(
            Record(
                outbox_id=data["id"],
                kind=data["kind"],
                user=data["user"],
                key=data["key"],
                join_token=data["join_token"],
                image=data["image"],
            )
        )
    return found


@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_a_kill_at_an_outbox_boundary_loses_and_repeats_nothing(
    database_url: str, tmp_path: Path, crash: str
) -> None:
    killed = run_killed_child(database_url=database_url, tmp_path=tmp_path, crash=crash)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    before = records(tmp_path)
    # The restart: a new engine, store and dispatcher, here (the killed process's
    # memory is gone either way); later than any claim it left behind.
    restart = FIRST_RUN + RESTART_AFTER
    assert (
        child_main(child_args(database_url=database_url, tmp_path=tmp_path, moment=restart)) == 0
    )
    seen = records(tmp_path)
    assert len(seen) > len(before)  # the restart delivered what the kill left

    # Every member invited by exactly one outbox row.
    invitations = [r for r in seen if r.key is not None and r.key.startswith("invite:")]
    rows_per_member = {
        user: {r.outbox_id for r in invitations if r.user == user} for user in MEMBERS
    }
    assert {user: len(rows) for user, rows in rows_per_member.items()} == dict.fromkeys(MEMBERS, 1)
    assert all(r.kind == "dm" for r in invitations)

    # One announcement and one result post, with its chart.
    announcements = {r.outbox_id for r in seen if r.join_token}
    assert len(announcements) == 1
    results = [r for r in seen if r.key is not None and r.key.startswith("result:")]
    assert len({r.outbox_id for r in results}) == 1
    assert all(r.kind == "team" and r.image for r in results)

    # Nothing reached the platform twice, except the one send the kill interrupted
    # after the platform took it: resent once, as the same outbox row.
    repeats = {
        outbox_id: n for outbox_id, n in Counter(r.outbox_id for r in seen).items() if n > 1
    }
    if crash in UNMARKED:
        assert list(repeats.values()) == [2]
        (repeated,) = repeats
        kind = "invite:" if crash == FANOUT_UNMARKED else "result:"
        assert any(r.outbox_id == repeated and (r.key or "").startswith(kind) for r in seen)
    else:
        assert repeats == {}

    # The round was opened once, answered and closed; nothing is left to send.
    store = Store.open(url=database_url)
    try:
        key = TeamKey(platform=PLATFORM, workspace=WORKSPACE, team=TEAM)
        assert store.current_round(key=key) is None
        (closed,) = store.closed_rounds(key=key, instrument_id=INSTRUMENT)
        assert store.round_counts(key=key, round_id=closed.id).finished == len(ANSWERING)
        assert OutboxStore(engine=store.engine).stats().pending == 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(child_main())
