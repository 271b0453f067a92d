"""The load test's figures block: throughput, latencies, rates against limits, checks."""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.latency_series import Series
from benchmarks.load_checks import STORED, Check, Rate
from benchmarks.load_members import Recorder
from benchmarks.load_teams import Options

REPLICAS = 2


@dataclass
class Outcome:
    """Everything measured."""

    options: Options
    recorder: Recorder
    answering_s: float
    clicks: int
    checks: list[Check]
    rates: list[Rate]
    deliveries: dict[str, float]
    exit_codes: list[int | None]
    details: list[str]


def render(outcome: Outcome) -> str:
    """The figures block."""
    options, recorder = outcome.options, outcome.recorder
    stored = next(c.found for c in outcome.checks if c.name == f"{STORED} (total)")
    lines = [
        f"{options.teams} teams x {options.members} members ({options.command}, "
        f"{REPLICAS} replicas, PostgreSQL); answering took {outcome.answering_s:.0f} s",
        f"clicks answered: {outcome.clicks} = {outcome.clicks / outcome.answering_s:.1f}/s "
        f"(answers stored: {stored} = {stored / outcome.answering_s:.1f}/s)",
        "",
        f"{'latency':<22}{'requests':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}",
    ]
    for kind, samples in (("ack", recorder.acks), ("visible", recorder.visible)):
        every = [s for platform in ("slack", "telegram") for s in samples[platform]]
        for platform, values in (*samples.items(), ("both", every)):
            if values:
                series = Series(values)
                cells = "".join(
                    f"{series.percentile(p) * 1000:>6.0f}ms" for p in (0.5, 0.95, 0.99, 1.0)
                )
                lines.append(f"{kind + ' ' + platform:<22}{len(values):>9}{cells}")
    lines.append("")
    lines.append(
        "deliveries per second (mean over the run): "
        + ", ".join(f"{platform} {rate:.1f}/s" for platform, rate in outcome.deliveries.items())
    )
    lines.append(f"{'rate':<42}{'measured':>10}{'limit':>8}")
    for rate in outcome.rates:
        verdict = "within" if rate.within else "OVER"
        lines.append(
            f"{rate.name:<42}{rate.measured:>10.1f}{rate.limit:>8.1f}  {rate.unit} {verdict}"
        )
    lines.append("")
    lines.append(f"{'exactly once':<52}{'expected':>9}{'found':>9}")
    for check in outcome.checks:
        mark = "ok" if check.ok else "FAIL"
        lines.append(f"{check.name:<52}{check.expected:>9}{check.found:>9}  {mark}")
    telegram_members = (options.teams - math.ceil(options.teams / 2)) * options.members
    lines.append(
        "Telegram members the starting replica did not know (joined by the deep link): "
        f"{len(recorder.by_link)} of {telegram_members}"
    )
    lines.extend(outcome.details)
    lines.append(
        f"refused requests: {len(recorder.refused)}; stuck members: {len(recorder.errors)}"
    )
    for error in recorder.errors[:10]:
        lines.append(f"  stuck: {error}")
    lines.append(f"replica exit codes: {outcome.exit_codes}")
    return "\n".join(lines)
