"""Settings: secrets never show, and a wrong variable stops the bot in one line naming it.

Issue 11 found tokens in the settings dataclasses' reprs. Every settings object
(start-up, Slack in both modes, Telegram) is printed, logged and dumped here with
a recognisable secret in each secret variable; none may show up. Every variable
with a checked value is then set wrong, one at a time: the error is one line, it
names that variable, and a secret given wrong is not echoed back.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from pydantic import BaseModel

from adapters.slack.config import SlackConfig, SlackConfigError
from adapters.startup.config import ConfigError, load_settings
from adapters.telegram.settings import TelegramConfigError, TelegramSettings
from storage.crypto import ENCRYPTION_KEY_ENV, generate_key
from tests.test_slack_process import clean_environment

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-geheim-bot-token",
    "SLACK_APP_TOKEN": "xapp-geheim-app-token",
    "SLACK_SIGNING_SECRET": "geheim-signing-secret",
    "TELEGRAM_BOT_TOKEN": "123:geheim-telegram-token",
    "TELEGRAM_WEBHOOK_SECRET": "geheim-webhook-secret",
}
DB_URL = "postgresql://quickscan:geheim-db-wachtwoord@db.school.nl:5432/quickscan"
MARK = "geheim"  # in every secret above, and in nothing else
RUN_TIMEOUT_S = 60

Reader = Callable[[Mapping[str, str]], BaseModel]


def _start_up(environ: Mapping[str, str]) -> BaseModel:
    return load_settings(environ=environ)


def _slack(environ: Mapping[str, str]) -> BaseModel:
    return SlackConfig.from_environ(environ=environ)


def _telegram(environ: Mapping[str, str]) -> BaseModel:
    return TelegramSettings.from_environ(environ=environ)


SETTINGS: dict[str, tuple[Reader, dict[str, str]]] = {
    "start-up": (_start_up, {**SECRETS, "QUICKSCAN_DATABASE_URL": DB_URL}),
    "slack-socket": (_slack, SECRETS),
    "slack-http": (_slack, {**SECRETS, "SLACK_MODE": "http"}),
    "telegram-webhook": (
        _telegram,
        {**SECRETS, "TELEGRAM_WEBHOOK_URL": "https://bot.school.nl/telegram"},
    ),
}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_no_secret_shows_in_a_repr_a_string_a_log_line_or_a_dump(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    read, environ = SETTINGS[name]
    settings = read(environ)
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests.settings").info("settings: %s / %r", settings, settings)
    shown = [
        repr(settings),
        str(settings),
        f"{settings}",
        settings.model_dump_json(),
        str(settings.model_dump()),
        caplog.text,
    ]
    assert [text for text in shown if MARK in text] == []
    assert "**********" in repr(settings)  # the secrets are there, masked


def test_the_secrets_are_still_there_for_the_sdk_calls() -> None:
    """Masked in every text, but the SDK calls get the real values."""
    start_up = load_settings(environ={**SECRETS, "QUICKSCAN_DATABASE_URL": DB_URL})
    assert start_up.database_url.get_secret_value() == DB_URL
    assert start_up.platforms == ("slack", "telegram")
    slack = SlackConfig.from_environ(environ={**SECRETS, "SLACK_MODE": "http"})
    assert slack.bot_token.get_secret_value() == SECRETS["SLACK_BOT_TOKEN"]
    assert slack.signing_secret is not None
    assert slack.signing_secret.get_secret_value() == SECRETS["SLACK_SIGNING_SECRET"]
    assert slack.app_token is None  # HTTP mode keeps only its own credential
    telegram = TelegramSettings.from_environ(environ=SECRETS)
    assert telegram.token.get_secret_value() == SECRETS["TELEGRAM_BOT_TOKEN"]
    assert telegram.webhook_secret.get_secret_value() == SECRETS["TELEGRAM_WEBHOOK_SECRET"]


def test_the_http_address_of_serve_has_defaults_and_can_be_set() -> None:
    default = load_settings(environ={})
    assert (default.http_host, default.http_port) == ("127.0.0.1", 8080)
    chosen = load_settings(environ={"QUICKSCAN_HTTP_HOST": "10.0.0.5", "QUICKSCAN_HTTP_PORT": "0"})
    assert (chosen.http_host, chosen.http_port) == ("10.0.0.5", 0)


def test_the_real_environment_is_not_mixed_into_an_injected_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUICKSCAN_HTTP_PORT", "9999")
    monkeypatch.setenv("SLACK_PORT", "9999")
    assert load_settings(environ={}).http_port == 8080
    assert load_settings().http_port == 9999
    http = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert SlackConfig.from_environ(environ=http).port == 3000


SLACK_HTTP = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
TELEGRAM = {"TELEGRAM_BOT_TOKEN": "1:x"}
# (reader, error class, the rest of a good environment, the variable, a wrong value)
BAD = [
    (_start_up, ConfigError, {}, "QUICKSCAN_RETENTION_MONTHS", "twaalf"),
    (_start_up, ConfigError, {}, "QUICKSCAN_RETENTION_MONTHS", "121"),
    (_start_up, ConfigError, {}, "QUICKSCAN_EVENT_RETENTION_DAYS", "0"),
    (_start_up, ConfigError, {}, "QUICKSCAN_HTTP_PORT", "abc"),
    (_start_up, ConfigError, {}, "QUICKSCAN_HTTP_PORT", "65536"),
    (_slack, SlackConfigError, {}, "SLACK_BOT_TOKEN", " "),
    (_slack, SlackConfigError, SLACK_HTTP, "SLACK_PORT", "abc"),
    (_slack, SlackConfigError, SLACK_HTTP, "SLACK_PORT", "-1"),
    (_slack, SlackConfigError, SLACK_HTTP, "SLACK_MESSAGES_PER_SECOND", "inf"),
    (_slack, SlackConfigError, SLACK_HTTP, "SLACK_MODE", "websocket"),
    (_slack, SlackConfigError, {"SLACK_BOT_TOKEN": "x"}, "SLACK_APP_TOKEN", "geheim-xoxb"),
    (_telegram, TelegramConfigError, {}, "TELEGRAM_BOT_TOKEN", ""),
    (_telegram, TelegramConfigError, TELEGRAM, "TELEGRAM_API_BASE_URL", "ftp://x"),
    (_telegram, TelegramConfigError, TELEGRAM, "TELEGRAM_WEBHOOK_URL", "geheim.school.nl"),
    (_telegram, TelegramConfigError, TELEGRAM, "TELEGRAM_WEBHOOK_PORT", "0"),
    (_telegram, TelegramConfigError, TELEGRAM, "TELEGRAM_WEBHOOK_PORT", "http"),
    (_telegram, TelegramConfigError, TELEGRAM, "TELEGRAM_WEBHOOK_SECRET", "geheim met spatie"),
]


@pytest.mark.parametrize(
    ("read", "error", "good", "variable", "value"),
    BAD,
    ids=[f"{variable}={value!r}" for _, _, _, variable, value in BAD],
)
def test_a_wrong_variable_is_named_in_one_line(
    read: Reader,
    error: type[ValueError],
    good: dict[str, str],
    variable: str,
    value: str,
) -> None:
    with pytest.raises(error) as raised:
        read({**good, variable: value})
    message = str(raised.value)
    assert variable in message
    assert "\n" not in message
    assert MARK not in message  # a wrong secret (or a URL path) is not echoed
    assert raised.value.__cause__ is None  # pydantic's multi-line error is not chained
    assert raised.value.__suppress_context__


def test_a_wrong_value_that_is_no_secret_is_quoted_to_help_the_reader() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"QUICKSCAN_HTTP_PORT": "80a\n80"})
    assert str(raised.value) == (
        "QUICKSCAN_HTTP_PORT must be a whole number from 0 to 65535 (got '80a\\n80')"
    )


def test_several_wrong_variables_are_all_named_in_the_one_line() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            environ={"QUICKSCAN_RETENTION_MONTHS": "0", "QUICKSCAN_EVENT_RETENTION_DAYS": "x"}
        )
    message = str(raised.value)
    assert "\n" not in message
    assert "QUICKSCAN_RETENTION_MONTHS" in message
    assert "QUICKSCAN_EVENT_RETENTION_DAYS" in message


def _quickscan(*args: str, environ: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.startup.cli", *args],
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({"QUICKSCAN_RETENTION_MONTHS": "twaalf"}, "QUICKSCAN_RETENTION_MONTHS"),
        ({"QUICKSCAN_HTTP_PORT": "abc", **SLACK_HTTP}, "QUICKSCAN_HTTP_PORT"),
        ({**SLACK_HTTP, "SLACK_PORT": "abc"}, "SLACK_PORT"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "geheim"}, "SLACK_APP_TOKEN"),
        ({**TELEGRAM, "TELEGRAM_WEBHOOK_SECRET": "geheim!"}, "TELEGRAM_WEBHOOK_SECRET"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_quickscan_run_with_a_wrong_variable_exits_2_with_one_line(
    tmp_path: Path, extra: dict[str, str], variable: str
) -> None:
    environ = {
        **clean_environment(tmp_path),
        "QUICKSCAN_DATABASE_URL": f"sqlite:///{tmp_path / 'quickscan.sqlite3'}",
        # Without a key the bot warns on stderr first; here only the error may show.
        ENCRYPTION_KEY_ENV: generate_key(),
        **extra,
    }
    done = _quickscan("run", environ=environ)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("quickscan: ")
    assert variable in line
    assert MARK not in line
    assert done.stdout == ""
