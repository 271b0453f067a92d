"""Which replica runs the ping timer: the one that holds the database's leader lock.

Every replica of the bot is started the same way and every one of them could run
APScheduler, but two schedulers on one job table would each run every job. So
each replica runs this small loop: it tries to take the lock (storage/leader.py)
and, once it holds it, checks now and then that it still does. Only while it holds
the lock does the replica run its timer; a replica that dies frees the lock (its
database session or file descriptor ends with it), and the next check of another
replica takes over, so the poll interval bounds the time without a timer.

The handover may overlap for up to one poll interval (a leader whose connection
broke learns so only at its next check): what the timer does must be, and is,
safe in two processes at once (every ping is claimed before it is sent).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from storage.leader import Lease

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=15)
"""How often a replica checks its leadership or tries to take it over: a takeover
happens within this interval of the leader's death (a dead host: the database's
keepalive of ~30 s comes first)."""


class TimerLeadership:
    """Runs ``on_elected`` when this replica becomes the leader, ``on_deposed`` when not."""

    def __init__(
        self,
        *,
        campaign: Callable[[], Lease | None],
        on_elected: Callable[[], None],
        on_deposed: Callable[[], None],
        poll_every: timedelta = POLL_EVERY,
    ) -> None:
        self._campaign = campaign
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._poll_seconds = poll_every.total_seconds()
        self._lease: Lease | None = None
        # Orders this process's own threads (the loop, a stop from a signal); which
        # process leads is decided by the database lock alone.
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        """Whether this replica holds the leadership (as of its last check)."""
        return self._lease is not None

    def start(self) -> None:
        """Try once now (errors propagate, as a failing start should), then keep checking."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self.check()
        self._thread = threading.Thread(target=self._loop, name="timer-leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking and give leadership up at once (a deploy hands over without
        waiting for the lock to be noticed free); more than once is harmless."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            lease, self._lease = self._lease, None
            if lease is None:
                return
            try:
                self._on_deposed()
            finally:
                lease.release()
                log.info("timer leadership released")

    def check(self) -> None:
        """One round: confirm the lease, or try to take it; run the matching callback."""
        with self._lock:
            if self._stopping.is_set():
                return
            if self._lease is not None:
                if self._lease.alive():
                    return
                self._lease = None
                log.warning("timer leadership lost")
                self._on_deposed()
                return
            lease = self._campaign()
            if lease is None:
                return
            self._lease = lease
            log.info("timer leadership taken")
            try:
                self._on_elected()
            except BaseException:
                # A leader whose timer did not start (or did not catch up) would
                # block everyone: give it up, and let the next round try again.
                self._lease = None
                try:
                    self._on_deposed()
                finally:
                    lease.release()
                    log.warning("timer leadership given up: the timer did not start")
                raise

    def _loop(self) -> None:
        while not self._stopping.wait(self._poll_seconds):
            try:
                self.check()
            except Exception:  # a database outage: the next round tries again
                log.exception("timer leadership check failed; trying again")
