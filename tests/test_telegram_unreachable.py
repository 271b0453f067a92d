"""Members the bot cannot message (403) are reported once; a 429 holds back only its chat."""

from __future__ import annotations

from pathlib import Path

from storage.quickscan.store import Store
from storage.roster import RosterStore
from tests.conftest import FakeClock
from tests.fakes.telegram import FakeTelegram, eventually, running_bot

GROUP = -100999
ANNA, BRAM, GERT, HUGO = 11, 12, 13, 14


def _known(fake: FakeTelegram, *users: int) -> None:
    """``users`` opened the bot and spoke in the group, so the roster invites them."""
    for user in users:
        fake.send_private(user, "/start")
        fake.send_group(user, GROUP, "Hallo")


def _unreachable(store: Store, *, user: str) -> bool:
    """Whether the open round has marked ``user`` unreachable (committed)."""
    (team,) = store.teams()
    round_ = store.current_round(key=team.key)
    assert round_ is not None
    participation = store.participation(key=team.key.member(user), round_id=round_.id)
    return participation is not None and participation.unreachable_at is not None


def test_a_member_who_blocked_the_bot_is_reported_once(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        for user, name in ((ANNA, "Anna"), (BRAM, "Bram"), (GERT, "Gert"), (HUGO, "Hugo")):
            fake.add_user(user, name)
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        _known(fake, ANNA, BRAM, GERT, HUGO)
        fake.wait_for(lambda: all(fake.last_message(u) for u in (ANNA, BRAM, GERT, HUGO)))
        # Gert blocks the bot while it is not looking (the update never reached it);
        # Hugo blocks it in the open, so he is simply not invited.
        fake.block(GERT, notify=False)
        fake.block(HUGO, notify=True)
        # Hugo's private chat and the group are handled side by side: the start below
        # must come after the bot has recorded Hugo's block, as it would for a person.
        roster = RosterStore(engine=bot.store.engine, platform="telegram")
        workspace = bot.runner.roster.workspace
        fake.wait_for(lambda: roster.is_unreachable(workspace=workspace, user=str(HUGO)))

        fake.send_group(ANNA, GROUP, "/quickscan start")
        fake.wait_for(lambda: "heeft de quickscan" in fake.last_text(GROUP))
        report = fake.wait_for(lambda: "kon geen privébericht" in fake.last_text(ANNA))
        assert report
        assert fake.last_text(ANNA).startswith("Gert kon geen privébericht")
        fake.wait_for(lambda: fake.prompt(BRAM))

        for _ in range(2):
            before = len(fake.chat_messages(ANNA))
            fake.send_group(ANNA, GROUP, "/quickscan status")
            fake.wait_for(lambda before=before: len(fake.chat_messages(ANNA)) > before)
            assert fake.last_text(ANNA) == (
                "Niet bereikbaar via een privébericht: Gert. Vraag hen de bot zelf te openen."
            )
        status = fake.wait_for(lambda: fake.last_text(GROUP))
        assert "Gert" not in status  # the group sees counts only

        reports = [m for m in fake.chat_messages(ANNA) if "kon geen privébericht" in m.shown()]
        assert len(reports) == 1
        attempts = fake.calls_of("sendMessage", chat_id=GERT)
        assert [call.error_code for call in attempts] == [None, 403]  # /start reply, invitation
        assert fake.calls_of("sendMessage", chat_id=HUGO)[-1].error_code is None  # never tried
        assert not bot.errors


def test_a_coordinator_who_never_started_the_bot(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        fake.add_user(ANNA, "Anna")
        fake.add_user(HUGO, "Hugo")  # an administrator who never opened the bot
        fake.add_group(GROUP, title="Team", admins=(HUGO, ANNA))
        _known(fake, ANNA)
        fake.wait_for(lambda: fake.last_message(ANNA))

        fake.send_group(HUGO, GROUP, "/quickscan start")
        fake.wait_for(lambda: "Hugo heeft de quickscan" in fake.last_text(GROUP))
        fake.wait_for(lambda: fake.prompt(ANNA))
        # Hugo's private chat is its own lane: his invitation may come after Anna's.
        invitation = eventually(
            lambda: next(iter(fake.calls_of("sendMessage", chat_id=HUGO)), None)
        )
        assert invitation.error_code == 403
        # The 403 is recorded by the dispatcher after Telegram answered: wait for it.
        eventually(lambda: _unreachable(bot.store, user=str(HUGO)))

        # Hugo's own status: the private part falls back to a reply in the group.
        fake.send_group(HUGO, GROUP, "/quickscan status")
        fallback = fake.wait_for(
            lambda: next(
                (m for m in fake.chat_messages(GROUP) if "Niet bereikbaar" in m.shown()), None
            )
        )
        assert "Niet bereikbaar via een privébericht: Hugo." in fallback.shown()
        assert "open de bot" in fallback.shown().lower()
        assert fallback.reply_to is not None
        assert fallback.buttons[0]["url"] == "https://t.me/QuickscanTestBot"
        # Another administrator sees it privately.
        fake.send_group(ANNA, GROUP, "/quickscan status")
        fake.wait_for(lambda: "Niet bereikbaar via een privébericht: Hugo" in fake.last_text(ANNA))
        # One attempt at Hugo's private chat, never repeated.
        assert len(fake.calls_of("sendMessage", chat_id=HUGO)) == 1
        assert not bot.errors


def test_a_429_holds_back_only_that_chat_until_its_retry_after(
    clock: FakeClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with (
        FakeTelegram() as fake,
        running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot,
    ):
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_user(BRAM, "Bram", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,))
        fake.fail_next(
            "sendMessage",
            chat_id=GROUP,
            code=429,
            description="Too Many Requests: retry after 5",
            retry_after=5,
            times=2,
        )
        fake.send_group(ANNA, GROUP, "/quickscan minimum 6")
        eventually(lambda: bot.waiting(error="429", attempts=1))

        # The group waits for Telegram's five seconds; Bram's private chat does not.
        fake.send_private(BRAM, "/start")
        fake.wait_for(lambda: "geen quickscan voor je open" in fake.last_text(BRAM))
        assert [c.error_code for c in fake.calls_of("sendMessage", chat_id=GROUP)] == [429]

        # The message is tried again once the bot's clock has passed the five
        # seconds; a second 429 waits again, then it goes out. Nothing is dropped.
        clock.advance(seconds=5)
        eventually(lambda: bot.waiting(error="429", attempts=2))
        clock.advance(seconds=5)
        fake.wait_for(lambda: "vanaf 6 ingevulde" in fake.last_text(GROUP))
        assert [c.error_code for c in fake.calls_of("sendMessage", chat_id=GROUP)] == [
            429,
            429,
            None,
        ]
        assert not bot.errors
