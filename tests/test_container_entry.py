"""The container's own command, run as two replicas against one PostgreSQL database.

These machines cannot build images, so the Dockerfile's path is exercised here:
its final stage's ENV, HEALTHCHECK, ENTRYPOINT and CMD are read from the file (a
change there changes what runs here) and the command is started twice, at the
same moment, as compose.yaml starts its two replicas. Both migrate the same fresh
database at once, answer /healthz and /readyz (and the image's health check), each
handles a signed Slack slash command, and each exits 0 on SIGTERM.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import inspect

from storage import db
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackTeam, add_school
from tests.fakes.slack.world import wait_until
from tests.fakes.telegram import free_port
from tests.test_slack_process import clean_environment, wait_for_port

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"
REPLICAS = 2
WAIT_S = 60.0
# Each process waits for a file to appear, so both start migrating at the same moment.
_MIGRATE = """
import sys, time, pathlib
from storage import db
go = pathlib.Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
db.migrate(engine=db.create_engine_for(url=sys.argv[1]))
"""


@dataclass(frozen=True)
class Image:
    """What the Dockerfile's final stage runs, and with which environment."""

    env: dict[str, str]
    command: list[str]
    healthcheck: list[str]


def read_dockerfile(text: str) -> Image:
    """ENV, HEALTHCHECK, ENTRYPOINT and CMD of the last stage (exec form required)."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    instructions = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, (word, *_) in enumerate(instructions) if word.upper() == "FROM")
    env: dict[str, str] = {}
    exec_form: dict[str, list[str]] = {}
    for word, argument in instructions[last_from + 1 :]:
        keyword = word.upper()
        if keyword == "ENV":
            for pair in shlex.split(argument):
                name, _, value = pair.partition("=")
                env[name] = value
        elif keyword in {"ENTRYPOINT", "CMD"}:
            exec_form[keyword] = json.loads(argument)
        elif keyword == "HEALTHCHECK":
            exec_form[keyword] = json.loads(argument[argument.index("CMD") + 3 :])
    return Image(
        env=env,
        command=[*exec_form["ENTRYPOINT"], *exec_form.get("CMD", [])],
        healthcheck=exec_form["HEALTHCHECK"],
    )


def local(command: list[str]) -> list[str]:
    """The image's command with its program taken from this virtualenv (as /opt/quickscan)."""
    program = shutil.which(command[0], path=str(Path(sys.executable).parent))
    assert program is not None, f"{command[0]} is not installed in this virtualenv"
    return [program, *command[1:]]


def test_the_dockerfile_runs_quickscan_serve_as_configured() -> None:
    image = read_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    assert image.command == ["quickscan", "serve"]
    assert image.env["QUICKSCAN_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 - inside a container
    assert image.env["QUICKSCAN_HTTP_PORT"] == "8080"
    assert image.healthcheck[0] == "python"
    assert "/healthz" in image.healthcheck[-1]


@pytest.mark.postgres
def test_replicas_migrating_one_fresh_database_at_once_both_succeed(
    fresh_postgres_database: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, fresh_postgres_database, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    go.touch()
    errors = [replica.communicate(timeout=WAIT_S)[1] for replica in replicas]
    assert [error[-2000:] for error in errors if error] == []
    assert [replica.returncode for replica in replicas] == [0] * REPLICAS
    engine = db.create_engine_for(url=fresh_postgres_database)
    try:
        assert "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@dataclass
class Replica:
    """One running container command, its port and its log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()


@contextmanager
def replicas(
    *, image: Image, database_url: str, slack: FakeSlack, home: Path
) -> Iterator[list[Replica]]:
    """Start the image's command twice at once; kill what is still running afterwards."""
    with ExitStack() as stack:
        started: list[Replica] = []
        for index in range(REPLICAS):
            port = free_port()
            log = home / f"replica-{index}.log"
            output: IO[bytes] = stack.enter_context(log.open("wb"))
            env = {
                **clean_environment(home / f"home-{index}"),
                # The image's environment, except its PATH (the container's layout).
                **{name: value for name, value in image.env.items() if name != "PATH"},
                "QUICKSCAN_DATABASE_URL": database_url,
                "QUICKSCAN_HTTP_PORT": str(port),  # two replicas on one host here
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url,
            }
            process = subprocess.Popen(
                local(image.command),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=env,
            )
            started.append(Replica(process=process, port=port, log=log))
        try:
            yield started
        finally:
            for replica in started:
                if replica.process.poll() is None:
                    replica.process.kill()
                    replica.process.wait(timeout=WAIT_S)


@pytest.mark.postgres
def test_two_replicas_of_the_container_command_serve_and_stop_cleanly(
    fresh_postgres_database: str, tmp_path: Path
) -> None:
    image = read_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    with FakeSlack() as slack:
        (anna, bram) = add_school(slack, ["anna", "bram"])
        slack_team = SlackTeam(fake=slack, address=None, wait_idle=lambda: None)
        with replicas(
            image=image, database_url=fresh_postgres_database, slack=slack, home=tmp_path
        ) as running:
            for replica in running:
                wait_for_port(replica.port, replica.process)
            for replica, user in zip(running, (anna, bram), strict=True):
                assert replica.get("/healthz") == (200, "ok"), replica.log.read_text()
                status, _reason = replica.get("/readyz")
                assert status == 200, replica.log.read_text()
                probe = subprocess.run(
                    [sys.executable, *image.healthcheck[1:]],  # the image's python
                    env={"QUICKSCAN_HTTP_PORT": str(replica.port)},
                    capture_output=True,
                    timeout=WAIT_S,
                    check=False,
                )
                assert probe.returncode == 0, probe.stderr
                # One team, one trigger_id sequence: a repeated id is a retry, and
                # any replica ignores a retry of an event another one handled.
                team = replace(slack_team, address=("127.0.0.1", replica.port))
                assert team.command(user, "help").status == 200
                wait_until(
                    lambda user=user: bool(slack.ephemerals_for(user)),
                    what=f"the help answer of replica {replica.port}",
                    timeout=WAIT_S,
                )
            for replica in running:
                replica.process.send_signal(signal.SIGTERM)
            for replica in running:
                assert replica.process.wait(timeout=WAIT_S) == 0, replica.log.read_text()
                assert "Traceback" not in replica.log.read_text()
