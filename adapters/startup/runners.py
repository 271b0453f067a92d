"""Starts the configured platform adapters around one engine.

Slack and Telegram can run side by side in one process: every adapter but the
last runs in a background thread, the last one in the main thread (Telegram's
polling wants the main thread for its signal handling). Adapters are imported
only when configured, so the console needs neither SDK at start.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping, Sequence

from bot.core.engine import Engine
from bot.core.ports import PlatformRunner, RosterRegistry

# platform -> (module, class); each class takes engine=, rosters= and environ=.
RUNNERS: dict[str, tuple[str, str]] = {
    "slack": ("adapters.slack.runner", "SlackRunner"),
    "telegram": ("adapters.telegram.runner", "TelegramRunner"),
}


def build_runners(
    *,
    platforms: Sequence[str],
    engine: Engine,
    rosters: RosterRegistry,
    environ: Mapping[str, str] | None = None,
) -> list[PlatformRunner]:
    """One runner per configured platform, in the order given."""
    env = os.environ if environ is None else environ
    runners: list[PlatformRunner] = []
    for platform in platforms:
        module_name, class_name = RUNNERS[platform]
        runner_class = getattr(importlib.import_module(module_name), class_name)
        runners.append(runner_class(engine=engine, rosters=rosters, environ=env))
    return runners


def run_all(runners: Sequence[PlatformRunner]) -> None:
    """Run every adapter until the one in the main thread ends, then stop the rest."""
    background = [
        threading.Thread(target=runner.run_forever, name=f"adapter-{index}", daemon=True)
        for index, runner in enumerate(runners[:-1])
    ]
    for thread in background:
        thread.start()
    try:
        runners[-1].run_forever()
    finally:
        for runner in runners[:-1]:
            runner.stop()
