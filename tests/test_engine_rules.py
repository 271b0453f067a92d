"""Engine rules at the event level: forged, stale and foreign input changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.calendar.deadline import DeadlineError, parse_deadline
from bot.commands.parse import Sub, parse_command
from bot.core.engine import Engine
from conversations.core.i18n import Catalogue, available_locales, catalogue_keys
from conversations.core.limits import (
    CALLBACK_DATA_MAX_BYTES,
    PayloadTooLargeError,
    check_payload,
    split_text,
)
from conversations.core.messages import Button, DestinationKind, Inbound, Outbound, Sender, Where
from conversations.instrument import load_instruments
from conversations.quickscan.payloads import Action, Verb, decode
from storage.keys import TeamKey
from storage.quickscan.records import ParticipationState
from storage.quickscan.store import Store
from tests.conftest import FakeClock

TEAM = TeamKey(platform="console", workspace="w1", team="t1")


class Roster:
    def __init__(self, *names: str) -> None:
        self.names = names

    def members(self, *, team: TeamKey) -> list[Sender]:
        return [Sender(user=name, display_name=name.title()) for name in self.names]


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    store = Store.open(url=f"sqlite:///{tmp_path / 'rules.sqlite3'}")
    yield Engine(
        store=store,
        instruments=load_instruments(),
        roster=Roster("anna", "bram"),
        clock=clock,
        output_dir=tmp_path / "output",
    )
    store.close()


def said(
    user: str, text: str = "", *, where: Where = Where.DM, payload: str | None = None
) -> Inbound:
    return Inbound(
        platform=TEAM.platform,
        workspace=TEAM.workspace,
        team=TEAM.team,
        where=where,
        sender=Sender(user=user, display_name=user),
        text=text,
        payload=payload,
    )


def dm_to(messages: list[Outbound], user: str) -> list[Outbound]:
    return [
        m
        for m in messages
        if m.destination.kind is DestinationKind.DM and m.destination.user == user
    ]


def press(engine: Engine, user: str, message: Outbound, label: str) -> list[Outbound]:
    (button,) = [b for b in message.buttons if b.label == label]
    return engine.handle(said(user, payload=button.payload))


def state_of(engine: Engine, user: str) -> tuple[ParticipationState, int, dict[str, str]]:
    (participation,) = engine.store.active_participations(
        platform=TEAM.platform, workspace=TEAM.workspace, user=user
    )
    answers = engine.store.answers(participation_id=participation.id)
    return participation.state, participation.position, answers


def start_round(engine: Engine) -> list[Outbound]:
    return engine.handle(said("anna", "/quickscan start", where=Where.TEAM))


def test_buttons_walk_and_replace_the_previous_prompt(engine: Engine) -> None:
    (intro,) = dm_to(start_round(engine), "bram")
    (first,) = dm_to(press(engine, "bram", intro, "start"), "bram")
    assert "vraag 1 van 48" in first.text
    assert first.replace_previous
    (second,) = dm_to(press(engine, "bram", first, "+"), "bram")
    assert "vraag 2 van 48" in second.text
    assert state_of(engine, "bram") == (ParticipationState.ANSWERING, 1, {"q01": "+"})


def test_stale_button_changes_nothing(engine: Engine) -> None:
    (intro,) = dm_to(start_round(engine), "bram")
    (first,) = dm_to(press(engine, "bram", intro, "start"), "bram")
    press(engine, "bram", first, "+")
    before = state_of(engine, "bram")
    replies = press(engine, "bram", first, "--")  # the question-1 button again
    assert "hoort bij een eerder bericht" in replies[0].text
    assert "vraag 2 van 48" in replies[1].text
    assert state_of(engine, "bram") == before


def test_forged_payloads_change_nothing(engine: Engine) -> None:
    (intro,) = dm_to(start_round(engine), "bram")
    (first,) = dm_to(press(engine, "bram", intro, "start"), "bram")
    before = state_of(engine, "bram")
    bram_button = first.buttons[0].payload
    # Someone else pressing (or crafting) bram's button.
    stolen = engine.handle(said("anna", payload=bram_button))
    assert stolen[0].text == Catalogue().t("dm.invalid_button")
    for forged in ("qs:1:zz:0:0", "garbage", "qs:999999:a:0:0", "qs:1:a:0:99"):
        replies = engine.handle(said("bram", payload=forged))
        assert replies[0].text in {
            Catalogue().t("dm.invalid_button"),
            Catalogue().t("dm.stale"),
        }
    # A button pressed in the team channel.
    in_channel = engine.handle(said("bram", where=Where.TEAM, payload=bram_button))
    assert in_channel[0].destination.kind is DestinationKind.EPHEMERAL
    assert state_of(engine, "bram") == before


def test_closed_round_buttons_answer_clearly(engine: Engine) -> None:
    (intro,) = dm_to(start_round(engine), "bram")
    (first,) = dm_to(press(engine, "bram", intro, "start"), "bram")
    engine.handle(said("anna", "/quickscan sluit", where=Where.TEAM))
    replies = press(engine, "bram", first, "+")
    assert replies[0].text == Catalogue().t("dm.round_closed")


def test_team_chatter_is_ignored(engine: Engine) -> None:
    assert engine.handle(said("bram", "goedemorgen allemaal", where=Where.TEAM)) == []


def test_edit_jumps_to_a_question_and_returns_to_the_summary(engine: Engine) -> None:
    start_round(engine)
    engine.handle(said("bram", "start"))
    for _ in range(48):
        engine.handle(said("bram", "+"))
    for grade in ("7", "8", "6"):
        engine.handle(said("bram", grade))
    engine.handle(said("bram", "Meer kennismakingsgesprekken"))
    engine.handle(said("bram", "overslaan"))
    review = engine.handle(said("bram", "overslaan"))
    assert "Samenvatting" in review[-1].text
    assert "Meer kennismakingsgesprekken" in review[-1].text
    sent = engine.handle(said("bram", "versturen"))
    assert "Bedankt" in sent[-1].text
    jumped = engine.handle(said("bram", "wijzig 12"))
    assert "vraag 12 van 48" in jumped[-1].text
    back_to_summary = engine.handle(said("bram", "--"))
    assert "Samenvatting" in back_to_summary[-1].text
    state, _position, answers = state_of(engine, "bram")
    assert state is ParticipationState.REVIEW
    assert answers["q12"] == "--"
    counts = engine.store.round_counts(key=TEAM, round_id=1)
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
