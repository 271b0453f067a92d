"""The load test's world: teams on the two fake platforms, and the bot replicas around them.

Slack's teams are channels of one workspace (one bot token is one workspace);
Telegram's teams are supergroups of one bot. Every member of a team, its
coordinator included, answers. The replicas are separate processes of the real
command line (``benchmarks/load_replica.py``) on one PostgreSQL database, each
serving Slack's request URL and Telegram's webhook on its own ports, sending
through the fakes.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from benchmarks.load_replica import TIER_SCALE_ENV
from benchmarks.pg import free_port
from storage import db
from storage.crypto import ENCRYPTION_KEY_ENV, generate_key
from tests.fakes.slack import BOT_TOKEN, BOT_USER, SIGNING_SECRET, FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
SLACK_PATH = "/slack/events"
TELEGRAM_PATH = "/telegram/webhook"
WEBHOOK_SECRET = "load-test-webhook-secret"  # noqa: S105 - the fake's, guards nothing real
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0
_OWN_PREFIXES = ("QUICKSCAN_", "SLACK_", "TELEGRAM_", "LOAD_")


@dataclass(frozen=True, slots=True)
class Team:
    """One team: its channel or group, and its members (the coordinator first)."""

    platform: str
    chat: str | int  # Slack channel id, or Telegram group id
    members: tuple[str, ...] | tuple[int, ...]

    @property
    def coordinator(self) -> str | int:
        """Who starts and closes the round."""
        return self.members[0]


def slack_teams(fake: FakeSlack, *, teams: int, members: int) -> list[Team]:
    """``teams`` channels of ``members`` people each (and the bot) in the fake workspace."""
    fake.add_user(BOT_USER, "quickscan", is_bot=True)
    made = []
    for number in range(teams):
        channel = f"C0LOAD{number:03d}"
        users = tuple(f"U{number:03d}M{index:03d}" for index in range(members))
        for index, user in enumerate(users):
            fake.add_user(user, f"Slack{number}x{index}")
        fake.channels[channel] = [*users, BOT_USER]
        made.append(Team(platform="slack", chat=channel, members=users))
    return made


def telegram_teams(fake: FakeTelegram, *, teams: int, members: int) -> list[Team]:
    """``teams`` supergroups of ``members`` people each; the coordinator is their admin."""
    made = []
    for number in range(teams):
        group = -1_000_000_000 - number
        users = tuple(100_000 + number * 1000 + index for index in range(members))
        for index, user in enumerate(users):
            fake.add_user(user, f"Tg{number}x{index}")
        fake.add_group(group, title=f"Team {number}", admins=users[:1], members=users[1:])
        made.append(Team(platform="telegram", chat=group, members=users))
    return made


def invited(url: str, *, platform: str, chat: str | int) -> set[str]:
    """The members the open round of ``chat`` has a participation for (invited or joined)."""
    engine = db.create_engine_for(url=url)
    query = text(
        "SELECT p.user_ref FROM participations p JOIN rounds r ON p.round_id = r.id "
        "JOIN teams t ON r.team_id = t.id "
        "WHERE t.platform = :platform AND t.team_ref = :team AND r.closed_at IS NULL"
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(query, {"platform": platform, "team": str(chat)}).all()
    finally:
        engine.dispose()
    return {str(row[0]) for row in rows}


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """What every replica is told: the database, the fakes, the configured limits."""

    database_url: str
    slack_api_url: str
    telegram_api_url: str
    directory: Path
    command: str  # "serve" (one HTTP port for both) or "run" (a port per platform)
    slack_messages_per_second: float
    slack_tier_scale: float
    encryption_key: str = ""


@dataclass
class Replica:
    """One running bot process and where it listens."""

    process: subprocess.Popen[bytes]
    slack_port: int
    telegram_port: int
    log: Path


def _environment(config: ReplicaConfig, *, slack_port: int, telegram_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(
        {
            "QUICKSCAN_DATABASE_URL": config.database_url,
            "QUICKSCAN_HTTP_HOST": "127.0.0.1",
            "QUICKSCAN_HTTP_PORT": str(slack_port),
            ENCRYPTION_KEY_ENV: config.encryption_key or generate_key(),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_MODE": "http",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_HOST": "127.0.0.1",
            "SLACK_PORT": str(slack_port),
            "SLACK_API_URL": config.slack_api_url,
            "SLACK_MESSAGES_PER_SECOND": f"{config.slack_messages_per_second:g}",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": config.telegram_api_url,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{telegram_port}{TELEGRAM_PATH}",
            "TELEGRAM_WEBHOOK_PORT": str(telegram_port),
            "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            TIER_SCALE_ENV: f"{config.slack_tier_scale:g}",
            "QUICKSCAN_LOG_FORMAT": "text",
        }
    )
    return env


def start_replicas(config: ReplicaConfig, *, count: int) -> list[Replica]:
    """Start ``count`` replicas (one shared key, so each reads what the others sealed)."""
    key = config.encryption_key or generate_key()
    shared = dataclasses.replace(config, encryption_key=key)
    replicas = []
    for index in range(count):
        slack_port = free_port()
        telegram_port = slack_port if config.command == "serve" else free_port()
        output = config.directory / f"replica{index}"
        output.mkdir(parents=True, exist_ok=True)
        env = _environment(shared, slack_port=slack_port, telegram_port=telegram_port)
        env["QUICKSCAN_OUTPUT_DIR"] = str(output / "output")
        log = config.directory / f"replica{index}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "benchmarks.load_replica", config.command],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        replicas.append(Replica(process, slack_port, telegram_port, log))
    for replica in replicas:
        _wait_listening(replica)
    return replicas


def _wait_listening(replica: Replica) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    for port in {replica.slack_port, replica.telegram_port}:
        while not _accepts(port):
            if replica.process.poll() is not None:
                raise RuntimeError(f"a replica exited at start:\n{tail(replica.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"a replica never listened on {port}:\n{tail(replica.log)}")
            time.sleep(0.1)


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_replicas(replicas: Sequence[Replica]) -> list[int | None]:
    """SIGTERM each replica we started, then wait; their exit codes (None: had to be killed)."""
    for replica in replicas:
        if replica.process.poll() is None:
            replica.process.send_signal(signal.SIGTERM)
    codes: list[int | None] = []
    for replica in replicas:
        try:
            codes.append(replica.process.wait(timeout=STOP_TIMEOUT_S))
        except subprocess.TimeoutExpired:
            replica.process.kill()
            replica.process.wait(timeout=STOP_TIMEOUT_S)
            codes.append(None)
    return codes


def tail(log: Path, *, lines: int = 30) -> str:
    """The end of a replica's log (for a failure message)."""
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
