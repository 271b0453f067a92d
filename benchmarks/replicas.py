"""Replica scaling: 1, 2 and 4 processes, each with its own Engine, on one PostgreSQL.

Run it from the project root::

    python -m benchmarks.replicas                      # throwaway PostgreSQL (benchmarks/pg.py)
    python -m benchmarks.replicas --members 60 --replicas 1 2 4
    python -m benchmarks.replicas --database-url postgresql://user@host:5432/throwaway

For each replica count a fresh database gets one team whose round is opened with
``/quickscan start`` for ``--members`` members. Then that many OS processes start,
each building its own ``Store`` and ``Engine`` on the same database (as identical
``quickscan`` replicas would), wait at a common start signal, and answer for their
share of the members: ``start`` and every question, one ``Engine.handle`` per
answer, members taken round-robin so every process always has someone to answer
for. The figure is the total answers per second of wall time, from the start
signal until the last process is done; every count runs ``--repeat`` times,
interleaved, and the table gives the median, best and worst. Each member's
events go to one process here; which process gets an event does not matter to the
engine (advisory locks and conditional writes, not in-process state, keep it
right), and the database is checked at the end: every member answered every
question.

The processes share the machine with the PostgreSQL server: on a 2-core machine
more than two replicas mostly share CPU, which the figures show; on a busy
machine the spread between best and worst says how much to trust them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

from adapters.console import PLATFORM, TEAM, WORKSPACE, ConsoleRoster
from benchmarks.engine import (
    BENCH_TIME,
    INSTRUMENT_ID,
    TYPED_ANSWERS,
    FixedClock,
    dm_event,
    member_names,
    send,
    team_event,
)
from benchmarks.pg import PostgresUnavailableError, throwaway_postgres
from bot.core.engine import Engine
from conversations.instrument import Quickscan, load_instruments
from storage.keys import TeamKey
from storage.quickscan.store import Store

KEY = TeamKey(platform=PLATFORM, workspace=WORKSPACE, team=TEAM)


@dataclass(frozen=True, slots=True, kw_only=True)
class Share:
    """What one replica process did."""

    answers: int
    seconds: float


def quickscan() -> Quickscan:
    """The benchmark's instrument."""
    instrument = load_instruments()[INSTRUMENT_ID]
    if not isinstance(instrument, Quickscan):
        msg = f"{INSTRUMENT_ID} is not a quickscan"
        raise TypeError(msg)
    return instrument


def build_engine(*, store: Store, names: Sequence[str], instrument: Quickscan) -> Engine:
    """An engine as a replica builds it (its own, on the shared database)."""
    return Engine(
        store=store,
        instruments={INSTRUMENT_ID: instrument},
        roster=ConsoleRoster(members=names),
        clock=FixedClock(moment=BENCH_TIME),
        output_dir=Path("/nonexistent-quickscan-benchmark"),  # no round closes here
        default_instrument=INSTRUMENT_ID,
    )


def replica(
    url: str, names: Sequence[str], mine: Sequence[str], go: Event, results: multiprocessing.Queue
) -> None:
    """One replica process: its own engine; answer for ``mine`` once ``go`` is set."""
    instrument = quickscan()
    with Store.open(url=url, migrate=False) as store:
        engine = build_engine(store=store, names=names, instrument=instrument)
        questions = len(instrument.questions)
        events = [
            dm_event(user=name, text=TYPED_ANSWERS[(index + step) % len(TYPED_ANSWERS)])
            for step in range(questions)
            for index, name in enumerate(mine)
        ]
        openings = [dm_event(user=name, text="start") for name in mine]
        go.wait()
        tick = time.perf_counter()
        for opening in openings:
            send(engine=engine, event_=opening)
        for answer in events:
            send(engine=engine, event_=answer)
        results.put(Share(answers=len(events), seconds=time.perf_counter() - tick))


def check(*, store: Store, names: Sequence[str], instrument: Quickscan) -> None:
    """Every member answered every question once: the replicas lost nothing."""
    round_ = store.current_round(key=KEY)
    if round_ is None:
        raise RuntimeError("the round vanished")
    participations = store.participations(key=KEY, round_id=round_.id)
    expected = len(instrument.questions)
    short = [p for p in participations if len(store.answers(participation_id=p.id)) != expected]
    if len(participations) != len(names) or short:
        msg = f"{len(short)} of {len(participations)} members lack answers"
        raise RuntimeError(msg)


def run(*, url: str, replicas: int, members: int) -> tuple[int, float]:
    """Open a round on ``url``, let ``replicas`` processes answer; (answers, wall seconds)."""
    instrument = quickscan()
    names = member_names(count=members)
    with Store.open(url=url) as store:
        engine = build_engine(store=store, names=names, instrument=instrument)
        send(engine=engine, event_=team_event(user=names[0], text="/quickscan start"))
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    results: multiprocessing.Queue = context.Queue()
    processes = [
        context.Process(target=replica, args=(url, names, names[index::replicas], go, results))
        for index in range(replicas)
    ]
    for process in processes:
        process.start()
    time.sleep(1.0)  # let every replica import and connect before the signal
    tick = time.perf_counter()
    go.set()
    shares = [results.get(timeout=3600) for _ in processes]
    wall = time.perf_counter() - tick
    for process in processes:
        process.join()
        if process.exitcode != 0:
            msg = f"a replica ended with exit code {process.exitcode}"
            raise RuntimeError(msg)
    with Store.open(url=url, migrate=False) as store:
        check(store=store, names=names, instrument=instrument)
    return sum(share.answers for share in shares), wall


@contextmanager
def fresh_database(*, server_url: str, name: str) -> Iterator[str]:
    """An empty database on the server for one run (dropped afterwards)."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(*, argv: Sequence[str] | None = None) -> None:
    """Run every replica count on its own fresh database; print a table."""
    parser = argparse.ArgumentParser(description="Answers per second with N replicas.")
    parser.add_argument("--members", type=int, default=40, help="members (default 40)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per replica count, interleaved (default 3)"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL server URL whose databases may be created/dropped"
    )
    args = parser.parse_args(argv)
    if args.members < max(args.replicas):
        parser.error("--members must be at least the largest replica count")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    print(f"machine: {os.cpu_count() or '?'} CPUs, Python {sys.version.split()[0]}")
    rows: list[str] = []

    def measure(server_url: str) -> None:
        rates: dict[int, list[float]] = {count: [] for count in args.replicas}
        # Interleaved (1, 2, 4, 1, 2, 4, ...), so a busy moment of the machine does
        # not land on one replica count only.
        for attempt in range(1, args.repeat + 1):
            for count in args.replicas:
                name = f"replicas_{count}_{attempt}"
                with fresh_database(server_url=server_url, name=name) as url:
                    answers, wall = run(url=url, replicas=count, members=args.members)
                rates[count].append(answers / wall)
                print(
                    f"run {attempt}: {count} replica(s), {answers} answers in {wall:.2f} s, "
                    f"{answers / wall:.0f} answers/s"
                )
        for count, measured in rates.items():
            rows.append(
                f"| {count} | {statistics.median(measured):.0f} | {max(measured):.0f} "
                f"| {min(measured):.0f} |"
            )

    if args.database_url:
        measure(args.database_url)
    else:
        try:
            with throwaway_postgres() as server_url:
                measure(server_url)
        except PostgresUnavailableError as error:
            raise SystemExit(f"no PostgreSQL: {error}") from None
    print()
    answers = args.members * len(quickscan().questions)
    print(f"{answers} answers ({args.members} members) per run, {args.repeat} runs per count")
    print("| replicas | answers/s (median) | best | worst |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
