"""``TelegramSender`` against the fake Bot API: what each send does and what it reports.

The dispatcher calls :meth:`TelegramSender.send` from its worker threads; here
the test thread plays the worker and the bot's loop runs in a thread of its
own, as in the runner. Every Bot API answer becomes a result for the
dispatcher (sent, retry after, permanent, migrated), never a sleep or a retry
inside the sender, and a message of several calls continues where it stopped.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram import User

from adapters.telegram.application import build_bot
from adapters.telegram.catalogue_markup import Renderer
from adapters.telegram.delivery import TelegramSender
from adapters.telegram.origin import Origin
from adapters.telegram.pacing import Pacing
from adapters.telegram.roster import TelegramRoster
from adapters.telegram.settings import TelegramSettings
from bot.delivery.api import Delivery, Migrated, Permanent, Retry, SendResult, Sent
from conversations.core.i18n import Catalogue
from conversations.core.messages import Button, Destination, Outbound
from storage.db import create_engine_for, migrate
from storage.keys import TeamKey
from tests.fakes.telegram import BOT_ID, BOT_USERNAME, FAST_LIMITS, FakeTelegram

GROUP, BASIC_GROUP, SUPERGROUP = -100777, -4777, -1004777
ANNA, BRAM = 11, 12
WAIT_S = 20.0


@dataclass
class World:
    """The fake Bot API and a sender on its own loop."""

    fake: FakeTelegram
    sender: TelegramSender
    roster: TelegramRoster
    ids: Iterator[int]

    def send(
        self, message: Outbound, *, origin: Origin | None = None, outbox_id: int = 0
    ) -> SendResult:
        """One attempt, as a dispatcher worker makes it (a new outbox id unless given)."""
        delivery = Delivery(
            outbox_id=outbox_id or next(self.ids),
            workspace=str(BOT_ID),
            message=message,
            origin=(origin or Origin()).as_mapping(),
            attempt=1,
        )
        return self.sender.send(delivery)


@contextmanager
def _world() -> Iterator[World]:
    with FakeTelegram() as fake, tempfile.TemporaryDirectory() as folder:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_user(BRAM, "Bram")
        fake.add_group(GROUP, title="Team", admins=(ANNA,), members=(BRAM,))
        fake.add_group(BASIC_GROUP, title="Klein", admins=(ANNA,), basic=True)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="bot-loop")
        thread.start()
        settings = TelegramSettings.from_environ(
            environ={"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        )
        bot = build_bot(settings=settings)
        asyncio.run_coroutine_threadsafe(bot.initialize(), loop).result(WAIT_S)
        engine = create_engine_for(url=f"sqlite:///{folder}/roster.sqlite3")
        migrate(engine=engine)
        roster = TelegramRoster(engine=engine)
        roster.workspace = str(BOT_ID)
        sender = TelegramSender(
            bot=bot,
            loop=loop,
            roster=roster,
            limits=FAST_LIMITS,
            renderer=Renderer(),
            bot_username=BOT_USERNAME,
        )
        try:
            yield World(fake=fake, sender=sender, roster=roster, ids=iter(range(1, 10**6)))
        finally:
            sender.close()
            asyncio.run_coroutine_threadsafe(bot.shutdown(), loop).result(WAIT_S)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(WAIT_S)
            loop.close()
            engine.dispose()


@pytest.fixture
def world() -> Iterator[World]:
    with _world() as made:
        yield made


def _dm(
    user: int, text: str, *, buttons: tuple[Button, ...] = (), replace_previous: bool = False
) -> Outbound:
    return Outbound(
        destination=Destination.dm(team=str(GROUP), user=str(user)),
        text=text,
        buttons=buttons,
        replace_previous=replace_previous,
    )


def test_a_result_that_hit_a_429_half_way_goes_on_where_it_stopped(
    world: World, tmp_path: Path
) -> None:
    fake = world.fake
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG fake chart")
    headline = "Teamresultaat\n" + "Een lange regel over het resultaat. " * 40  # > a caption
    result = Outbound(
        destination=Destination.team_channel(team=str(GROUP)),
        text=headline,
        image=chart,
        details="Details per vraag",
    )
    fake.fail_next(
        "sendPhoto", chat_id=GROUP, code=429, description="Too Many Requests", retry_after=7
    )
    first = world.send(result, outbox_id=41)
    assert first == Retry(
        after=7.0, reason="429", limit_key=Pacing.exhausted(workspace=str(BOT_ID), chat=GROUP)
    )
    assert world.send(result, outbox_id=41) == Sent()  # the dispatcher's next attempt

    posted = fake.chat_messages(GROUP)
    assert [m.photo is not None for m in posted] == [False, True, False]
    head, photo, details = posted
    assert head.shown().startswith("Teamresultaat")  # once, not again after the 429
    assert photo.caption == "Teamresultaat"
    assert details.reply_to == head.message_id
    assert [c.error_code for c in fake.calls_of("sendPhoto", chat_id=GROUP)] == [429, None]


def test_the_pressed_prompt_is_replaced_once_per_press(world: World) -> None:
    fake = world.fake
    question = Button(label="++", payload="qs:1:a:0:0")
    assert world.send(_dm(ANNA, "Vraag 1", buttons=(question,))) == Sent()
    prompt = fake.prompt(ANNA)
    assert prompt is not None
    press = Origin(
        chat_id=ANNA,
        message_id=prompt.message_id,
        edit_message_id=prompt.message_id,
        presser=str(ANNA),
        update_id=500,
    )
    nxt = _dm(ANNA, "Vraag 2", buttons=(question,), replace_previous=True)
    assert world.send(nxt, origin=press, outbox_id=61) == Sent()
    assert fake.last_text(ANNA) == "Vraag 2"
    assert len(fake.chat_messages(ANNA)) == 1  # edited in place
    # The same row again (its first answer was lost): still that one message.
    assert world.send(nxt, origin=press, outbox_id=61) == Sent()
    assert len(fake.chat_messages(ANNA)) == 1
    # Another message caused by the same press does not overwrite it: it follows it.
    also = _dm(ANNA, "Vraag 3", buttons=(question,), replace_previous=True)
    assert world.send(also, origin=press, outbox_id=62) == Sent()
    assert [m.shown() for m in fake.chat_messages(ANNA)] == ["Vraag 2", "Vraag 3"]


def test_a_step_in_a_new_message_takes_the_old_buttons_away(world: World) -> None:
    fake = world.fake
    assert (
        world.send(_dm(ANNA, "Vraag 1", buttons=(Button(label="later", payload="x"),))) == Sent()
    )
    prompt = fake.prompt(ANNA)
    assert prompt is not None
    press = Origin(chat_id=ANNA, edit_message_id=prompt.message_id, presser=str(ANNA))
    assert world.send(_dm(ANNA, "Gepauzeerd"), origin=press) == Sent()
    assert prompt.buttons == []
    assert fake.last_text(ANNA) == "Gepauzeerd"


def test_a_refusal_shown_as_the_press_notice_is_not_sent_again(world: World) -> None:
    refusal = _dm(ANNA, Catalogue().t("dm.invalid_button"))
    press = Origin(chat_id=ANNA, edit_message_id=1, presser=str(ANNA))
    assert world.send(refusal, origin=press) == Sent()
    assert world.fake.calls_of("sendMessage") == []
    assert world.send(refusal) == Sent()  # not a press's refusal: it is sent
    assert world.fake.last_text(ANNA) == refusal.text


def test_a_member_who_never_started_the_bot_is_unreachable_for_good(world: World) -> None:
    fake = world.fake
    assert world.send(_dm(BRAM, "Uitnodiging")) == Permanent(reason="forbidden")
    assert world.roster.is_unreachable(user=str(BRAM))
    assert world.send(_dm(BRAM, "Herinnering")) == Permanent(reason="unreachable")
    assert len(fake.calls_of("sendMessage", chat_id=BRAM)) == 1  # never tried again
    # A reply only Bram may see falls back to the group, as a reply to his command.
    command = fake.send_group(BRAM, GROUP, "/quickscan status")
    private = Outbound(
        destination=Destination.ephemeral(team=str(GROUP), user=str(BRAM)), text="Stand: 2"
    )
    origin = Origin(chat_id=GROUP, message_id=command["message"]["message_id"])
    assert world.send(private, origin=origin) == Sent()
    fallback = fake.last_message(GROUP)
    assert fallback is not None
    assert fallback.shown().startswith("Stand: 2")
    assert fallback.reply_to == command["message"]["message_id"]
    assert fallback.buttons[0]["url"] == f"https://t.me/{BOT_USERNAME}"


def test_a_group_that_became_a_supergroup_is_reported_with_its_new_id(world: World) -> None:
    fake = world.fake
    world.roster.seen(group=str(BASIC_GROUP), user=_user(ANNA))
    world.roster.started(user=_user(ANNA))
    fake.upgrade_group(BASIC_GROUP, to=SUPERGROUP, by=ANNA, notify=False)
    post = Outbound(destination=Destination.team_channel(team=str(BASIC_GROUP)), text="Hallo")
    assert world.send(post) == Migrated(new_team=str(SUPERGROUP))
    # The roster followed: the group's members are now the supergroup's.
    supergroup = world.roster.members(team=_key(SUPERGROUP))
    assert [member.user for member in supergroup] == [str(ANNA)]
    assert world.roster.members(team=_key(BASIC_GROUP)) == []


def _user(user_id: int) -> User:
    return User(id=user_id, first_name="Anna", is_bot=False)


def _key(team: int) -> TeamKey:
    return TeamKey(platform="telegram", workspace=str(BOT_ID), team=str(team))
