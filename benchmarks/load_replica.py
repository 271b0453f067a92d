"""One replica of the load test: the real ``quickscan`` command line, one setting added.

Run as ``python -m benchmarks.load_replica serve`` (or ``run``); everything else
comes from the environment exactly as for ``quickscan`` itself.

The one addition is ``LOAD_SLACK_TIER_SCALE``: Slack's method tiers are per
workspace (chat.update is Tier 3, 50 calls a minute), and every answer in Slack
is one chat.update of the member's DM. With Slack's published tiers, 150 Slack
members answering 55 steps each would need about three hours in one workspace,
so the load test multiplies the tiers, as ``SlackRates.tier_scale`` does for an
app Slack grants more. The bot reads no variable for that (only
``SLACK_MESSAGES_PER_SECOND``), so this launcher scales the tier table before
the start-up code builds its rates; the figures are then checked against the
scaled limits.
"""

from __future__ import annotations

import os
import sys

from adapters.slack import rates
from adapters.startup.cli import main

TIER_SCALE_ENV = "LOAD_SLACK_TIER_SCALE"


def scale_tiers(scale: float) -> None:
    """Multiply Slack's calls-per-minute of every method tier by ``scale``."""
    if scale <= 0:
        raise ValueError(f"{TIER_SCALE_ENV} must be above 0")
    for tier, per_minute in list(rates.TIER_PER_MINUTE.items()):
        rates.TIER_PER_MINUTE[tier] = max(1, round(per_minute * scale))


if __name__ == "__main__":
    scale_tiers(float(os.environ.get(TIER_SCALE_ENV) or "1"))
    raise SystemExit(main(sys.argv[1:]))
