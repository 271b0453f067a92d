"""Benchmark of the engine's answer path, a bare-insert floor, and the merge.

Run it from the project root::

    python -m benchmarks.engine                   # SQLite temp file, then a throwaway PostgreSQL
    python -m benchmarks.engine --sqlite-only --members 200
    python -m benchmarks.engine --database-url postgresql://user@host:5432/throwaway

The throwaway PostgreSQL server is started as the tests start theirs
(benchmarks/pg.py: initdb + pg_ctl, durability off); without PostgreSQL binaries
the run says so and reports SQLite only. Replica scaling is benchmarks/replicas.py.

What it measures:

* engine: a round is started with ``/quickscan start`` in the team channel, then every
  member types ``start`` and 48 answers in their DM. Each answer is one
  ``Engine.handle`` call, timed on its own; the engine commits the answer and queues
  the next prompt in the outbox, in one transaction, before it returns, so the time
  includes the database round trips.
* delivery: every message the run queued is claimed, sent to a platform that
  accepts everything at once, and recorded as sent, one row at a time in id order
  (``Dispatcher.run_until_idle``): what one delivery worker costs per message,
  without the platform's own latency.
* floor: the same number of answer rows written with a bare SQLAlchemy Core INSERT,
  one transaction per row, into a scratch table shaped like ``answers`` in the same
  database, through the same SQLAlchemy engine (same pool and settings). This is what
  one committed row costs at least; the ratio says how much the engine adds.
* merge: ``bot.results.merge.merge`` over synthetic complete responses held in memory, and
  ``Store.submitted_answers`` + merge over the members' real round.

Only the engine's public API is used. The figures block at the end is meant to be
copied into the README.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text, event, insert
from sqlalchemy.engine import Engine as SQLEngine

from adapters.console import PLATFORM, TEAM, WORKSPACE, ConsoleRoster
from bot.core.engine import Engine
from bot.delivery.api import Delivery, Limit, SendResult, Sent
from bot.results.merge import merge
from conversations.core.messages import Inbound, Sender, Where
from conversations.instrument import Quickscan, grade_item_id, load_instruments, open_item_id
from storage.delivery.outbox import OutboxStore
from storage.keys import TeamKey
from storage.models.base import UTCDateTime
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store

INSTRUMENT_ID = "quickscan-po"
TYPED_ANSWERS = ("++", "+", "+/-", "-", "--", "?")
"""What members type, cycled so every option of the scale is used."""
OPEN_TEXTS = (
    "Meer contact met ouders die we weinig zien.",
    "Kennismakingsgesprekken aan het begin van het schooljaar.",
    "Eerst in het team bespreken wat we onder samenwerken verstaan.",
)
FLOOR_TABLE = "bench_floor_answers"
MERGE_REPEATS = 5
BENCH_TIME = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class FixedClock:
    """A clock that always says the same moment, so runs are repeatable."""

    def __init__(self, *, moment: datetime) -> None:
        self._moment = moment

    def now(self) -> datetime:
        """The fixed moment."""
        return self._moment


@dataclass
class DatabaseCounter:
    """Counts statements, commits and pool checkouts seen by a SQLAlchemy engine.

    A pool checkout is one store transaction; on PostgreSQL each checkout also
    costs a ``SELECT 1`` round trip (``pool_pre_ping``), which the statement count
    does not see because SQLAlchemy sends the ping outside its event hooks.
    """

    queries: int = 0
    commits: int = 0
    checkouts: int = 0

    def attach(self, *, engine: SQLEngine) -> None:
        """Start counting on ``engine``."""
        event.listen(engine, "before_cursor_execute", self._on_query)
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "checkout", self._on_checkout)

    def snapshot(self) -> tuple[int, int, int]:
        """The current counts as (queries, commits, checkouts)."""
        return self.queries, self.commits, self.checkouts

    def _on_query(self, *args: Any) -> None:
        self.queries += 1

    def _on_commit(self, *args: Any) -> None:
        self.commits += 1

    def _on_checkout(self, *args: Any) -> None:
        self.checkouts += 1


class NullPlatform:
    """A platform that accepts every message at once: delivery's own cost only."""

    platform = PLATFORM

    def limits(self, delivery: Delivery) -> Sequence[Limit]:
        """No rate limits."""
        return ()

    def send(self, delivery: Delivery) -> SendResult:
        """Accepted."""
        return Sent()


@dataclass(frozen=True, slots=True, kw_only=True)
class Latencies:
    """Per-call timings in seconds, with the summary figures the report needs."""

    samples: Sequence[float]

    @property
    def count(self) -> int:
        """Number of timed calls."""
        return len(self.samples)

    @property
    def per_second(self) -> float:
        """Calls per second of timed work (time between calls not counted)."""
        return len(self.samples) / sum(self.samples)

    @property
    def mean_ms(self) -> float:
        """Mean latency in milliseconds."""
        return statistics.fmean(self.samples) * 1000

    def percentile_ms(self, *, fraction: float) -> float:
        """Nearest-rank percentile in milliseconds (``fraction`` 0.5 is the median)."""
        ordered = sorted(self.samples)
        rank = min(max(1, math.ceil(fraction * len(ordered))), len(ordered))
        return ordered[rank - 1] * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineRun:
    """What the engine part of the benchmark measured."""

    latencies: Latencies
    cpu_ms_per_answer: float
    queries_per_answer: float
    commits_per_answer: float
    checkouts_per_answer: float
    start_seconds: float
    round_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeated:
    """Best and median of a repeated measurement, in milliseconds."""

    best_ms: float
    median_ms: float


def parse_args(*, argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Time the engine's answer path, a bare-insert floor and the merge."
    )
    parser.add_argument(
        "--members", type=int, default=50, help="members in the round (default 50)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help=(
            "SQLAlchemy URL of an EMPTY, THROWAWAY database (e.g. postgresql://…); "
            "default: a fresh SQLite file in a temporary directory"
        ),
    )
    parser.add_argument(
        "--sqlite-only",
        action="store_true",
        help="skip the run on a throwaway PostgreSQL server",
    )
    parser.add_argument(
        "--merge-responses",
        type=int,
        default=10_000,
        help="synthetic complete responses for the merge timing (default 10000)",
    )
    args = parser.parse_args(argv)
    if args.members < 1:
        parser.error("--members must be at least 1")
    if args.merge_responses < 1:
        parser.error("--merge-responses must be at least 1")
    return args


def member_names(*, count: int) -> list[str]:
    """Stable member ids; the first one is the coordinator who starts the round."""
    return [f"member{number:04d}" for number in range(1, count + 1)]


def team_event(*, user: str, text: str) -> Inbound:
    """Something said in the team channel, as the console adapter builds it."""
    return Inbound(
        platform=PLATFORM,
        workspace=WORKSPACE,
        team=TEAM,
        where=Where.TEAM,
        sender=Sender(user=user, display_name=user),
        text=text,
    )


def dm_event(*, user: str, text: str) -> Inbound:
    """Something typed in a member's DM, as the console adapter builds it."""
    return Inbound(
        platform=PLATFORM,
        workspace=WORKSPACE,
        team=TEAM,
        where=Where.DM,
        sender=Sender(user=user, display_name=user),
        text=text,
    )


def send(*, engine: Engine, event_: Inbound) -> None:
    """Handle an event and insist the engine answered it (a prompt or a reply)."""
    if not engine.handle(event_):
        msg = f"the engine did not reply to {event_.sender.user}: {event_.text!r}"
        raise RuntimeError(msg)


def run_engine(
    *,
    engine: Engine,
    store: Store,
    counter: DatabaseCounter,
    instrument: Quickscan,
    names: Sequence[str],
    key: TeamKey,
) -> EngineRun:
    """Start a round, let every member answer everything and submit; time each answer."""
    started = time.perf_counter()
    send(engine=engine, event_=team_event(user=names[0], text="/quickscan start"))
    start_seconds = time.perf_counter() - started
    round_ = store.current_round(key=key)
    if round_ is None:
        msg = "'/quickscan start' did not open a round"
        raise RuntimeError(msg)

    samples: list[float] = []
    cpu_seconds = 0.0
    queries = commits = checkouts = 0
    for member_index, name in enumerate(names):
        send(engine=engine, event_=dm_event(user=name, text="start"))
        for question_index in range(len(instrument.questions)):
            typed = TYPED_ANSWERS[(member_index + question_index) % len(TYPED_ANSWERS)]
            answer = dm_event(user=name, text=typed)
            before = counter.snapshot()
            tick, cpu_tick = time.perf_counter(), time.process_time()
            replies = engine.handle(answer)
            samples.append(time.perf_counter() - tick)
            cpu_seconds += time.process_time() - cpu_tick
            after = counter.snapshot()
            queries += after[0] - before[0]
            commits += after[1] - before[1]
            checkouts += after[2] - before[2]
            if not replies:
                msg = f"no reply to answer {question_index + 1} of {name}"
                raise RuntimeError(msg)
        # The closing page (not timed): grades, open answers, then send.
        for cluster_index, _cluster in enumerate(instrument.clusters):
            grade = 5 + (member_index + cluster_index) % 5
            send(engine=engine, event_=dm_event(user=name, text=str(grade)))
        for question_index, _question in enumerate(instrument.closing.open_questions):
            text = OPEN_TEXTS[(member_index + question_index) % len(OPEN_TEXTS)]
            send(engine=engine, event_=dm_event(user=name, text=text))
        send(engine=engine, event_=dm_event(user=name, text="versturen"))

    check_round(store=store, key=key, round_id=round_.id, instrument=instrument, names=names)
    answers = len(samples)
    return EngineRun(
        latencies=Latencies(samples=samples),
        cpu_ms_per_answer=cpu_seconds * 1000 / answers,
        queries_per_answer=queries / answers,
        commits_per_answer=commits / answers,
        checkouts_per_answer=checkouts / answers,
        start_seconds=start_seconds,
        round_id=round_.id,
    )


def check_round(
    *, store: Store, key: TeamKey, round_id: int, instrument: Quickscan, names: Sequence[str]
) -> None:
    """Make sure the benchmark did what it claims: every member submitted everything."""
    participations = store.participations(key=key, round_id=round_id)
    submitted = [p for p in participations if p.state is ParticipationState.SUBMITTED]
    if len(participations) != len(names) or len(submitted) != len(names):
        msg = (
            f"expected {len(names)} submitted participations, found "
            f"{len(submitted)} of {len(participations)}"
        )
        raise RuntimeError(msg)
    expected_items = (
        len(instrument.questions)
        + len(instrument.clusters)
        + len(instrument.closing.open_questions)
    )
    for participation in participations:
        stored = store.answers(participation_id=participation.id)
        if len(stored) != expected_items:
            msg = f"{participation.key.user} has {len(stored)} answers, expected {expected_items}"
            raise RuntimeError(msg)


def floor_table() -> Table:
    """A scratch table shaped like ``answers``, with the same key and foreign key."""
    metadata = MetaData()
    # Only there so the foreign key can be resolved; it is never created.
    Table("participations", metadata, Column("id", Integer, primary_key=True))
    return Table(
        FLOOR_TABLE,
        metadata,
        Column(
            "participation_id",
            Integer,
            ForeignKey("participations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("item_id", String(64), primary_key=True),
        Column("value", Text, nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


def run_floor(
    *, sql_engine: SQLEngine, participation_ids: Sequence[int], item_ids: Sequence[str]
) -> Latencies:
    """Insert one row per (participation, item), each in its own transaction; time each."""
    table = floor_table()
    table.drop(sql_engine, checkfirst=True)
    table.create(sql_engine)
    samples: list[float] = []
    try:
        for participation_id in participation_ids:
            for index, item_id in enumerate(item_ids):
                statement = insert(table).values(
                    participation_id=participation_id,
                    item_id=item_id,
                    value=TYPED_ANSWERS[index % len(TYPED_ANSWERS)],
                    updated_at=BENCH_TIME,
                )
                tick = time.perf_counter()
                with sql_engine.begin() as connection:
                    connection.execute(statement)
                samples.append(time.perf_counter() - tick)
    finally:
        table.drop(sql_engine)
    return Latencies(samples=samples)


def synthetic_responses(
    *, instrument: Quickscan, count: int, seed: int = 2025
) -> list[dict[str, str]]:
    """Complete responses: every question, every cluster grade and every open answer."""
    rng = random.Random(seed)
    codes = instrument.scale.codes()
    closing = instrument.closing
    responses: list[dict[str, str]] = []
    for _ in range(count):
        response = {question.id: rng.choice(codes) for question in instrument.questions}
        for cluster in instrument.clusters:
            grade = rng.randint(closing.grade_min, closing.grade_max)
            response[grade_item_id(cluster_id=cluster.id)] = str(grade)
        for question in closing.open_questions:
            response[open_item_id(question_id=question.id)] = rng.choice(OPEN_TEXTS)
        responses.append(response)
    return responses


def repeat(*, work: Callable[[], object], times: int = MERGE_REPEATS) -> Repeated:
    """Run ``work`` several times; the best and median wall time in milliseconds."""
    durations: list[float] = []
    for _ in range(times):
        tick = time.perf_counter()
        work()
        durations.append(time.perf_counter() - tick)
    return Repeated(best_ms=min(durations) * 1000, median_ms=statistics.median(durations) * 1000)


def time_merge(
    *, instrument: Quickscan, responses: Sequence[Mapping[str, str]], thresholds: int
) -> Repeated:
    """Time ``merge`` over responses already in memory."""

    def work() -> object:
        return merge(
            instrument=instrument,
            responses=responses,
            invited=len(responses),
            min_respondents=thresholds,
            min_text_respondents=thresholds,
        )

    return repeat(work=work)


def time_round_report(
    *, store: Store, instrument: Quickscan, key: TeamKey, round_id: int
) -> tuple[Repeated, Repeated]:
    """Time reading the round's submitted answers, and reading plus merging them."""
    team = store.get_team(key=key)
    if team is None:
        msg = f"team {key} vanished"
        raise RuntimeError(msg)
    invited = store.round_counts(key=key, round_id=round_id).invited

    def read() -> object:
        return store.submitted_answers(key=key, round_id=round_id)

    def read_and_merge() -> object:
        return merge(
            instrument=instrument,
            responses=store.submitted_answers(key=key, round_id=round_id),
            invited=invited,
            min_respondents=team.min_respondents,
            min_text_respondents=team.min_text_respondents,
        )

    return repeat(work=read), repeat(work=read_and_merge)


def database_label(*, sql_engine: SQLEngine, temporary: bool) -> str:
    """E.g. "sqlite 3.45.1 file" or "postgresql 15.8"."""
    name = sql_engine.dialect.name
    if name == "sqlite":
        return f"sqlite {sqlite3.sqlite_version} {'temp file' if temporary else 'file'}"
    with sql_engine.connect():  # the server version is known once connected
        version = sql_engine.dialect.server_version_info or ()
    return f"{name} {'.'.join(str(part) for part in version)}".strip()


def benchmark(*, url: str, temporary: bool, members: int, merge_responses: int) -> str:
    """Run every part against the database at ``url`` and print the figures."""
    instrument = load_instruments()[INSTRUMENT_ID]
    if not isinstance(instrument, Quickscan):
        msg = f"{INSTRUMENT_ID} is not a quickscan"
        raise TypeError(msg)
    names = member_names(count=members)
    key = TeamKey(platform=PLATFORM, workspace=WORKSPACE, team=TEAM)

    with Store.open(url=url) as store:
        if store.get_team(key=key) is not None:
            msg = "the database already holds the benchmark team: use an empty database"
            raise SystemExit(msg)
        label = database_label(sql_engine=store.engine, temporary=temporary)
        counter = DatabaseCounter()
        counter.attach(engine=store.engine)
        engine = Engine(
            store=store,
            instruments={INSTRUMENT_ID: instrument},
            roster=ConsoleRoster(members=names),
            clock=FixedClock(moment=BENCH_TIME),
            # The benchmark never closes its round, so no chart or export is written.
            output_dir=Path(tempfile.gettempdir()) / "quickscan-benchmark",
            default_instrument=INSTRUMENT_ID,
        )
        print(f"database: {label}")
        print(f"engine: {members} members x {len(instrument.questions)} answers ...")
        run = run_engine(
            engine=engine,
            store=store,
            counter=counter,
            instrument=instrument,
            names=names,
            key=key,
        )
        print(f"  /quickscan start with {members} invitations: {run.start_seconds * 1000:.0f} ms")
        print(
            f"  per answer: {run.queries_per_answer:.1f} queries, "
            f"{run.commits_per_answer:.1f} commits, "
            f"{run.checkouts_per_answer:.1f} pool checkouts (transactions)"
        )

        queued = OutboxStore(engine=store.engine).stats(platform=PLATFORM).pending
        print(f"delivery: {queued} queued messages through one worker ...")
        tick = time.perf_counter()
        delivered = engine.dispatcher(sender=NullPlatform(), workers=1).run_until_idle()
        delivery_seconds = time.perf_counter() - tick
        if delivered != queued:
            msg = f"delivered {delivered} of {queued} queued messages"
            raise RuntimeError(msg)

        print("floor: bare INSERT + commit per row ...")
        participation_ids = [p.id for p in store.participations(key=key, round_id=run.round_id)]
        floor = run_floor(
            sql_engine=store.engine,
            participation_ids=participation_ids,
            item_ids=[question.id for question in instrument.questions],
        )

        print(f"round report: submitted_answers + merge of {members} responses ...")
        read, read_and_merge = time_round_report(
            store=store, instrument=instrument, key=key, round_id=run.round_id
        )

    print(f"merge: {merge_responses} synthetic responses ...")
    responses = synthetic_responses(instrument=instrument, count=merge_responses)
    merged = time_merge(instrument=instrument, responses=responses, thresholds=5)

    engine_ms = run.latencies.mean_ms
    floor_ms = floor.mean_ms
    print()
    print(
        f"machine: {platform.machine()}, {os.cpu_count() or '?'} CPUs, "
        f"Python {platform.python_version()} ({sys.platform})"
    )
    print(
        f"engine: {run.latencies.count} answers, {run.latencies.per_second:.0f} answers/s, "
        f"p50 {run.latencies.percentile_ms(fraction=0.5):.2f} ms, "
        f"p99 {run.latencies.percentile_ms(fraction=0.99):.2f} ms ({label})"
    )
    print(
        f"        {run.queries_per_answer:.1f} queries, "
        f"{run.checkouts_per_answer:.1f} transactions, "
        f"{run.cpu_ms_per_answer:.2f} ms of this process's CPU per answer"
    )
    print(
        f"floor:  bare insert+commit {floor.count} rows, {floor.per_second:.0f} rows/s, "
        f"p50 {floor.percentile_ms(fraction=0.5):.2f} ms, "
        f"p99 {floor.percentile_ms(fraction=0.99):.2f} ms"
    )
    ratio = engine_ms / floor_ms
    print(f"ratio:  engine/floor per answer {ratio:.1f}x (mean latency)")
    print(
        f"delivery: {delivered} messages in {delivery_seconds:.2f} s, "
        f"{delivered / delivery_seconds:.0f} messages/s (one worker, claim + mark sent)"
    )
    print(
        f"merge:  {merge_responses} responses in {merged.best_ms:.0f} ms "
        f"(best of {MERGE_REPEATS}), median {merged.median_ms:.0f} ms"
    )
    print(
        f"report: {members} real responses: submitted_answers {read.best_ms:.1f} ms, "
        f"with merge {read_and_merge.best_ms:.1f} ms (best of {MERGE_REPEATS}), "
        f"median {read_and_merge.median_ms:.1f} ms"
    )
    return (
        f"| {label} | {run.checkouts_per_answer:.1f} | {run.queries_per_answer:.1f} | "
        f"{run.cpu_ms_per_answer:.2f} | "
        f"{run.latencies.per_second:.0f} | {run.latencies.percentile_ms(fraction=0.5):.2f} | "
        f"{run.latencies.percentile_ms(fraction=0.99):.2f} | {floor.per_second:.0f} | "
        f"{ratio:.1f}x |"
    )


SUMMARY_HEADER = (
    "| database | transactions/answer | statements/answer | CPU ms/answer | answers/s "
    "| p50 ms | p99 ms | floor rows/s | engine/floor |\n|---|---|---|---|---|---|---|---|---|"
)


def on_throwaway_postgres(*, members: int, merge_responses: int) -> str | None:
    """The benchmark on a fresh PostgreSQL server (benchmarks/pg.py), or None without one."""
    try:
        from benchmarks.pg import PostgresUnavailableError, throwaway_postgres
    except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
        from pg import PostgresUnavailableError, throwaway_postgres  # type: ignore[no-redef]
    try:
        with throwaway_postgres() as url:
            print()
            return benchmark(
                url=url, temporary=True, members=members, merge_responses=merge_responses
            )
    except PostgresUnavailableError as error:
        print(f"postgresql: not measured ({error})")
        return None


def main(*, argv: Sequence[str] | None = None) -> None:
    """Entry point: a temporary SQLite file unless ``--database-url`` is given."""
    args = parse_args(argv=argv)
    if args.database_url is not None:
        print(
            "warning: --database-url must point at an EMPTY, THROWAWAY database; the "
            "benchmark creates the schema and leaves its rows behind.",
            file=sys.stderr,
        )
        benchmark(
            url=args.database_url,
            temporary=False,
            members=args.members,
            merge_responses=args.merge_responses,
        )
        return
    with tempfile.TemporaryDirectory(prefix="quickscan-bench-") as directory:
        url = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        rows = [
            benchmark(
                url=url, temporary=True, members=args.members, merge_responses=args.merge_responses
            )
        ]
    if not args.sqlite_only:
        row = on_throwaway_postgres(members=args.members, merge_responses=args.merge_responses)
        rows += [row] if row is not None else []
    print()
    print(SUMMARY_HEADER)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
