"""Engine rules at the event level: forged, stale and foreign input changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.calendar.deadline import DeadlineError, parse_deadline
from bot.commands.parse import Sub, parse_command
from conversations.core.i18n import Catalogue, available_locales, catalogue_keys
from conversations.core.limits import (
    CALLBACK_DATA_MAX_BYTES,
    PayloadTooLargeError,
    check_payload,
    split_text,
)
from conversations.core.messages import Button, DestinationKind, Outbound, Where
from conversations.quickscan.payloads import Action, Verb, decode
from storage.quickscan.records import ParticipationState
from tests.testbot import TestBot


@pytest.fixture
def testbot_members() -> tuple[str, ...]:
    return ("anna", "bram")


def dm_to(messages: list[Outbound], user: str) -> list[Outbound]:
    return [
        m
        for m in messages
        if m.destination.kind is DestinationKind.DM and m.destination.user == user
    ]


def button(message: Outbound, label: str) -> str:
    """The payload of the button labelled ``label`` on ``message``."""
    (found,) = [b for b in message.buttons if b.label == label]
    return found.payload


def state_of(bot: TestBot, user: str) -> tuple[ParticipationState, int, dict[str, str]]:
    (participation,) = bot.store.active_participations(
        platform=bot.team.platform, workspace=bot.team.workspace, user=user
    )
    answers = bot.store.answers(participation_id=participation.id)
    return participation.state, participation.position, answers


def start_round(bot: TestBot) -> list[Outbound]:
    return bot.say("anna", "/quickscan start", where=Where.TEAM)


def test_buttons_walk_and_replace_the_previous_prompt(testbot: TestBot) -> None:
    (intro,) = dm_to(start_round(testbot), "bram")
    (first,) = dm_to(testbot.press("bram", button(intro, "start")), "bram")
    assert "vraag 1 van 48" in first.text
    assert first.replace_previous
    (second,) = dm_to(testbot.press("bram", button(first, "+")), "bram")
    assert "vraag 2 van 48" in second.text
    assert state_of(testbot, "bram") == (ParticipationState.ANSWERING, 1, {"q01": "+"})


def test_stale_button_changes_nothing(testbot: TestBot) -> None:
    (intro,) = dm_to(start_round(testbot), "bram")
    (first,) = dm_to(testbot.press("bram", button(intro, "start")), "bram")
    testbot.press("bram", button(first, "+"))
    before = state_of(testbot, "bram")
    replies = testbot.press("bram", button(first, "--"))  # the question-1 button again
    assert "hoort bij een eerder bericht" in replies[0].text
    assert "vraag 2 van 48" in replies[1].text
    assert state_of(testbot, "bram") == before


def test_forged_payloads_change_nothing(testbot: TestBot) -> None:
    (intro,) = dm_to(start_round(testbot), "bram")
    (first,) = dm_to(testbot.press("bram", button(intro, "start")), "bram")
    before = state_of(testbot, "bram")
    bram_button = first.buttons[0].payload
    # Someone else pressing (or crafting) bram's button.
    stolen = testbot.press("anna", bram_button)
    assert stolen[0].text == Catalogue().t("dm.invalid_button")
    for forged in ("qs:1:zz:0:0", "garbage", "qs:999999:a:0:0", "qs:1:a:0:99"):
        replies = testbot.press("bram", forged)
        assert replies[0].text in {
            Catalogue().t("dm.invalid_button"),
            Catalogue().t("dm.stale"),
        }
    # A button pressed in the team channel.
    in_channel = testbot.press("bram", bram_button, where=Where.TEAM)
    assert in_channel[0].destination.kind is DestinationKind.EPHEMERAL
    assert state_of(testbot, "bram") == before


def test_closed_round_buttons_answer_clearly(testbot: TestBot) -> None:
    (intro,) = dm_to(start_round(testbot), "bram")
    (first,) = dm_to(testbot.press("bram", button(intro, "start")), "bram")
    testbot.say("anna", "/quickscan sluit", where=Where.TEAM)
    replies = testbot.press("bram", button(first, "+"))
    assert replies[0].text == Catalogue().t("dm.round_closed")


def test_team_chatter_is_ignored(testbot: TestBot) -> None:
    assert testbot.say("bram", "goedemorgen allemaal", where=Where.TEAM) == []


def test_edit_jumps_to_a_question_and_returns_to_the_summary(testbot: TestBot) -> None:
    start_round(testbot)
    testbot.say("bram", "start")
    for _ in range(48):
        testbot.say("bram", "+")
    for grade in ("7", "8", "6"):
        testbot.say("bram", grade)
    testbot.say("bram", "Meer kennismakingsgesprekken")
    testbot.say("bram", "overslaan")
    review = testbot.say("bram", "overslaan")
    assert "Samenvatting" in review[-1].text
    assert "Meer kennismakingsgesprekken" in review[-1].text
    sent = testbot.say("bram", "versturen")
    assert "Bedankt" in sent[-1].text
    jumped = testbot.say("bram", "wijzig 12")
    assert "vraag 12 van 48" in jumped[-1].text
    back_to_summary = testbot.say("bram", "--")
    assert "Samenvatting" in back_to_summary[-1].text
    state, _position, answers = state_of(testbot, "bram")
    assert state is ParticipationState.REVIEW
    assert answers["q12"] == "--"
    counts = testbot.store.round_counts(key=testbot.team, round_id=1)
    assert counts.finished == 1  # a reopened answer set keeps counting


def test_every_payload_fits_the_platform_limit() -> None:
    biggest = Action(participation_id=10**12 - 1, verb=Verb.GRADE, position=9999, arg=999)
    assert len(biggest.encode().encode()) <= CALLBACK_DATA_MAX_BYTES
    assert decode(biggest.encode()) == biggest
    with pytest.raises(PayloadTooLargeError):
        check_payload("x" * (CALLBACK_DATA_MAX_BYTES + 1))
    with pytest.raises(PayloadTooLargeError):
        Button(label="ok", payload="é" * 33)


def test_split_text_keeps_every_line_within_the_limit() -> None:
    text = "\n".join(f"regel {n} " + "x" * 50 for n in range(200))
    chunks = split_text(text, limit=500)
    assert all(len(chunk) <= 500 for chunk in chunks)
    assert "\n".join(chunks) == text


def test_commands_parse_with_aliases_and_bot_suffix() -> None:
    assert parse_command("/quickscan close").sub is Sub.SLUIT
    assert parse_command("/quickscan@QuickscanBot sluit").sub is Sub.SLUIT
    assert parse_command("/quickscan").sub is Sub.HELP
    assert parse_command("/quickscan start 15-12").args == ("15-12",)
    assert parse_command("/quickscan nonsense").sub is None


NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15-12", "2026-12-15"),
        ("15-12-2026", "2026-12-15"),
        ("2026-12-15", "2026-12-15"),
        ("1-2", "2027-02-01"),
        ("23-11", "2026-11-23"),
    ],
)
def test_deadlines_read_the_dutch_way(text: str, expected: str) -> None:
    assert parse_deadline(text, now=NOW).date().isoformat() == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31-02-2027", "invalid"),
        ("2026-11-22", "past"),
        ("1-1-2030", "too_far"),
        ("12/x", "invalid"),
    ],
)
def test_bad_deadlines_say_why(text: str, reason: str) -> None:
    with pytest.raises(DeadlineError) as error:
        parse_deadline(text, now=NOW)
    assert str(error.value) == reason
    assert Catalogue().t(f"start.deadline_{reason}", text=text)


def test_catalogues_are_complete_and_every_used_key_exists() -> None:
    keys = catalogue_keys("nl")
    for locale in available_locales():
        assert catalogue_keys(locale) == keys, locale
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("bot", "conversations", "adapters")
        for path in (Path(__file__).resolve().parents[1] / folder).rglob("*.py")
    )
    used = set(re.findall(r"""\bt\(\s*"([a-z_]+\.[a-z_]+)\"""", source))
    used |= set(re.findall(r"""_button\(\s*texts,\s*"([a-z_]+\.[a-z_]+)\"""", source))
    assert used
    assert used <= keys, used - keys
