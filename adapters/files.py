"""Files rendered for a delivery (exports) leave the disk once they are delivered.

An export holds a team's result or a teacher's pupil codes and scores. The
dispatcher renders it from the stored data just before the send (the same row
renders the same file, so a retry simply renders it again). Once Slack or
Telegram has it, the copy in the output folder serves nobody and would only
linger, so the sender removes it right after a successful upload. A failed
upload keeps it; the bot's daily clean-up removes such leftovers later. The
console keeps its files: there the file is the delivery.
"""

from __future__ import annotations

import logging
from pathlib import Path

_LOG = logging.getLogger(__name__)


def remove_delivered(path: Path) -> None:
    """Delete ``path`` after its upload; a failure is logged, never raised (it was sent)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        _LOG.warning("a delivered export could not be removed: %s", type(error).__name__)
