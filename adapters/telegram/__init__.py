"""The Telegram adapter: python-telegram-bot v22 around the neutral engine.

Updates become :class:`conversations.core.messages.Inbound` events and the engine's
:class:`conversations.core.messages.Outbound` messages become Bot API calls; no engine rule lives
here. :class:`adapters.telegram.runner.TelegramRunner` is the entry point.
"""

from __future__ import annotations

import os

# PTB 22 reports durations (RetryAfter.retry_after and friends) as int for now and
# warns about the coming switch to timedelta every time it builds a RetryAfter, i.e.
# on every 429. Opting in to the new behaviour (PTB's documented switch) removes the
# cause; this adapter never reads those durations as int. An explicit setting wins.
os.environ.setdefault("PTB_TIMEDELTA", "true")
