"""The Telegram adapter's pure parts: HTML, keyboards, deep links, settings, per-chat pacing.

Only the catalogue's own ``*bold*`` and ``_italic_`` become tags; whatever people type
(names, answers, pupil codes) is shown character for character.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.telegram.catalogue_markup import Renderer, instrument_texts, patterns_of
from adapters.telegram.markup import deep_link, keyboard, plain, to_html, valid_start_parameter
from adapters.telegram.pacing import Pacing
from adapters.telegram.settings import TelegramConfigError, TelegramLimits, TelegramSettings
from bot.delivery.buckets import TokenBuckets
from conversations.core.i18n import Catalogue
from conversations.core.limits import PayloadTooLargeError
from conversations.core.messages import Button
from conversations.instrument import Quickscan, load_instruments
from tests.conftest import FakeClock
from tests.fakes.telegram import FakeTelegram, parse_html, running_bot

NL = Catalogue("nl")
EN = Catalogue("en")
HOSTILE = '*vet* _schuin_ <b>tag</b> &amp; <a href="https://x.example">klik</a>'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (NL.t("review.header"), "<b>Samenvatting van je antwoorden</b>"),
        (
            NL.t("q.factor", number=1, sentence="a < b & c > d"),
            "<i>Succesfactor 1: a &lt; b &amp; c &gt; d</i>",
        ),
        (
            EN.t("q.header", factor="Welkom", number=2, total=48),
            "<b>Welkom — question 2 of 48</b>",
        ),
        ("werkpunt_gemiddelde en weinig_zicht", "werkpunt_gemiddelde en weinig_zicht"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("++ + +/- - -- ?", "++ + +/- - -- ?"),
        # Markers and tags that people type are shown as typed.
        ("*Vet* en _schuin_", "*Vet* en _schuin_"),
        ("<b>geen tag</b>", "&lt;b&gt;geen tag&lt;/b&gt;"),
        ("&amp; blijft &amp;", "&amp;amp; blijft &amp;amp;"),
        ("*open\nregel*", "*open\nregel*"),
    ],
)
def test_only_catalogue_markup_becomes_telegram_html(text: str, html: str) -> None:
    assert to_html(text) == html
    # What Telegram shows is the text without the catalogue's markers, nothing escaped twice.
    assert parse_html(to_html(text)) == plain(text)


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ("dm.intro", {"name": HOSTILE, "coordinator": HOSTILE, "title": HOSTILE, "total": 48}),
        ("q.factor", {"number": 3, "sentence": HOSTILE}),
        ("grade.aspect", {"aspect": HOSTILE, "first": 1, "last": 3, "names": HOSTILE}),
        ("q.current", {"answer": HOSTILE}),
    ],
)
def test_typed_text_inside_catalogue_lines_stays_literal(
    key: str, values: dict[str, object]
) -> None:
    text = NL.t(key, **values)
    html = to_html(text)
    shown = parse_html(html)
    assert HOSTILE in shown  # every character the person typed, nothing bold or hidden
    assert shown.count(HOSTILE) == text.count(HOSTILE)
    assert "<a" not in html
    template = NL.t(key)
    if "*" in template or "_" in template:
        assert "<b>" in html or "<i>" in html  # the catalogue's own markup still works


def test_a_typed_line_that_copies_no_catalogue_line_has_no_markup() -> None:
    for line in ("*Samenvatting*", "_Succesfactor_", "*{title}*", "*vet*", "  – *vet*"):
        assert to_html(line) == line
    own = patterns_of(["_{question}_", "*Kop {x}* rest", "geen opmaak {y}"])
    assert len(own) == 2  # the line without markers is no pattern
    renderer = Renderer(trusted=frozenset({"Vraag?"}), known=own)
    # A bare pattern wraps only the instruments' own texts, never a typed line.
    assert renderer.html("_Vraag?_") == "<i>Vraag?</i>"
    assert renderer.html("_Antwoord_") == "_Antwoord_"
    assert renderer.plain("_Vraag?_ ") == "_Vraag?_ "
    assert renderer.html("*Kop *vet** rest") == "<b>Kop *vet*</b> rest"
    assert renderer.plain("*Kop *vet** rest") == "Kop *vet* rest"


def test_a_typed_mention_notifies_nobody() -> None:
    """ "@bram" in an open answer would ping bram from the team result in the group."""
    for render in (to_html, plain):
        shown = render("  – @bram doet nooit mee, vraag @team_lead")
        assert "@bram" not in shown
        assert "@team_lead" not in shown
        assert shown.replace("\u2060", "") == "  – @bram doet nooit mee, vraag @team_lead"
    assert to_html("mail a @ b") == "mail a @ b"  # a lone @ is no mention


def test_the_instruments_open_questions_are_trusted_titles() -> None:
    instruments = load_instruments()
    renderer = Renderer(trusted=instrument_texts(instruments.values()))
    quickscan = instruments["quickscan-po"]
    assert isinstance(quickscan, Quickscan)
    assert quickscan.closing is not None
    title = quickscan.closing.open_questions[0].text
    assert renderer.html(f"_{title}_") == f"<i>{title}</i>"
    assert renderer.html("_vet_") == "_vet_"


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
    secret = webhook.webhook_secret.get_secret_value()
    assert len(secret) >= 32
    assert "1:x" not in secret
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret)  # Telegram's alphabet for secret_token
    # Every replica of one bot derives the same secret; another bot gets another one.
    replica = TelegramSettings.from_environ(environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert replica.webhook_secret.get_secret_value() == secret
    other = TelegramSettings.from_environ(environ={"TELEGRAM_BOT_TOKEN": "2:y"})
    assert other.webhook_secret.get_secret_value() != secret


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


def _waits(limits: TelegramLimits) -> tuple[Callable[[int], float], TokenBuckets]:
    """Seconds until a send to a chat may go, on buckets with a clock that stands still."""
    pacing = Pacing(limits=limits)
    buckets = TokenBuckets(monotonic=lambda: 100.0)

    def wait(chat: int) -> float:
        return buckets.reserve(pacing.limits(workspace="7", chat=chat)).wait

    return wait, buckets


def test_messages_to_one_chat_are_spaced_but_other_chats_are_not() -> None:
    wait, buckets = _waits(
        TelegramLimits(overall_per_second=0, group_per_minute=0, per_chat_interval_s=1)
    )
    assert wait(11) == 0.0
    assert wait(11) == pytest.approx(1.0)  # the same private chat: a second later
    assert wait(12) == 0.0  # another chat: at once
    # A 429 for one chat pauses that chat's bucket only, for Telegram's retry_after.
    buckets.pause(key=Pacing.exhausted(workspace="7", chat=12), seconds=5)
    assert wait(12) == pytest.approx(5.0)
    assert wait(13) == 0.0


def test_a_group_gets_twenty_messages_a_minute_and_others_are_not_held_up() -> None:
    wait, buckets = _waits(
        TelegramLimits(overall_per_second=30, group_per_minute=20, per_chat_interval_s=0)
    )
    assert [wait(-100) for _ in range(20)] == [0.0] * 20
    assert wait(-100) == pytest.approx(3.0)  # then one every three seconds
    assert wait(-200) == 0.0
    assert wait(11) == 0.0
    buckets.pause(key=Pacing.exhausted(workspace="7", chat=-200), seconds=7)
    assert wait(-200) == pytest.approx(7.0)
    assert wait(-300) == 0.0
    # Limits switched off (the tests' FAST_LIMITS) name no bucket at all.
    off = Pacing(
        limits=TelegramLimits(overall_per_second=0, group_per_minute=0, per_chat_interval_s=0)
    )
    assert off.limits(workspace="7", chat=-100) == []


def test_names_with_markup_show_literally_in_group_posts_and_dms(
    clock: FakeClock, tmp_path: Path
) -> None:
    coordinator, member, group = 11, 21, -100888
    with FakeTelegram() as fake:
        fake.add_user(coordinator, "*Anna* <b>&amp;", started=True)
        fake.add_user(member, "_Bram_ <i>")
        fake.add_group(group, title="Team", admins=(coordinator,), members=(member,))
        url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        with running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot:
            fake.send_group(coordinator, group, "/quickscan start")
            announcement = fake.wait_for(lambda: fake.last_message(group))
            assert announcement.shown().startswith("*Anna* <b>&amp; heeft de quickscan")
            assert announcement.html is not None
            assert "<b>Quickscan" in announcement.html  # the title: the catalogue's bold
            token = announcement.buttons[0]["url"].split("start=")[1]
            fake.send_private(member, f"/start {token}")
            intro = fake.wait_for(lambda: fake.prompt(member))
            assert intro.shown().startswith("Hallo _Bram_ <i>! ")
            assert not bot.errors
