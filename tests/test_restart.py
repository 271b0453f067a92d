"""A real bot process killed mid-walkthrough (SIGKILL) resumes with nothing lost."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

WAIT_SECONDS = 60


class BotProcess:
    """``quickscan run`` on a pipe, its output read by a background thread."""

    def __init__(
        self, *, database_url: str, members: str, home: Path, clock: str | None = None
    ) -> None:
        env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
        env.pop("SLACK_BOT_TOKEN", None)
        env.pop("TELEGRAM_BOT_TOKEN", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "adapters.startup.cli",
                "run",
                "--database",
                database_url,
                "--members",
                members,
                *(["--clock", clock] if clock else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, needle: str) -> list[str]:
        """Lines read until one contains ``needle`` (fails after a timeout)."""
        seen: list[str] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            seen.append(line)
            if needle in line:
                return seen
        pytest.fail(f"never saw {needle!r}; output was:\n" + "\n".join(seen))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)

    def finish(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=WAIT_SECONDS)

    def cleanup(self) -> None:
        """Stop the process if needed and close its pipes (no leaked descriptors)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT_SECONDS)
        self._reader.join(timeout=WAIT_SECONDS)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None and not pipe.closed:
                # The process is gone: a failed flush of its stdin loses nothing.
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()


@pytest.fixture
def bots(tmp_path: Path) -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for bot in started:
        bot.cleanup()


def test_sigkill_mid_walkthrough_resumes_at_the_right_question(
    database_url: str, tmp_path: Path, bots: list[BotProcess]
) -> None:
    first = BotProcess(database_url=database_url, members="anna,bram", home=tmp_path)
    bots.append(first)
    first.send("anna@team: /quickscan start")
    first.wait_for("[dm:bram] Hallo bram!")
    first.send("bram@dm: start")
    first.wait_for("vraag 1 van 48")
    answers = ["++", "+", "+/-", "-", "--", "?", "+"]
    for number, answer in enumerate(answers, start=1):
        first.send(f"bram@dm: {answer}")
        first.wait_for(f"vraag {number + 1} van 48")
    first.kill()
    assert first.process.returncode == -signal.SIGKILL

    second = BotProcess(database_url=database_url, members="anna,bram", home=tmp_path)
    bots.append(second)
    second.send("bram@dm: ik ben er weer")
    resumed = second.wait_for("vraag 8 van 48")
    assert any("[dm:bram]" in line for line in resumed)
    # Nothing lost: every earlier answer is still there.
    for number in range(7, 0, -1):
        second.send("bram@dm: vorige")
        shown = second.wait_for(f"vraag {number} van 48")
        second.wait_for(f"Je huidige antwoord: {answers[number - 1]}")
        assert shown
    # The round itself survived too: a second start is refused.
    second.send("anna@team: /quickscan start")
    second.wait_for("loopt al een quickscan-ronde")
    second.finish()
    assert second.process.returncode == 0
