"""The latency figures both platform benchmarks report: series of acks and edits.

Shared by ``benchmarks/latency_slack.py`` and ``benchmarks/latency_telegram.py`` (and
the tests that run them), so both compute a p95 the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Series:
    """Latencies in seconds."""

    samples: Sequence[float]

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile (``fraction`` 0.95 is the p95)."""
        ordered = sorted(self.samples)
        rank = min(max(1, math.ceil(fraction * len(ordered))), len(ordered))
        return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Figures:
    """The acks and the edits of one series of clicks or presses."""

    acks: Series
    edits: Series
