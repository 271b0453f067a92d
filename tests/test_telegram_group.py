"""Group and private-chat details: anonymous admins, mentions, leavers, help and bad links."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FakeClock
from tests.fakes.telegram import FakeTelegram, running_bot

GROUP = -100444
ANNA, BRAM, CHRIS = 11, 12, 13


def test_group_and_private_details(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        for user, name in ((ANNA, "Anna"), (BRAM, "Bram"), (CHRIS, "Chris")):
            fake.add_user(user, name)
            fake.send_private(user, "/start")
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        for user in (ANNA, BRAM, CHRIS):
            fake.send_group(user, GROUP, "Hallo")
        # Each private chat is handled on its own: wait until every "/start" was.
        fake.wait_for(lambda: all(fake.last_message(u) for u in (ANNA, BRAM, CHRIS)))

        # Private /help explains the bot; /quickscan in private points to the group.
        fake.send_private(BRAM, "/help")
        fake.wait_for(lambda: "Kies daar 'Doe mee'" in fake.last_text(BRAM))
        help_call = fake.calls_of("sendMessage", chat_id=BRAM)[-1]
        assert help_call.params["text"].startswith("<b>Quickscan samenwerken met ouders</b>")
        fake.send_private(BRAM, "/quickscan start")
        fake.wait_for(lambda: "in de groep van je team" in fake.last_text(BRAM))

        # Links that name no open round.
        fake.send_private(BRAM, "/start bad%token")
        fake.wait_for(lambda: "hoort bij geen open quickscan-ronde" in fake.last_text(BRAM))
        before = len(fake.chat_messages(BRAM))
        fake.send_private(BRAM, "/start WellFormedButUnknown")
        fake.wait_for(lambda: len(fake.chat_messages(BRAM)) > before)
        assert "hoort bij geen open quickscan-ronde" in fake.last_text(BRAM)

        # An anonymous administrator cannot be told apart: a notice, nothing else.
        fake.send_anonymous(GROUP, "/quickscan start")
        fake.wait_for(lambda: "anonieme beheerder" in fake.last_text(GROUP))

        # @bram becomes a coordinator by his user id, so his commands count. (Anna
        # speaks first: whoever first uses /quickscan in a team is its first coordinator.)
        fake.send_group(ANNA, GROUP, "/quickscan status")
        fake.wait_for(lambda: "Er loopt geen quickscan-ronde" in fake.last_text(ANNA))
        refused = len(fake.chat_messages(BRAM))
        fake.send_group(BRAM, GROUP, "/quickscan minimum 6")
        fake.wait_for(lambda: len(fake.chat_messages(BRAM)) > refused)
        assert "Alleen een coördinator" in fake.last_text(BRAM)
        fake.send_group(ANNA, GROUP, "/quickscan coordinator @bram")
        fake.wait_for(lambda: "is nu coördinator" in fake.last_text(GROUP))
        fake.send_group(BRAM, GROUP, "/quickscan minimum 6")
        fake.wait_for(lambda: "vanaf 6 ingevulde" in fake.last_text(GROUP))

        # Chris left the group: the round does not invite him.
        fake.leave_group(CHRIS, GROUP)
        fake.send_group(BRAM, GROUP, "/quickscan start")
        fake.wait_for(lambda: "2 teamleden krijgen een privébericht" in fake.last_text(GROUP))
        fake.wait_for(lambda: fake.prompt(ANNA) and fake.prompt(BRAM))
        assert fake.prompt(CHRIS) is None
        assert not bot.errors
