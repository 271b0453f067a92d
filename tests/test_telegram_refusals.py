"""Oversize, garbage and forged button presses are refused with a notice and change nothing."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import FakeClock
from tests.fakes.telegram import BotUnderTest, FakeMessage, FakeTelegram, running_bot

GROUP = -100555
ANNA, BRAM, CHRIS = 11, 12, 13
INVALID = "Deze knop is niet (meer) geldig. Er is niets gewijzigd."


def _participation(prompt: FakeMessage) -> int:
    found = re.match(r"qs:(\d+):", prompt.buttons[0]["callback_data"])
    assert found is not None
    return int(found[1])


def _snapshot(fake: FakeTelegram, bot: BotUnderTest, participations: list[int]) -> object:
    """Everything a refused press must leave alone: answers and the bot's output."""
    answers = [bot.store.answers(participation_id=p) for p in participations]
    output = [
        (call.method, call.chat_id)
        for call in fake.calls
        if call.method in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}
    ]
    return answers, output


def test_bad_presses_are_refused_with_a_notice(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_user(BRAM, "Bram")
        fake.add_user(CHRIS, "Chris")
        fake.add_group(GROUP, title="Team", admins=(ANNA,), members=(BRAM, CHRIS))
        fake.send_group(ANNA, GROUP, "/quickscan start")
        announcement = fake.wait_for(lambda: fake.last_message(GROUP))
        token = announcement.buttons[0]["url"].split("start=")[1]
        for user in (BRAM, CHRIS):
            fake.send_private(user, f"/start {token}")
            intro = fake.wait_for(lambda user=user: fake.prompt(user))
            fake.press(user, intro, label="start")
            fake.wait_for(lambda user=user: "vraag 1 van 48" in fake.last_text(user))
        bram_prompt = fake.prompt(BRAM)
        chris_prompt = fake.prompt(CHRIS)
        assert bram_prompt is not None
        assert chris_prompt is not None
        bram, chris = _participation(bram_prompt), _participation(chris_prompt)
        before = _snapshot(fake, bot, [bram, chris])

        forged = {
            "oversize": "qs:" + "9" * 197,  # 200 bytes: Telegram never sends this
            "garbage": "hello",
            "unknown participation": "qs:999999:a:0:1",
            "another member's button": f"qs:{chris}:a:0:1",
            "edited value": f"qs:{bram}:a:0:9",
            "edited verb": f"qs:{bram}:zz:0",
        }
        for what, data in forged.items():
            query = fake.press(BRAM, bram_prompt, data=data)
            answer = fake.wait_for(lambda query=query: fake.answer_of(query))
            assert answer.get("text") == INVALID, what
        # A button payload pressed on a group message is foreign there too.
        query = fake.press(BRAM, announcement, data=f"qs:{bram}:a:0:1")
        assert fake.wait_for(lambda: fake.answer_of(query)).get("text") == INVALID

        assert _snapshot(fake, bot, [bram, chris]) == before
        assert "vraag 1 van 48" in fake.last_text(BRAM)
        assert fake.prompt(BRAM) == bram_prompt  # still the same message, buttons and all

        # A stale position is refused too; the member is shown where they are.
        query = fake.press(BRAM, bram_prompt, data=f"qs:{bram}:a:7:1")
        answer = fake.wait_for(lambda: fake.answer_of(query))
        assert "hoort bij een eerder bericht" in answer["text"]
        fake.wait_for(lambda: len(fake.chat_messages(BRAM)) == 2)
        assert "vraag 1 van 48" in fake.last_text(BRAM)
        assert bot.store.answers(participation_id=bram) == {}
        assert not bot.errors


def test_a_message_without_text_gets_the_hint_for_where_the_member_is(
    clock: FakeClock, tmp_path: Path
) -> None:
    """A location, photo or sticker is answered like an empty message, not ignored."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,), members=())
        fake.send_group(ANNA, GROUP, "/quickscan start")
        intro = fake.wait_for(lambda: fake.prompt(ANNA))
        fake.press(ANNA, intro, label="start")
        fake.wait_for(lambda: "vraag 1 van 48" in fake.last_text(ANNA))
        sent = len(fake.chat_messages(ANNA))
        fake.send_private_location(ANNA)
        fake.wait_for(lambda: len(fake.chat_messages(ANNA)) > sent)
        hint = fake.chat_messages(ANNA)[sent].shown()
        assert "Dat antwoord ken ik niet" in hint
        participation = _participation(fake.wait_for(lambda: fake.prompt(ANNA)))
        assert bot.store.answers(participation_id=participation) == {}
