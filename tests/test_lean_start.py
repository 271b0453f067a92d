"""A console start loads no charting, spreadsheet or platform library.

``quickscan run`` on the console must stay small when idle (README: idle RSS,
benchmarks/idle_rss.py). matplotlib (with numpy) and openpyxl are imported only
where a chart is drawn or a workbook written, and the Slack and Telegram
libraries only by their adapters. This checks the imports, not the memory: a
fresh interpreter runs ``quickscan run`` as the command line does, on an empty
input, and reports which of these modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = ("matplotlib", "numpy", "openpyxl")
"""Loaded only to draw a chart or write a workbook."""
PLATFORM_ONLY = ("slack_sdk", "slack_bolt", "telegram", "tornado")
"""Loaded only by the Slack and Telegram adapters."""
FIRST_TEXT = ("babel",)
"""Loaded with the first text that has a plural form, a list or a weekday, not idle."""

_PROGRAM = """
import json, sys
from adapters.startup.cli import main
code = main(["run", "--database", sys.argv[1], "--members", "anna,bram"])
names = json.loads(sys.argv[2])
print(json.dumps({"code": code, "loaded": sorted(n for n in names if n in sys.modules)}))
"""


def _console_start(
    tmp_path: Path,
    *,
    script: str,
    prelude: str = "",
    names: tuple[str, ...] = (*DEFERRED, *PLATFORM_ONLY),
) -> dict[str, object]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SLACK_", "TELEGRAM_", "QUICKSCAN_"))
    }
    environment["HOME"] = str(tmp_path)
    environment["XDG_DATA_HOME"] = str(tmp_path / "data")
    environment["QUICKSCAN_OUTPUT_DIR"] = str(tmp_path / "output")
    url = f"sqlite:///{tmp_path / 'lean.sqlite3'}"
    completed = subprocess.run(
        [sys.executable, "-c", prelude + _PROGRAM, url, json.dumps(names)],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


def test_an_idle_console_start_loads_no_chart_spreadsheet_or_platform_library(
    tmp_path: Path,
) -> None:
    report = _console_start(tmp_path, script="", names=(*DEFERRED, *PLATFORM_ONLY, *FIRST_TEXT))
    assert report == {"code": 0, "loaded": []}


def test_answering_loads_no_chart_or_spreadsheet_library_either(tmp_path: Path) -> None:
    # A round started and a question answered: still no chart and no workbook made.
    script = "anna@team: /quickscan start\nbram@dm: start\nbram@dm: ++\n"
    report = _console_start(tmp_path, script=script)
    assert report == {"code": 0, "loaded": []}


def test_the_check_sees_a_deferred_library_when_one_is_loaded(tmp_path: Path) -> None:
    # The same probe with a chart module imported first: the check can fail.
    report = _console_start(tmp_path, script="", prelude="import bot.results.chart\n")
    assert report["loaded"] == ["matplotlib", "numpy"]
