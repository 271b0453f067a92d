"""The Telegram adapter's pure parts: HTML, keyboards, deep links, settings, per-chat pacing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapters.telegram.markup import deep_link, keyboard, plain, to_html, valid_start_parameter
from adapters.telegram.rate_limit import ChatRateLimiter
from adapters.telegram.settings import TelegramConfigError, TelegramLimits, TelegramSettings
from bot.limits import PayloadTooLargeError
from bot.messages import Button
from tests.fake_telegram import parse_html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*Vet* en _schuin_", "<b>Vet</b> en <i>schuin</i>"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("<b>geen tag</b>", "&lt;b&gt;geen tag&lt;/b&gt;"),
        ("werkpunt_gemiddelde en weinig_zicht", "werkpunt_gemiddelde en weinig_zicht"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("*open\nregel*", "*open\nregel*"),
        ("_Succesfactor 1: *kern*_", "<i>Succesfactor 1: <b>kern</b></i>"),
        ("++ + +/- - -- ?", "++ + +/- - -- ?"),
    ],
)
def test_markup_becomes_escaped_telegram_html(text: str, html: str) -> None:
    assert to_html(text) == html
    # What Telegram shows is the text without our markers, nothing escaped twice.
    assert parse_html(to_html(text)) == plain(text)


def test_keyboards_keep_short_answers_six_to_a_row() -> None:
    answers = [Button(label=code, payload=f"qs:1:a:0:{i}") for i, code in enumerate("abcdef")]
    grades = [Button(label=str(g), payload=f"qs:1:g:0:{g}") for g in range(1, 11)]
    navigation = [
        Button(label="« vorige", payload="qs:1:b:0"),
        Button(label="later", payload="qs:1:p:0"),
    ]
    rows = keyboard([*answers, *navigation])
    assert rows is not None
    assert [len(row) for row in rows.inline_keyboard] == [6, 2]
    rows = keyboard([*grades, *navigation])
    assert rows is not None
    assert [len(row) for row in rows.inline_keyboard] == [6, 4, 2]
    assert keyboard([]) is None


def test_an_oversize_payload_never_reaches_telegram() -> None:
    button = Button(label="x", payload="qs:1:a:0:1")
    object.__setattr__(button, "payload", "q" * 65)  # built around the check on purpose
    with pytest.raises(PayloadTooLargeError):
        keyboard([button])


def test_deep_links_take_only_valid_start_parameters() -> None:
    join = "Ab_9-x"
    assert deep_link(bot_username="QuickscanBot", token=join) == (
        "https://t.me/QuickscanBot?start=Ab_9-x"
    )
    assert valid_start_parameter("a" * 64)
    for bad in ("", "a" * 65, "met spatie", "a+b", "ä"):
        assert not valid_start_parameter(bad)
        with pytest.raises(ValueError, match="start parameter"):
            deep_link(bot_username="QuickscanBot", token=bad)


def test_settings_from_the_environment() -> None:
    polling = TelegramSettings.from_environ(environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert polling.webhook_url is None
    assert polling.bot_base_url == "https://api.telegram.org/bot"
    webhook = TelegramSettings.from_environ(
        environ={
            "TELEGRAM_BOT_TOKEN": "1:x",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/",
            "TELEGRAM_WEBHOOK_URL": "https://bot.school.nl/telegram/hook/",
        }
    )
    assert webhook.bot_base_url == "http://127.0.0.1:8081/bot"
    assert webhook.file_base_url == "http://127.0.0.1:8081/file/bot"
    assert webhook.webhook_path == "/telegram/hook"
    assert webhook.webhook_port == 8443
    assert len(webhook.webhook_secret) >= 32
    other = TelegramSettings.from_environ(environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert other.webhook_secret != webhook.webhook_secret  # generated per start


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({"TELEGRAM_WEBHOOK_URL": "bot.school.nl"}, "TELEGRAM_WEBHOOK_URL"),
        ({"TELEGRAM_WEBHOOK_PORT": "70000"}, "TELEGRAM_WEBHOOK_PORT"),
        ({"TELEGRAM_WEBHOOK_SECRET": "met spatie"}, "TELEGRAM_WEBHOOK_SECRET"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], named: str) -> None:
    full = {"TELEGRAM_BOT_TOKEN": "1:x", **environ} if environ else {}
    with pytest.raises(TelegramConfigError, match=named):
        TelegramSettings.from_environ(environ=full)


def test_messages_to_one_chat_are_spaced_but_other_chats_are_not() -> None:
    limiter = ChatRateLimiter(
        limits=TelegramLimits(
            overall_per_second=0, group_per_minute=0, per_chat_interval_s=0.3, max_retries=0
        )
    )
    sent: list[tuple[int, float]] = []

    async def send(chat: int) -> bool:
        sent.append((chat, time.monotonic()))
        return True

    async def scenario() -> None:
        async def request(chat: int) -> Any:
            return await limiter.process_request(
                send, (chat,), {}, "sendMessage", {"chat_id": chat}, None
            )

        await asyncio.gather(request(1), request(1), request(2))

    asyncio.run(scenario())
    times = {chat: [at for c, at in sent if c == chat] for chat in (1, 2)}
    assert times[1][1] - times[1][0] >= 0.25
    assert times[2][0] - times[1][0] < 0.2
