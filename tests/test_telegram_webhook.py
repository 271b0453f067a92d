"""Webhook mode (secret token checked) and redeliveries processed once, on the real adapter."""

from __future__ import annotations

import json
from pathlib import Path

from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.telegram import FakeTelegram, free_port, running_bot

GROUP = -100777
ANNA, BRAM = 11, 12
OWN_SECRET = "our-own_secret-123"  # noqa: S105 - a test value, not a credential


def _webhook_env(port: int, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
        "TELEGRAM_WEBHOOK_PORT": str(port),
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        **extra,
    }


def _world(fake: FakeTelegram) -> None:
    fake.add_user(ANNA, "Anna", started=True)
    fake.add_user(BRAM, "Bram", started=True)
    fake.add_group(GROUP, title="Team", admins=(ANNA,))


def test_webhook_refuses_a_wrong_secret_and_accepts_the_right_one(
    clock: FakeClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with FakeTelegram() as fake:
        _world(fake)
        port = free_port()
        with running_bot(
            fake=fake,
            database_url=url,
            clock=clock,
            output_dir=tmp_path,
            environ=_webhook_env(port),
        ) as bot:
            # The webhook is registered with a generated secret; nothing polls.
            assert fake.webhook_url == f"http://127.0.0.1:{port}/telegram/hook"
            secret = fake.webhook_secret
            assert secret is not None
            assert len(secret) >= 32
            (set_webhook,) = fake.calls_of("setWebhook")
            assert json.loads(set_webhook.params["allowed_updates"]) == [
                "message",
                "callback_query",
                "my_chat_member",
                "chat_member",
            ]
            assert fake.calls_of("getUpdates") == []

            start = fake.send_group(ANNA, GROUP, "/quickscan start")
            assert fake.post_webhook(start, secret=None) == 403
            assert fake.post_webhook(start, secret="x" * len(secret)) == 403
            assert fake.post_webhook(start, secret=secret[:-1]) == 403
            # Refused updates changed nothing: no reply, no team, no claimed delivery id.
            assert fake.calls_of("sendMessage") == []
            assert fake.calls_of("getChatAdministrators") == []
            key = TeamKey(platform="telegram", workspace=str(7000001), team=str(GROUP))
            assert bot.store.get_team(key=key) is None

            assert fake.post_webhook(start, secret=secret) == 200
            announcement = fake.wait_for(lambda: fake.last_message(GROUP))
            assert "heeft de quickscan" in announcement.shown()
            assert bot.store.current_round(key=key) is not None


def test_a_configured_webhook_secret_is_used(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with FakeTelegram() as fake:
        _world(fake)
        port = free_port()
        env = _webhook_env(port, TELEGRAM_WEBHOOK_SECRET=OWN_SECRET)
        with running_bot(
            fake=fake, database_url=url, clock=clock, output_dir=tmp_path, environ=env
        ):
            assert fake.webhook_secret == OWN_SECRET
            help_ = fake.send_group(BRAM, GROUP, "/quickscan help")
            assert fake.post_webhook(help_, secret=OWN_SECRET) == 200
            fake.wait_for(lambda: "Quickscan samenwerken met ouders" in fake.last_text(BRAM))


def test_a_redelivered_webhook_update_is_processed_once(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with FakeTelegram() as fake:
        _world(fake)
        port = free_port()
        with running_bot(
            fake=fake,
            database_url=url,
            clock=clock,
            output_dir=tmp_path,
            environ=_webhook_env(port),
        ):
            secret = fake.webhook_secret
            # Bram opened the bot and speaks in the group, so he is invited directly.
            assert fake.post_webhook(fake.send_private(BRAM, "/start"), secret=secret) == 200
            assert fake.post_webhook(fake.send_group(BRAM, GROUP, "Hallo"), secret=secret) == 200
            start = fake.send_group(ANNA, GROUP, "/quickscan start")
            for _ in range(2):  # Telegram retries when it saw no 200 in time
                assert fake.post_webhook(start, secret=secret) == 200
            intro = fake.wait_for(lambda: fake.prompt(BRAM))
            press = fake.update_of(fake.press(BRAM, intro, label="start"))
            for _ in range(2):
                assert fake.post_webhook(press, secret=secret) == 200
            fake.wait_for(lambda: "vraag 1 van 48" in fake.last_text(BRAM))
            # One more update makes sure both copies were handled before we look.
            done = fake.send_private(BRAM, "++")
            assert fake.post_webhook(done, secret=secret) == 200
            fake.wait_for(lambda: "vraag 2 van 48" in fake.last_text(BRAM))

            announcements = [
                m for m in fake.chat_messages(GROUP) if "heeft de quickscan" in m.shown()
            ]
            assert len(announcements) == 1
            everything = [
                m.shown() for chat in (GROUP, ANNA, BRAM) for m in fake.chat_messages(chat)
            ]
            assert not any("loopt al een quickscan-ronde" in text for text in everything)
            assert not any("hoort bij een eerder bericht" in text for text in everything)
            assert len(fake.calls_of("editMessageText", chat_id=BRAM)) == 1


def test_a_polled_update_redelivered_after_a_restart_is_processed_once(
    clock: FakeClock, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with FakeTelegram() as fake:
        _world(fake)
        with running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path):
            fake.send_private(BRAM, "/start")
            fake.send_group(BRAM, GROUP, "Hallo")
            start = fake.send_group(ANNA, GROUP, "/quickscan start")
            intro = fake.wait_for(lambda: fake.prompt(BRAM))
            press_id = fake.press(BRAM, intro, label="start")
            fake.wait_for(lambda: "vraag 1 van 48" in fake.last_text(BRAM))
            fake.wait_for(lambda: fake.answer_of(press_id))
        sent_before = len(fake.calls_of("sendMessage")) + len(fake.calls_of("editMessageText"))

        # The process died before confirming: Telegram serves the same updates again.
        with running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path):
            fake.redeliver(start)
            fake.redeliver(fake.update_of(press_id))
            marker = fake.send_group(BRAM, GROUP, "/quickscan status")
            fake.wait_for(lambda: "Stand van de quickscan" in fake.last_text(GROUP))
            assert marker["update_id"] > start["update_id"]
        sent_after = len(fake.calls_of("sendMessage")) + len(fake.calls_of("editMessageText"))
        assert sent_after == sent_before + 1  # only the status reply
        assert "vraag 1 van 48" in fake.last_text(BRAM)
