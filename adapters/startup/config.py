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

from bot.privacy.policy import (
    DEFAULT_ANSWER_MONTHS,
    DEFAULT_EVENT_DAYS,
    MAX_ANSWER_MONTHS,
    MAX_EVENT_DAYS,
    RetentionPolicy,
)
from storage.db import default_database_url

RETENTION_MONTHS_ENV = "QUICKSCAN_RETENTION_MONTHS"
EVENT_RETENTION_DAYS_ENV = "QUICKSCAN_EVENT_RETENTION_DAYS"


class ConfigError(ValueError):
    """A setting in the environment is unusable; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot reads from its environment."""

    database_url: str
    instrument_dirs: tuple[Path, ...]
    output_dir: Path
    slack_bot_token: str | None
    telegram_bot_token: str | None
    retention: RetentionPolicy = RetentionPolicy()

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
    """Read the settings; ``environ`` is injectable so tests need no real environment.

    Raises:
        ConfigError: A retention period that is not a whole number in its bounds.
    """
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
        retention=RetentionPolicy(
            answer_months=_bounded(
                env, RETENTION_MONTHS_ENV, default=DEFAULT_ANSWER_MONTHS, high=MAX_ANSWER_MONTHS
            ),
            event_days=_bounded(
                env, EVENT_RETENTION_DAYS_ENV, default=DEFAULT_EVENT_DAYS, high=MAX_EVENT_DAYS
            ),
        ),
    )


def _bounded(env: Mapping[str, str], name: str, *, default: int, high: int) -> int:
    """A whole number 1..``high`` in ASCII digits; unset or empty means ``default``.

    A retention period is a promise in the school's register of processing: a
    typo must stop the bot at start, not silently keep data for ever.
    """
    raw = env.get(name, "").strip()
    if not raw:
        return default
    digits = raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))
    if not digits or not 1 <= int(raw) <= high:
        msg = f"{name} must be a whole number from 1 to {high}, got {raw[:20]!r}"
        raise ConfigError(msg)
    return int(raw)
