"""Configuration from the environment, read once at start.

Nothing configured means the embedded default: SQLite under the user data
directory and the console adapter, so a newcomer needs no account.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from storage.db import default_database_url


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot reads from its environment."""

    database_url: str
    instrument_dirs: tuple[Path, ...]
    output_dir: Path
    slack_bot_token: str | None
    telegram_bot_token: str | None

    @property
    def platforms(self) -> tuple[str, ...]:
        """Which adapters run: Slack and/or Telegram by their tokens, else the console."""
        chosen = tuple(
            name
            for name, token in (
                ("slack", self.slack_bot_token),
                ("telegram", self.telegram_bot_token),
            )
            if token
        )
        return chosen or ("console",)


def load_settings(*, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; ``environ`` is injectable so tests need no real environment."""
    env = os.environ if environ is None else environ
    dirs = tuple(
        Path(part) for part in env.get("QUICKSCAN_INSTRUMENTS_DIR", "").split(os.pathsep) if part
    )
    return Settings(
        database_url=env.get("QUICKSCAN_DATABASE_URL") or default_database_url(),
        instrument_dirs=dirs,
        output_dir=Path(
            env.get("QUICKSCAN_OUTPUT_DIR")
            or Path(platformdirs.user_data_dir("quickscan-bot")) / "output"
        ),
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
    )
