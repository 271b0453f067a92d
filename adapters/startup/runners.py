"""Starts the configured platform adapters around one engine, and stops them on SIGTERM.

Adapters are found through the ``quickscan.adapters`` entry points (pyproject.toml):
an installed package adds a platform by naming a factory there, and the start-up
code never names an adapter module. Only the configured ones are loaded, so the
console needs neither SDK at start.

Every adapter runs in a thread of its own; the main thread only waits. A deploy
sends SIGTERM (Ctrl-C sends SIGINT): the process then stops taking events on every
platform and lets each adapter's dispatcher finish the sends in flight, and exits
0. Whatever was not sent stays in the outbox and goes out after the restart. The
same happens when one adapter ends by itself (an error, or a test's driver).

What a runner must do (``bot.core.ports.PlatformRunner``): ``run_forever`` takes
events and delivers through a dispatcher it got from ``engine.dispatcher(...)``;
``stop`` (from another thread) stops taking events, then stops that dispatcher,
and ``run_forever`` returns once the sends in flight are done.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import FrameType
from typing import Protocol

from bot.core.engine import Engine
from bot.core.ports import PlatformRunner, RosterRegistry

ENTRY_POINT_GROUP = "quickscan.adapters"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_TIMEOUT_S = 30.0  # per adapter: its sends in flight get this long after a stop
_POLL_S = 0.2
_LOG = logging.getLogger(__name__)


class AdapterFactory(Protocol):
    """What an entry point of the ``quickscan.adapters`` group names (a runner class)."""

    def __call__(
        self, *, engine: Engine, rosters: RosterRegistry, environ: Mapping[str, str]
    ) -> PlatformRunner:
        """Read the platform's configuration and build its runner (nothing runs yet)."""
        ...


class UnknownAdapterError(ValueError):
    """A platform is configured but no installed package registers an adapter for it."""


def registered_adapters() -> dict[str, EntryPoint]:
    """The installed adapters by platform name (not imported yet)."""
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def load_adapter(platform: str) -> AdapterFactory:
    """The factory registered for ``platform``, imported now.

    Raises:
        UnknownAdapterError: none is registered (a typo, or the package is not
            reinstalled since its entry points changed).
    """
    point = registered_adapters().get(platform)
    if point is None:
        known = ", ".join(sorted(registered_adapters())) or "none"
        msg = f"no adapter is installed for platform {platform!r} (installed: {known})"
        raise UnknownAdapterError(msg)
    factory: AdapterFactory = point.load()
    return factory


def build_runners(
    *,
    platforms: Sequence[str],
    engine: Engine,
    rosters: RosterRegistry,
    environ: Mapping[str, str] | None = None,
) -> list[PlatformRunner]:
    """One runner per configured platform, in the order given.

    Raises:
        ValueError: a platform has no adapter, or its configuration is incomplete.
    """
    env = os.environ if environ is None else environ
    factories = [load_adapter(platform) for platform in platforms]
    return [factory(engine=engine, rosters=rosters, environ=env) for factory in factories]


@dataclass
class _Running:
    """One adapter's thread and how it ended."""

    runner: PlatformRunner
    thread: threading.Thread | None = None
    error: BaseException | None = None
    ended: threading.Event = field(default_factory=threading.Event)


def run_all(
    runners: Sequence[PlatformRunner],
    *,
    stop_timeout_s: float = STOP_TIMEOUT_S,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Run every adapter until a stop signal or until one of them ends; then stop all.

    Returns normally after SIGTERM or SIGINT (the process exits 0). An adapter
    that failed has its error raised here, after the others were stopped.

    Args:
        runners: The adapters, each run in a thread of its own.
        stop_timeout_s: How long each adapter may take to finish its sends.
        on_stop: Called first when stopping (the scheduler stops firing pings).
    """
    running = [_Running(runner=runner) for runner in runners]
    wake = threading.Event()
    with _stop_signals() as signalled:
        for index, item in enumerate(running):
            item.thread = threading.Thread(
                target=_serve, args=(item, wake), name=f"adapter-{index}", daemon=True
            )
            item.thread.start()
        # A signal handler must not take locks (Event.set does), so it only sets a
        # flag, and this thread looks at it between short waits.
        while not wake.wait(timeout=_POLL_S) and not signalled():
            pass
        if signalled():
            _LOG.info("stop signal received: no new events; finishing the sends in flight")
        if on_stop is not None:
            on_stop()
        for item in running:
            if not item.ended.is_set():
                item.runner.stop()
        for item in running:
            if item.thread is not None:
                item.thread.join(timeout=stop_timeout_s)
                if item.thread.is_alive():
                    _LOG.warning("adapter thread %s did not stop in time", item.thread.name)
    _LOG.info("all adapters stopped")
    for item in running:
        if item.error is not None:
            raise item.error


def _serve(item: _Running, wake: threading.Event) -> None:
    try:
        item.runner.run_forever()
    except BaseException as error:  # handed to the main thread, raised there
        item.error = error
    finally:
        item.ended.set()
        wake.set()


@contextmanager
def _stop_signals() -> Iterator[Callable[[], bool]]:
    """SIGTERM and SIGINT set a flag while the adapters run (main thread only).

    Yields whether a stop signal arrived. In another thread (tests) nothing is
    installed and the flag stays down.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        yield lambda: bool(received)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
