"""Pings across real process restarts: killed with SIGKILL, never sent twice."""

from __future__ import annotations

from pathlib import Path

from tests.test_restart import BotProcess, bots  # noqa: F401 - the fixture is used by name

OPENED = "ronde 2 (2026/27) is geopend"
START = "2026-11-23T09:00"  # the simulated clock starts here, whatever the date


def test_no_ping_twice_across_sigkill_and_a_missed_one_once(
    tmp_path: Path,
    bots: list[BotProcess],  # noqa: F811 - the imported fixture
) -> None:
    url = f"sqlite:///{tmp_path / 'pings.sqlite3'}"

    # 1: plan the pings, then die (SIGKILL) between scheduling and sending.
    first = BotProcess(database_url=url, members="anna,bram", home=tmp_path, clock=START)
    bots.append(first)
    # Whoever first starts a round becomes coordinator: anna, with a round closed at once.
    first.send("anna@team: /quickscan start")
    first.send("anna@team: /quickscan sluit")
    first.send("anna@team: /quickscan regio zuid")
    first.send("anna@team: /quickscan checklist")
    first.send("anna@team: /quickscan kalender")
    first.wait_for("ronde opent")
    first.kill()

    # 2: back after the moment passed (the bot was down on 4 January 08:00): the
    # missed opening goes out once; then killed right after sending.
    second = BotProcess(database_url=url, members="anna,bram", home=tmp_path, clock=START)
    bots.append(second)
    second.send("@clock: 2027-01-04T10:00")
    seen = second.wait_for(OPENED)
    second.send("anna@team: /quickscan kalender")
    seen += second.wait_for("Vakantiedata")
    second.kill()
    assert sum(OPENED in line for line in seen) == 1

    # 3: a restart (and time moving on) never sends it again.
    third = BotProcess(database_url=url, members="anna,bram", home=tmp_path, clock=START)
    bots.append(third)
    third.send("@clock: 2027-01-05T09:00")
    third.send("anna@team: /quickscan kalender")
    rest = third.wait_for("Vakantiedata")
    third.finish()
    assert not any(OPENED in line for line in rest)
    assert third.process.returncode == 0
