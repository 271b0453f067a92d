"""Configuration from the environment, read once at start.

Nothing configured means the embedded default: SQLite under the user data
directory and the console adapter, so a newcomer needs no account. Tokens and the
database URL (which carries the database password) are ``SecretStr``: a repr, a
log line or a JSON dump of the settings shows stars, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, SecretStr, field_validator

from adapters.environment import EnvSettings, stripped, whole_number
from bot.privacy.policy import (
    DEFAULT_ANSWER_MONTHS,
    DEFAULT_EVENT_DAYS,
    MAX_ANSWER_MONTHS,
    MAX_EVENT_DAYS,
    RetentionPolicy,
)
from storage.db import DATABASE_URL_ENV, default_database_url

RETENTION_MONTHS_ENV = "QUICKSCAN_RETENTION_MONTHS"
EVENT_RETENTION_DAYS_ENV = "QUICKSCAN_EVENT_RETENTION_DAYS"
INSTRUMENTS_DIR_ENV = "QUICKSCAN_INSTRUMENTS_DIR"
OUTPUT_DIR_ENV = "QUICKSCAN_OUTPUT_DIR"
HTTP_HOST_ENV = "QUICKSCAN_HTTP_HOST"
HTTP_PORT_ENV = "QUICKSCAN_HTTP_PORT"
DEFAULT_HTTP_HOST = "127.0.0.1"  # loopback: a TLS proxy on the same host forwards to it
DEFAULT_HTTP_PORT = 8080
MAX_PORT = 65535


class ConfigError(ValueError):
    """A setting in the environment is unusable; the message names the variable."""


def _default_output_dir() -> Path:
    return Path(platformdirs.user_data_dir("quickscan-bot")) / "output"


def _default_database_url() -> SecretStr:
    return SecretStr(default_database_url())


class Settings(EnvSettings):
    """Everything the bot reads from its environment (see docs/deploy.md)."""

    database_url: SecretStr = Field(
        default_factory=_default_database_url, validation_alias=DATABASE_URL_ENV
    )
    instrument_dirs: tuple[Path, ...] = Field(default=(), validation_alias=INSTRUMENTS_DIR_ENV)
    output_dir: Path = Field(default_factory=_default_output_dir, validation_alias=OUTPUT_DIR_ENV)
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    retention_months: int = Field(
        default=DEFAULT_ANSWER_MONTHS, validation_alias=RETENTION_MONTHS_ENV
    )
    event_retention_days: int = Field(
        default=DEFAULT_EVENT_DAYS, validation_alias=EVENT_RETENTION_DAYS_ENV
    )
    http_host: str = Field(default=DEFAULT_HTTP_HOST, validation_alias=HTTP_HOST_ENV)
    http_port: int = Field(default=DEFAULT_HTTP_PORT, validation_alias=HTTP_PORT_ENV)

    @property
    def platforms(self) -> tuple[str, ...]:
        """Which adapters run: Slack and/or Telegram by their tokens, else the console."""
        chosen = tuple(
            name
            for name, token in (
                ("slack", self.slack_bot_token),
                ("telegram", self.telegram_bot_token),
            )
            if token is not None
        )
        return chosen or ("console",)

    @property
    def retention(self) -> RetentionPolicy:
        """How long answers and delivery ids are kept (docs/privacy.md)."""
        return RetentionPolicy(
            answer_months=self.retention_months, event_days=self.event_retention_days
        )

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, raw: Any) -> str:
        """An empty variable means the default, as when it is unset."""
        return stripped(raw) or default_database_url()

    @field_validator("instrument_dirs", mode="before")
    @classmethod
    def _instrument_dirs(cls, raw: Any) -> tuple[Path, ...]:
        """Extra instrument folders, separated like PATH (':' here, ';' on Windows)."""
        return tuple(Path(part) for part in str(raw).split(os.pathsep) if part.strip())

    @field_validator("output_dir", mode="before")
    @classmethod
    def _output_dir(cls, raw: Any) -> Path:
        return Path(stripped(raw)) if stripped(raw) else _default_output_dir()

    @field_validator("slack_bot_token", "telegram_bot_token", mode="before")
    @classmethod
    def _token(cls, raw: Any) -> str | None:
        """An empty token is no token: that platform does not run."""
        return stripped(raw) or None

    @field_validator("retention_months", mode="before")
    @classmethod
    def _retention_months(cls, raw: Any) -> int:
        """A retention period is a promise in the school's register of processing.

        A typo must stop the bot at start, not silently keep data for ever.
        """
        if not stripped(raw):
            return DEFAULT_ANSWER_MONTHS
        return whole_number(raw, low=1, high=MAX_ANSWER_MONTHS)

    @field_validator("event_retention_days", mode="before")
    @classmethod
    def _event_retention_days(cls, raw: Any) -> int:
        if not stripped(raw):
            return DEFAULT_EVENT_DAYS
        return whole_number(raw, low=1, high=MAX_EVENT_DAYS)

    @field_validator("http_host", mode="before")
    @classmethod
    def _http_host(cls, raw: Any) -> str:
        return stripped(raw) or DEFAULT_HTTP_HOST

    @field_validator("http_port", mode="before")
    @classmethod
    def _http_port(cls, raw: Any) -> int:
        """0 lets the system pick a free port (tests); a container sets 8080."""
        if not stripped(raw):
            return DEFAULT_HTTP_PORT
        return whole_number(raw, low=0, high=MAX_PORT)


def load_settings(*, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings; ``environ`` is injectable so tests need no real environment.

    Raises:
        ConfigError: One line naming every unusable variable, e.g. a retention
            period that is not a whole number in its bounds.
    """
    return Settings.read(environ=os.environ if environ is None else environ, error=ConfigError)
