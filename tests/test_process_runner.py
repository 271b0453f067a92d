"""The process runner: adapters in threads, SIGTERM stops intake, sends in flight finish.

A deploy sends SIGTERM. The process must stop taking events on every platform,
let each adapter's dispatcher finish the send it is doing (the rest stays in the
outbox for the next start) and exit 0, so the platform's supervisor sees a clean
stop. Most adapters here are stand-ins that record what happened to them; the
last test runs ``quickscan run`` against the fake Telegram with JSON logs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from adapters.startup.runners import run_all
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 30.0


class _Adapter:
    """Serves until stopped; ``finishing`` is what it still does after stop (a send)."""

    def __init__(self, name: str, log: list[str], *, ends_by_itself: bool = False) -> None:
        self.name = name
        self._log = log
        self._stop = threading.Event()
        self._ends = ends_by_itself
        self.started = threading.Event()

    def run_forever(self) -> None:
        self.started.set()
        if not self._ends:
            assert self._stop.wait(WAIT_S), f"{self.name} was never stopped"
            self._log.append(f"{self.name}: send in flight finished")
        self._log.append(f"{self.name}: ended")

    def stop(self) -> None:
        self._log.append(f"{self.name}: intake stopped")
        self._stop.set()


class _Failing(_Adapter):
    def run_forever(self) -> None:
        raise ConnectionError("auth failed")


def test_one_adapter_ending_stops_the_others(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    slack = _Adapter("slack", log)
    driver = _Adapter("driver", log, ends_by_itself=True)
    run_all([slack, driver], on_stop=lambda: log.append("scheduler stopped"))
    assert log.index("driver: ended") < log.index("scheduler stopped")
    assert log.index("scheduler stopped") < log.index("slack: intake stopped")
    assert log.index("slack: intake stopped") < log.index("slack: send in flight finished")
    assert "driver: intake stopped" not in log  # it had ended: nothing to stop


def test_a_failed_adapter_raises_after_the_others_stopped() -> None:
    log: list[str] = []
    telegram = _Adapter("telegram", log)
    with pytest.raises(ConnectionError):
        run_all([telegram, _Failing("slack", log)])
    assert log[-1] == "telegram: ended"


def test_signals_are_handled_only_while_running_and_only_in_the_main_thread() -> None:
    before = signal.getsignal(signal.SIGTERM)
    log: list[str] = []
    errors: list[BaseException] = []

    def in_a_thread() -> None:
        try:
            run_all([_Adapter("one", log, ends_by_itself=True)])
        except BaseException as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join(WAIT_S)
    assert not errors  # signal.signal would raise outside the main thread
    run_all([_Adapter("two", log, ends_by_itself=True)])
    assert signal.getsignal(signal.SIGTERM) is before


_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from adapters.startup.runners import run_all

    lock = threading.Lock()

    def say(line):  # one write per line: the adapters' threads print at once
        with lock:
            sys.stdout.write(line + "\\n")
            sys.stdout.flush()

    class Adapter:
        def __init__(self, name):
            self.name, self.stopped = name, threading.Event()
        def run_forever(self):
            say(f"{self.name} serving")
            self.stopped.wait()
            time.sleep(0.2)  # the send in flight
            say(f"{self.name} send in flight finished")
        def stop(self):
            say(f"{self.name} intake stopped")
            self.stopped.set()

    run_all([Adapter("slack"), Adapter("telegram")])
    say("all stopped")
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_intake_finishes_sends_and_exits_0(signum: int) -> None:
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", _SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    ) as process:
        assert process.stdout is not None
        serving = {process.stdout.readline().split()[0] for _ in range(2)}
        assert serving == {"slack", "telegram"}
        process.send_signal(signum)
        out, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 0, err
    lines = out.splitlines()
    for name in ("slack", "telegram"):
        assert lines.index(f"{name} intake stopped") < lines.index(
            f"{name} send in flight finished"
        )
    assert lines[-1] == "all stopped"


GROUP = -100777
ANNA = 11


def test_quickscan_run_logs_json_lines_without_content_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    log = tmp_path / "stderr.log"
    with FakeTelegram() as fake, log.open("wb") as stderr:
        fake.add_user(ANNA, "Annabelvliet", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        environ = {
            **{
                name: value
                for name, value in os.environ.items()
                if not name.startswith(("SLACK_", "TELEGRAM_", "QUICKSCAN_"))
            },
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "QUICKSCAN_DATABASE_URL": f"sqlite:///{tmp_path / 'quickscan.sqlite3'}",
            "QUICKSCAN_OUTPUT_DIR": str(tmp_path / "output"),
            "QUICKSCAN_LOG_FORMAT": "json",
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.startup.cli", "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=environ,
            cwd=ROOT,
        )
        try:
            fake.wait_for(lambda: fake.calls_of("getUpdates"), timeout=WAIT_S)
            fake.send_group(ANNA, GROUP, "/quickscan start")
            fake.wait_for(lambda: fake.prompt(ANNA), timeout=WAIT_S)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT_S) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_S)
    # One JSON object per line, the warning about the missing key included.
    records = [json.loads(line) for line in log.read_text().splitlines()]
    messages = [record["message"] for record in records]
    assert messages[0].startswith("WAARSCHUWING: QUICKSCAN_ENCRYPTION_KEY is niet gezet")
    assert "quickscan running on telegram" in messages
    assert any(" delivered (telegram dm, attempt 1)" in message for message in messages)
    stopping = messages.index("stop signal received: no new events; finishing the sends in flight")
    assert stopping < messages.index("all adapters stopped")
    assert "Annabelvliet" not in log.read_text()
    assert "heeft de quickscan" not in log.read_text()
