"""One chat's trouble holds up no other chat on Telegram (issue 10: one chat stalls everyone).

While the team group answers every message with 429, or one member presses an
old button ten times a second, the other members' press acknowledgements
(answerCallbackQuery) and in-place edits stay within 0.25 s (p95) of their
unloaded figures, with Telegram's own flood limits in force. The figures are
measured as ``benchmarks/latency_telegram.py`` measures them: each load against
unloaded presses of the same run, in alternating blocks, never against a fixed
number of milliseconds, so a slow or busy machine slows both sides alike.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.latency_telegram import BUDGET_S, RATE_LIMITED, TAPPING, render, run

SAMPLES = 60  # presses per series: the p95 is the third slowest


def test_a_rate_limited_group_or_a_fast_tapper_delays_nobody_else(
    database_url: str, tmp_path: Path
) -> None:
    comparisons = run(samples=SAMPLES, database_url=database_url, directory=tmp_path)
    assert [comparison.name for comparison in comparisons] == [RATE_LIMITED, TAPPING]
    for comparison in comparisons:
        for figures in (comparison.unloaded, comparison.loaded):
            assert len(figures.acks.samples) == len(figures.edits.samples) == SAMPLES
        assert comparison.excess() <= BUDGET_S, render(comparisons)
