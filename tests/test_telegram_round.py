"""A whole round on Telegram: the real PTB adapter against the fake Bot API (SQLite, PostgreSQL).

Six colleagues join by the round's deep link, answer with inline buttons (each
answer edits the question in place), one pauses and resumes, open questions are
typed, and the coordinator closes the round: the HTML result, its details as a
reply (split under Telegram's limit) and the chart photo reach the group.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import FakeClock
from tests.fakes.telegram import FakeTelegram, parse_html, running_bot

GROUP = -100123
ANNA, HUGO = 11, 12  # the coordinator (an admin) and a colleague who started the bot earlier
COLLEAGUES = {21: "Bram", 22: "Chris", 23: "Dewi", 24: "Eva", 25: "Fatima", 26: "Gert"}
ANSWERS = {21: "+", 22: "++", 23: "+/-", 24: "-", 25: "?", 26: "+"}
PAUSER = 21
# Typed markup of every kind must arrive as typed: escaped HTML, no bold, no link.
OPEN_ANSWER = (
    'Meer ouderavonden <samen> & vaker *echt* _nu_ <b>x</b> &amp; <a href="https://x.nl">y</a>'
)


@dataclass(frozen=True)
class Press:
    """Press the button labelled ``label`` on the prompt; wait until ``expect`` shows."""

    label: str
    expect: str


@dataclass(frozen=True)
class Say:
    """Type ``text`` in the private chat; wait until ``expect`` shows."""

    text: str
    expect: str


def walkthrough(user: int) -> Iterator[Press | Say]:
    """One colleague's steps from the intro to "versturen"."""
    yield Press("start", "vraag 1 van 48")
    for number in range(1, 49):
        if user == PAUSER and number == 10:
            yield Press("later", "Gepauzeerd")
            yield Say("ik ga verder", "vraag 10 van 48")
        following = f"vraag {number + 1} van 48" if number < 48 else "cijfer 1 van 3"
        yield Press(ANSWERS[user], following)
    yield Press("7", "cijfer 2 van 3")
    yield Press("6", "cijfer 3 van 3")
    yield Press("8", "open vraag 1 van 3")
    yield Say(OPEN_ANSWER, "open vraag 2 van 3")
    yield Press("overslaan", "open vraag 3 van 3")
    yield Press("overslaan", "Samenvatting")
    yield Press("versturen", "Bedankt")


def play(fake: FakeTelegram, users: list[int]) -> None:
    """Everyone takes their next step at once, then the test waits for every reply."""
    steps = {user: walkthrough(user) for user in users}
    current = {user: next(steps[user]) for user in users}
    while current:
        queries: dict[int, str] = {}
        for user, step in current.items():
            if isinstance(step, Press):
                prompt = fake.prompt(user)
                assert prompt is not None, user
                queries[user] = fake.press(user, prompt, label=step.label)
            else:
                fake.send_private(user, step.text)
        for user, step in current.items():
            fake.wait_for(
                lambda user=user, step=step: (
                    (last := fake.last_message(user)) is not None and step.expect in last.shown()
                )
            )
            if user in queries:
                fake.wait_for(lambda query=queries[user]: fake.answer_of(query))
        following = {user: next(steps[user], None) for user in current}
        current = {user: step for user, step in following.items() if step is not None}


def test_a_whole_round_on_telegram(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    with FakeTelegram() as fake:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_user(HUGO, "Hugo")
        for user, name in COLLEAGUES.items():
            fake.add_user(user, name)
        fake.add_group(GROUP, title="Team De Linde", admins=(ANNA,), members=tuple(COLLEAGUES))
        with running_bot(
            fake=fake, database_url=database_url, clock=clock, output_dir=tmp_path
        ) as bot:
            # Hugo opened the bot and spoke in the group before: he is invited at once.
            fake.send_private(HUGO, "/start")
            fake.wait_for(lambda: "geen quickscan voor je open" in fake.last_text(HUGO))
            fake.send_group(HUGO, GROUP, "Goedemorgen allemaal")

            fake.send_group(ANNA, GROUP, f"/quickscan@{'QuickscanTestBot'} start")
            announcement = fake.wait_for(lambda: fake.last_message(GROUP))
            assert "Anna heeft de quickscan" in announcement.shown()
            assert "2 teamleden krijgen een privébericht" in announcement.shown()
            (join,) = announcement.buttons
            assert join["text"] == "Doe mee"
            link = re.fullmatch(
                r"https://t\.me/QuickscanTestBot\?start=([A-Za-z0-9_-]+)", join["url"]
            )
            assert link is not None
            assert len(link[1]) <= 64
            # The coordinator (a group admin) and Hugo got their intro at once.
            for user in (ANNA, HUGO):
                intro = fake.wait_for(lambda user=user: fake.prompt(user))
                assert "individuele antwoorden worden nooit aan iemand getoond" in intro.shown()
                assert intro.labels() == ["start", "later"]

            # Six colleagues open the deep link: /start <token> in their private chat.
            for user in COLLEAGUES:
                fake.send_private(user, f"/start {link[1]}")
            for user, name in COLLEAGUES.items():
                intro = fake.wait_for(lambda user=user: fake.prompt(user))
                assert f"Hallo {name}!" in intro.shown()
                assert "<" not in intro.shown()  # HTML was parsed, not shown

            play(fake, list(COLLEAGUES))

            # Every answer edited the one question message in place.
            for user in COLLEAGUES:
                edits = fake.calls_of("editMessageText", chat_id=user)
                assert len(edits) >= 48 + 3
                edited_ids = {int(call.params["message_id"]) for call in edits}
                assert len(edited_ids) <= (3 if user == PAUSER else 2)
                assert max(m.edits for m in fake.chat_messages(user)) >= 38
            # Questions are shown as HTML with their rows of at most six buttons.
            sample = fake.calls_of("editMessageText", chat_id=22)[5]
            assert sample.params["parse_mode"] == "HTML"
            assert "<b>" in sample.params["text"]
            assert "<i>Succesfactor" in sample.params["text"]
            rows = json.loads(sample.params["reply_markup"])["inline_keyboard"]
            assert [len(row) for row in rows] == [6, 2]  # ++ + +/- - -- ? | « vorige, later
            # The pauser's old question lost its buttons; a new message carried on.
            paused = [m for m in fake.chat_messages(PAUSER) if "Gepauzeerd" in m.shown()]
            assert len(paused) == 1

            fake.send_group(ANNA, GROUP, "/quickscan status")
            status = fake.wait_for(
                lambda: (
                    (m := fake.last_message(GROUP)) and "Stand van de quickscan" in m.shown() and m
                )
            )
            assert "8 uitgenodigd · 6 begonnen · 6 verstuurd" in status.shown()

            before = len(fake.chat_messages(GROUP))
            fake.send_group(ANNA, GROUP, "/quickscan sluit")
            fake.wait_for(lambda: fake.calls_of("sendPhoto", chat_id=GROUP))
            fake.wait_for(lambda: "Voor het teamoverleg" in fake.last_text(GROUP))
            posted = fake.chat_messages(GROUP)[before:]
            headline = posted[0]
            assert headline.shown().startswith("Teamresultaat quickscan")
            assert "Deelname: 6 van 8" in headline.shown()
            headline_call = next(
                c
                for c in fake.calls_of("sendMessage", chat_id=GROUP)
                if "Teamresultaat" in c.params["text"]
            )
            assert headline_call.params["parse_mode"] == "HTML"
            assert headline_call.params["text"].startswith("<b>Teamresultaat quickscan")
            photo = next(m for m in posted if m.photo is not None)
            assert photo.photo is not None
            assert photo.photo.startswith(b"\x89PNG")
            assert photo.caption is not None
            assert len(photo.caption) <= 1024
            details = [m for m in posted if m.reply_to == headline.message_id]
            assert len(details) >= 2, "the details are longer than one Telegram message"
            assert all(len(m.shown()) <= 4096 for m in details)
            shown = "\n".join(m.shown() for m in details)
            assert "1. Vindt de school het belangrijk om samen te werken met ouders?" in shown
            # Typed text arrives as typed: tags, entities and markers shown, not applied.
            assert f"– {OPEN_ANSWER}" in shown
            details_html = "".join(
                c.params["text"]
                for c in fake.calls_of("sendMessage", chat_id=GROUP)
                if "Open antwoorden" in c.params["text"]
            )
            assert "<b>Open antwoorden</b>" in details_html  # the catalogue's own bold
            assert "*echt*" in details_html
            assert "<a " not in details_html
            # ... also in the member's own summary before sending.
            summaries = [
                c.params["text"]
                for c in fake.calls_of("editMessageText", chat_id=22)
                if "Samenvatting" in c.params["text"]
            ]
            assert summaries
            assert OPEN_ANSWER in parse_html(summaries[-1])
            for name in ("Anna", "Hugo", *COLLEAGUES.values()):  # the result names no one
                assert re.search(rf"\b{name}\b", headline.shown() + shown) is None

            fake.send_group(ANNA, GROUP, "/quickscan export")
            document = fake.wait_for(
                lambda: next((m for m in fake.chat_messages(ANNA) if m.document), None)
            )
            assert document.document is not None
            assert document.document.startswith(b"PK")
            assert document.filename is not None
            assert document.filename.endswith(".xlsx")
            assert any("Excel-bestand" in m.shown() for m in fake.chat_messages(ANNA))
            # Delivered, so no copy of it stays behind on the bot's disk.
            fake.wait_for(lambda: not list(tmp_path.rglob("*.xlsx")))
            assert not bot.errors
