"""Lost races between replicas: the error a conditional write raises, and the redo.

Several identical processes share one database and any event may reach any of
them. Where two of them could compute a write from the same row, the write is
conditional on what was read (a version number); the loser gets
``ConcurrentChangeError`` and nothing of its transaction is kept. The caller then
redoes the whole unit of work, which reads afresh, instead of telling the person
their message failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")

CONFLICT_ATTEMPTS = 5
"""How often a unit of work is tried before a lost race counts as a failure.

Each retry follows a commit by another replica, so running out needs five
changes of the same row while one event is handled: not a race but a storm.
"""


class ConcurrentChangeError(Exception):
    """Another process changed what this transaction read; redo the whole unit of work.

    Raised by a conditional write that found the row no longer as it was read
    (``save_progress`` with a stale ``expected_version``); nothing is changed.
    """


def redo_on_conflict(work: Callable[[], _T], *, attempts: int = CONFLICT_ATTEMPTS) -> _T:
    """Run ``work`` (one whole unit of work), again while it loses a race.

    ``work`` must open its own transaction, so every attempt reads what the
    winner committed. The last attempt's ``ConcurrentChangeError`` propagates.
    """
    attempt = 1
    while True:
        try:
            return work()
        except ConcurrentChangeError:
            if attempt >= attempts:
                raise
            attempt += 1
            _LOG.info("a concurrent change in another process: redone (attempt %d)", attempt)
