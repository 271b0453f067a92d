"""Load test: two bot replicas on one PostgreSQL, hundreds of members on fake Slack and Telegram.

Run it from the project root::

    python -m benchmarks.load_replicas --small      # 2 teams x 5 members, about a minute
    python -m benchmarks.load_replicas              # 20 teams x 15 members

A throwaway PostgreSQL server is started (``benchmarks/pg.py``), with the fake
Slack Web API and the fake Telegram Bot API from ``tests/fakes``, and two
replicas of the real command line (``quickscan serve``, or ``run`` with
``--command run``) against one database. Half the teams are Slack channels of
one workspace, half Telegram supergroups. Each team's coordinator starts a
round; every member (the coordinator too) waits for the invitation, then
clicks through all 48 questions, 3 grades, 3 skipped open questions and
"versturen", thinking 0.5-2 s before each click and waiting for the next
question before the next click; when a whole team is done the coordinator
closes the round. Every request goes to the next replica in turn (any event
may reach any replica), signed as Slack signs or with Telegram's webhook
secret.

Printed at the end: answers per second, each request's ack latency (until the
replica's HTTP answer, which comes after the event was committed) and each
click's visible latency (until the member sees the next question),
deliveries per second per platform next to the configured limits, and the
exactly-once checks from the fakes' records and the database. It exits 1 when a
check fails or a member got stuck.

The bot's own limits are kept: Telegram's (30 a second overall, 1 a second
per chat, 20 a minute per group) and Slack's per conversation. Slack's
workspace-wide figures are configuration: new messages per second
(``SLACK_MESSAGES_PER_SECOND``, ``--slack-rate``) and the method tiers
(``--slack-tier-scale``, see ``benchmarks/load_replica.py``), because with
Slack's published Tier 3 (50 chat.update a minute per workspace) the Slack
half alone would take hours. A Telegram member the starting replica cannot
invite (one no replica has seen in the group) would join by the deep link in
the group's announcement, as a person would; the count is printed (the roster
is in the shared database, so it should be 0).

Figures: see the README's Benchmark section (measured on a quiet 2-CPU machine).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.slack.rates import TIER_PER_MINUTE
from benchmarks.load_checks import (
    SLACK_NEW,
    TELEGRAM_SENDS,
    busiest_chat,
    database_checks,
    slack_checks,
    slack_rates,
    telegram_checks,
    telegram_rates,
)
from benchmarks.load_members import (
    Pace,
    Recorder,
    Side,
    SlackSide,
    TelegramSide,
)
from benchmarks.load_report import REPLICAS, Outcome, render
from benchmarks.load_teams import Options, introduce, play_team
from benchmarks.load_watch import ChatState, SlackWatcher, TelegramWatcher
from benchmarks.load_world import (
    SLACK_PATH,
    TELEGRAM_PATH,
    WEBHOOK_SECRET,
    ReplicaConfig,
    Team,
    slack_teams,
    start_replicas,
    stop_replicas,
    tail,
    telegram_teams,
)
from benchmarks.pg import throwaway_postgres
from storage import db
from storage.quickscan.store import Store
from tests.fakes.slack import SIGNING_SECRET, FakeSlack
from tests.fakes.telegram import FakeTelegram

DRAIN_TIMEOUT_S = 600.0
TEAM_STAGGER_S = 0.5  # teams start their rounds half a second apart


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _database(server_url: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE quickscan_load")
    return make_url(server_url).set(database="quickscan_load").render_as_string(False)


def _wait_drained(url: str, *, timeout: float) -> None:
    engine = db.create_engine_for(url=url)
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM outbox_messages WHERE status = 'pending'")
    try:
        while True:
            with engine.connect() as connection:
                if connection.execute(query).scalar_one() == 0:
                    return
            if time.monotonic() > deadline:
                return  # the checks report what is still pending
            time.sleep(0.5)
    finally:
        engine.dispose()


def run(options: Options, *, directory: Path) -> Outcome:
    """Start everything, play every team's round, stop, and check and measure."""
    slack_count = math.ceil(options.teams / 2)
    with (
        throwaway_postgres() as server_url,
        FakeSlack(page_size=1000) as slack,
        FakeTelegram() as telegram,
    ):
        url = _database(server_url)
        Store.open(url=url).close()  # migrated once, before the replicas race to do it
        s_teams = slack_teams(slack, teams=slack_count, members=options.members)
        t_teams = telegram_teams(
            telegram, teams=options.teams - slack_count, members=options.members
        )
        config = ReplicaConfig(
            database_url=url,
            slack_api_url=slack.api_url,
            telegram_api_url=telegram.base_url,
            directory=directory,
            command=options.command,
            slack_messages_per_second=options.slack_rate,
            slack_tier_scale=options.slack_tier_scale,
        )
        _progress(f"starting {REPLICAS} replicas ({options.command})")
        replicas = start_replicas(config, count=REPLICAS)
        slack_chats = [slack.dm_channel(str(u)) for t in s_teams for u in t.members]
        slack_watch = SlackWatcher(
            fake=slack, chats=[*slack_chats, *(str(t.chat) for t in s_teams)]
        )
        tg_chats = [int(u) for t in t_teams for u in t.members] + [int(t.chat) for t in t_teams]
        tg_watch = TelegramWatcher(fake=telegram, chats=tg_chats)
        recorder = Recorder()
        try:
            telegram.wait_for(lambda: len(telegram.calls_of("setWebhook")) >= REPLICAS, timeout=60)
            slack_side = SlackSide(
                fake=slack,
                addresses=[("127.0.0.1", r.slack_port) for r in replicas],
                path=SLACK_PATH,
                secret=SIGNING_SECRET,
            )
            tg_side = TelegramSide(
                fake=telegram,
                ports=[r.telegram_port for r in replicas],
                path=TELEGRAM_PATH,
                secret=WEBHOOK_SECRET,
            )
            slack_watch.start()
            tg_watch.start()
            _progress("Telegram members start the bot and greet their groups")
            introduce(tg_side, t_teams, recorder)
            _progress(f"{options.teams} rounds open; members answer")
            chats: dict[object, ChatState] = {**slack_watch.states, **tg_watch.states}
            began = time.monotonic()
            pairs: list[tuple[Team, Side]] = [(t, slack_side) for t in s_teams]
            pairs += [(t, tg_side) for t in t_teams]
            teams = [
                threading.Thread(
                    target=play_team,
                    args=(team,),
                    kwargs={
                        "side": side,
                        "chats": chats,
                        "options": options,
                        "recorder": recorder,
                        "delay": index * TEAM_STAGGER_S,
                        "url": url,
                    },
                )
                for index, (team, side) in enumerate(pairs)
            ]
            for thread in teams:
                thread.start()
            for thread in teams:
                thread.join()
            answering_s = time.monotonic() - began
            _progress(f"every round closed after {answering_s:.0f} s; waiting for the outbox")
            _wait_drained(url, timeout=DRAIN_TIMEOUT_S)
        finally:
            codes = stop_replicas(replicas)
            slack_watch.stop()
            tg_watch.stop()
        for index, replica in enumerate(replicas):
            print(f"--- replica {index} log (end) ---\n{tail(replica.log, lines=8)}")
        members = options.teams * options.members
        checks = slack_checks(slack, s_teams, slack_watch.states)
        checks += telegram_checks(telegram, t_teams, tg_watch.states)
        checks += database_checks(url, members=members, teams=options.teams)
        details = [
            busiest_chat(
                [
                    (c.chat_id, c.at, c.method)
                    for c in telegram.calls
                    if c.method in TELEGRAM_SENDS
                ],
                platform="Telegram",
                skip={int(t.chat) for t in t_teams},
            ),
            busiest_chat(
                [
                    (c.params.get("channel") or c.params.get("channel_id"), c.at, c.method)
                    for c in slack.calls
                    if c.method in SLACK_NEW | {"chat.update"} and c.status == 200
                ],
                platform="Slack",
                skip=set(),
            ),
        ]
        tg_mean, tg_rates = telegram_rates(telegram, groups={int(t.chat) for t in t_teams})
        update_limit = TIER_PER_MINUTE[3] * options.slack_tier_scale
        slack_mean, s_rates = slack_rates(
            slack, messages_per_second=options.slack_rate, update_per_minute=update_limit
        )
    clicks = sum(len(samples) for samples in recorder.visible.values())
    return Outcome(
        options=options,
        recorder=recorder,
        answering_s=answering_s,
        clicks=clicks,
        checks=checks,
        rates=s_rates + tg_rates,
        deliveries={"slack": slack_mean, "telegram": tg_mean},
        exit_codes=codes,
        details=details,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, print the figures; 1 when anything was lost or doubled."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2 teams x 5 members")
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--members", type=int, default=15)
    parser.add_argument("--command", choices=("serve", "run"), default="serve")
    parser.add_argument(
        "--slack-rate", type=float, default=20.0, help="SLACK_MESSAGES_PER_SECOND of the replicas"
    )
    parser.add_argument(
        "--slack-tier-scale",
        type=float,
        default=20.0,
        help="Slack's method tiers times this (chat.update: 50/min x scale)",
    )
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--wait", type=float, default=300.0, help="seconds a member waits for a reply"
    )
    args = parser.parse_args(argv)
    teams, members = (2, 5) if args.small else (args.teams, args.members)
    options = Options(
        teams=teams,
        members=members,
        command=args.command,
        slack_rate=args.slack_rate,
        slack_tier_scale=args.slack_tier_scale,
        pace=Pace(think_min=args.think[0], think_max=args.think[1], wait_s=args.wait),
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="quickscan-load-") as directory:
        outcome = run(options, directory=Path(directory))
    print()
    print(render(outcome))
    failed = not all(check.ok for check in outcome.checks) or outcome.recorder.errors
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
