"""A group upgraded to a supergroup keeps its team, open round and settings under the new id.

Telegram gives the supergroup a new chat id. The bot learns it from the service
message in the old group (``migrate_to_chat_id``), or, when it missed that, from
the answer to its next message to the old id (400 with ``migrate_to_chat_id``,
PTB's ChatMigrated). Either way the team moves, the round can be closed in the
new group, and the message that failed goes to the new group instead.
"""

from __future__ import annotations

from pathlib import Path

from bot.delivery.outbox import Outbox
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from storage.delivery.outbox import OutboxStore
from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.telegram import BOT_ID, BotUnderTest, FakeTelegram, eventually, running_bot

OLD, NEW = -4001, -1004001
ANNA, BRAM = 11, 12
MINIMUM_TEXT = "vanaf 6 ingevulde quickscans"


def _key(team: int) -> TeamKey:
    return TeamKey(platform="telegram", workspace=str(BOT_ID), team=str(team))


def _open_round_in_a_basic_group(fake: FakeTelegram) -> None:
    """Anna (an admin) sets the minimum and starts a round; Bram is invited."""
    fake.add_user(ANNA, "Anna", started=True)
    fake.add_user(BRAM, "Bram", started=True)
    fake.add_group(OLD, title="Team", admins=(ANNA,), members=(BRAM,), basic=True)
    # Bram opened the bot and speaks in the group, so the round invites him directly.
    fake.send_private(BRAM, "/start")
    fake.send_group(BRAM, OLD, "Hallo")
    fake.wait_for(lambda: fake.last_message(BRAM))  # his chat is handled on its own
    fake.send_group(ANNA, OLD, "/quickscan minimum 6")
    fake.wait_for(lambda: MINIMUM_TEXT in fake.last_text(OLD))
    fake.send_group(ANNA, OLD, "/quickscan start")
    fake.wait_for(lambda: "heeft de quickscan" in fake.last_text(OLD))
    fake.wait_for(lambda: fake.prompt(BRAM))


def _moved(bot: BotUnderTest) -> bool:
    new = bot.store.get_team(key=_key(NEW))
    return (
        new is not None
        and bot.store.get_team(key=_key(OLD)) is None
        and bot.store.current_round(key=_key(NEW)) is not None
    )


def _close_in_the_new_group(fake: FakeTelegram, bot: BotUnderTest) -> None:
    """The round goes on in the supergroup: status and close work there."""
    fake.send_group(ANNA, NEW, "/quickscan status")
    status = fake.wait_for(lambda: "Stand van de quickscan" in fake.last_text(NEW))
    assert status
    assert "2 uitgenodigd" in fake.last_text(NEW)
    fake.send_group(ANNA, NEW, "/quickscan sluit")
    fake.wait_for(lambda: "Teamresultaat quickscan" in fake.last_text(NEW))
    # The team's minimum came along: the result withholds figures below it.
    assert MINIMUM_TEXT in fake.last_text(NEW)
    assert "Deelname: 0 van 2" in fake.last_text(NEW)
    assert bot.store.current_round(key=_key(NEW)) is None
    assert not [m for m in fake.chat_messages(OLD) if "Teamresultaat" in m.shown()]


def test_the_service_message_moves_the_team_and_its_round(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=database_url, clock=clock, output_dir=tmp_path) as bot,
    ):
        _open_round_in_a_basic_group(fake)
        fake.upgrade_group(OLD, to=NEW, by=ANNA)
        eventually(lambda: _moved(bot))
        # Bram's typed answers still find the round (the bot's routing followed too).
        fake.send_private(BRAM, "ik ga verder")
        fake.wait_for(lambda: "vraag 1 van 48" in fake.last_text(BRAM))
        _close_in_the_new_group(fake, bot)
        assert fake.calls_of("sendMessage", chat_id=OLD)[-1].error_code is None
        assert not bot.errors


def test_a_message_to_the_old_id_follows_the_group_to_its_new_id(
    clock: FakeClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        _open_round_in_a_basic_group(fake)
        # The bot missed the service messages; its next post to the group (a
        # scheduled reminder) is refused with the new id, and goes there instead.
        fake.upgrade_group(OLD, to=NEW, by=ANNA, notify=False)
        reminder = Catalogue().t("review.header")
        outbox = Outbox(store=OutboxStore(engine=bot.store.engine), clock=clock)
        outbox.enqueue(
            [Outbound(destination=Destination.team_channel(team=str(OLD)), text=reminder)],
            platform="telegram",
            workspace=str(BOT_ID),
            origin={},
        )
        fake.wait_for(lambda: fake.last_text(NEW) == reminder.strip("*"))
        refused = fake.calls_of("sendMessage", chat_id=OLD)[-1]
        assert refused.error_code == 400
        assert _moved(bot)
        _close_in_the_new_group(fake, bot)
        assert not bot.errors
