"""``quickscan run`` starts the Slack adapter when the Slack variables are set."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackTeam, add_school

WAIT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def quickscan_command() -> list[str]:
    """The installed ``quickscan`` script, as an administrator would run it."""
    script = shutil.which("quickscan", path=str(Path(sys.executable).parent))
    return [script, "run"] if script else [sys.executable, "-m", "adapters.startup.cli", "run"]


def clean_environment(home: Path) -> dict[str, str]:
    """This environment without any platform token, with home and data in ``home``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "TELEGRAM_", "QUICKSCAN_"))
    }
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the bot exited before listening"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listened on port {port}")


def test_quickscan_run_with_slack_variables_serves_slack(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    with FakeSlack() as fake, log.open("wb") as output:
        (anna, *_) = add_school(fake, ["anna", "bram"])
        env = {
            **clean_environment(tmp_path),
            "QUICKSCAN_DATABASE_URL": f"sqlite:///{tmp_path / 'quickscan.sqlite3'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_PORT": str(port),
        }
        process = subprocess.Popen(
            quickscan_command(), stdin=subprocess.DEVNULL, stdout=output, stderr=output, env=env
        )
        try:
            wait_for_port(port, process)
            team = SlackTeam(fake=fake, address=("127.0.0.1", port), wait_idle=lambda: None)
            assert team.command(anna, "help").status == 200
            deadline = time.monotonic() + WAIT_S
            while not fake.ephemerals_for(anna) and time.monotonic() < deadline:
                time.sleep(0.05)
            (reply,) = fake.ephemerals_for(anna)
            assert "Quickscan samenwerken met ouders — opdrachten" in reply
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT_S) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_S)


def test_quickscan_run_without_platform_variables_is_the_console(tmp_path: Path) -> None:
    completed = subprocess.run(
        quickscan_command(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=clean_environment(tmp_path),
        timeout=WAIT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
