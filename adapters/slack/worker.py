"""Background work after the ack: one ordered queue per key, several keys at once.

Slack wants a slash command or click acknowledged within three seconds, while a
round's start (roster lookup, 40 paced invitations) or close (merge, chart) takes
longer. Listeners therefore ack and hand the work to this worker. Jobs with the
same key (one member's DM, one channel) run in order, so replies never overtake
each other; different keys run in parallel, so one team's fan-out does not hold
up another member's next question.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from adapters.slack.logs import log_failure

logger = logging.getLogger(__name__)

Job = Callable[[], None]


class Worker:
    """A small pool of daemon threads running keyed job queues."""

    def __init__(self, *, threads: int = 8, name: str = "slack-worker") -> None:
        self._lock = threading.Condition()
        self._queues: dict[str, deque[Job]] = {}
        self._ready: deque[str] = deque()
        self._outstanding = 0
        self._closing = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{index}", daemon=True)
            for index in range(threads)
        ]
        self._started = False

    def start(self) -> None:
        """Start the threads (once); jobs submitted before wait for this."""
        with self._lock:
            if self._started:
                return
            self._started = True
        for thread in self._threads:
            thread.start()

    def submit(self, *, key: str, job: Job) -> None:
        """Queue ``job`` behind earlier jobs of the same ``key``.

        While closing, running jobs may still queue follow-ups (a fan-out after
        its command); once closed and drained nothing more is accepted.

        Raises:
            RuntimeError: after :meth:`close` has drained the queues.
        """
        with self._lock:
            if self._done():
                raise RuntimeError("worker is closed")
            self._outstanding += 1
            queue = self._queues.get(key)
            if queue is None:
                self._queues[key] = deque([job])
                self._ready.append(key)
                self._lock.notify_all()
            else:
                queue.append(job)

    def wait_idle(self, *, timeout: float) -> bool:
        """Wait until every submitted job (and jobs they submitted) has run."""
        with self._lock:
            return self._lock.wait_for(lambda: self._outstanding == 0, timeout=timeout)

    def close(self, *, timeout: float) -> bool:
        """Stop accepting jobs, let queued ones finish within ``timeout``, end the threads.

        Returns:
            False when jobs were still queued at the deadline (they are dropped:
            the threads are daemons and die with the process).
        """
        with self._lock:
            self._closing = True
        drained = self.wait_idle(timeout=timeout) if self._started else self._outstanding == 0
        with self._lock:
            self._lock.notify_all()
        if drained and self._started:
            for thread in self._threads:
                thread.join(timeout=timeout)
        else:
            logger.warning("slack worker closed with %d jobs unfinished", self._outstanding)
        return drained

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._ready) or self._done())
                if not self._ready:
                    return
                key = self._ready.popleft()
                job = self._queues[key].popleft()
            try:
                job()
            except Exception as error:  # broad on purpose: one failed job must not kill the thread
                log_failure(logger, "background job", error, key=key)
            with self._lock:
                self._outstanding -= 1
                if self._queues[key]:
                    self._ready.append(key)  # behind other keys: fair between members
                else:
                    del self._queues[key]
                self._lock.notify_all()

    def _done(self) -> bool:
        return self._closing and self._outstanding == 0
