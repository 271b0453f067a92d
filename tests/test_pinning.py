"""A pinned team post (the team's agreed plan) is pinned on every platform that can pin.

The posts are queued in the outbox as the engine queues them and delivered by
the real adapters through their SDKs against the fake Slack and the fake Bot
API, so the pin survives the outbox (the codec) and every platform call is the
documented one. The pin is an extra: when the platform refuses it, the post is
still delivered, exactly once, and the log names the refusal without content.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.console import ConsoleScreen
from adapters.slack.sender import SlackSender
from bot.delivery.api import Delivery
from bot.delivery.codec import (
    UndecodableBodyError,
    decode_body,
    destination_columns,
    encode_body,
)
from bot.delivery.outbox import Outbox
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from storage.delivery.outbox import OutboxStore
from storage.models.delivery import OutboxMessageRow
from tests.conftest import FakeClock
from tests.fakes.slack import CHANNEL, WORKSPACE, SlackWorld, slack_world
from tests.fakes.telegram import (
    BOT_ID,
    BotUnderTest,
    FakeTelegram,
    RunningClock,
    eventually,
    running_bot,
)

PLAN = "*Ons plan* (vastgesteld 12-03-2027)\nPrioriteit: communicatie met ouders"
NAMES = ("anna", "bram")
GROUP, ANNA, BRAM = -100555, 21, 22


def _plan(team: str, *, details: str | None = None, pin: bool = True) -> Outbound:
    return Outbound(
        destination=Destination.team_channel(team=team), text=PLAN, details=details, pin=pin
    )


def _rows(engine: Engine, platform: str) -> list[OutboxMessageRow]:
    """The platform's outbox rows, oldest first (detached copies)."""
    query = select(OutboxMessageRow).where(OutboxMessageRow.platform == platform)
    with Session(engine, expire_on_commit=False) as session:
        rows = list(session.scalars(query.order_by(OutboxMessageRow.id)))
        session.expunge_all()
        return rows


def _logged(records: list[logging.LogRecord]) -> str:
    return "\n".join(record.getMessage() for record in records)


# ------------------------------------------------------------------ the outbox


def test_the_pin_survives_the_outbox_and_old_rows_read_as_unpinned() -> None:
    plan = _plan("C-team")
    columns = destination_columns(plan.destination)
    body = encode_body(plan)
    assert json.loads(body)["pin"] is True
    decoded = decode_body(body, team=columns.team, kind=columns.kind, user=columns.user)
    assert decoded == plan
    # A row queued before pinning existed has no "pin": it is an ordinary post.
    old = json.dumps({"v": 1, "text": PLAN})
    assert decode_body(old, team="C-team", kind="team", user=None).pin is False
    # An unpinned message stores nothing extra (rows stay as they were).
    assert "pin" not in json.loads(encode_body(_plan("C-team", pin=False)))


def test_a_damaged_pin_field_is_refused_by_its_name() -> None:
    damaged = json.dumps({"v": 1, "text": PLAN, "pin": "ja"})
    with pytest.raises(UndecodableBodyError, match="field pin has the wrong type"):
        decode_body(damaged, team="C-team", kind="team", user=None)


# ----------------------------------------------------------------------- Slack


@pytest.fixture
def slack(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[SlackWorld]:
    """The Slack adapter against the fake Slack, on both databases."""
    with slack_world(database_url=database_url, clock=clock, output_dir=tmp_path, names=NAMES) as (
        world,
        _ids,
    ):
        yield world


def _queue_slack(world: SlackWorld, clock: FakeClock, *messages: Outbound) -> None:
    """Queue as the engine does (another process may send it), then wait for delivery."""
    Outbox(store=world.outbox, clock=clock).enqueue(
        messages, platform="slack", workspace=WORKSPACE, origin={}
    )
    world.team.wait_idle()


def test_slack_pins_the_plan_after_posting_it(slack: SlackWorld, clock: FakeClock) -> None:
    fake = slack.fake
    _queue_slack(slack, clock, _plan(CHANNEL), _plan(CHANNEL, pin=False))
    plan, other = fake.messages_in(CHANNEL)
    assert "Ons plan" in plan.body
    assert fake.pinned_in(CHANNEL) == [plan]  # the unpinned post stays unpinned
    (pin,) = fake.calls_to("pins.add")
    assert (pin.params["channel"], pin.params["timestamp"]) == (CHANNEL, plan.ts)
    assert [row.status for row in _rows(slack.store.engine, "slack")] == ["sent", "sent"]


def test_slack_pins_the_head_of_a_plan_with_a_thread_once_after_a_429(
    slack: SlackWorld, clock: FakeClock
) -> None:
    fake = slack.fake
    # The head goes out, the thread's reply is rate limited once: the next attempt
    # continues with the reply and pins the head, which it did not post again.
    fake.rate_limit("chat.postMessage", retry_after=1, channel=CHANNEL, times=1, after=1)
    _queue_slack(slack, clock, _plan(CHANNEL, details="Eerste stap: ouderavond in april"))
    (head,) = fake.messages_in(CHANNEL)
    (reply,) = fake.messages_in(CHANNEL, thread_ts=head.ts)
    assert "ouderavond" in reply.body
    assert fake.pinned_in(CHANNEL) == [head]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 429, 200]
    assert len(fake.calls_to("pins.add")) == 1


def test_slack_pins_the_first_part_of_a_plan_too_long_for_one_message(
    slack: SlackWorld, clock: FakeClock
) -> None:
    fake = slack.fake
    long_plan = Outbound(
        destination=Destination.team_channel(team=CHANNEL),
        text="\n\n".join(f"Afspraak {number}" for number in range(1, 61)),  # 60 blocks
        pin=True,
    )
    fake.rate_limit("chat.postMessage", retry_after=1, channel=CHANNEL, times=1, after=1)
    _queue_slack(slack, clock, long_plan)
    first, second = fake.messages_in(CHANNEL)
    assert first.body.startswith("Afspraak 1\n")
    assert second.body.endswith("Afspraak 60")
    assert fake.pinned_in(CHANNEL) == [first]


@pytest.mark.parametrize(
    ("refuse", "code", "level"),
    [
        ("not_pinnable", "not_pinnable", logging.WARNING),
        ("scope", "missing_scope", logging.ERROR),  # installed before pins:write was added
        ("429", "ratelimited", logging.WARNING),
    ],
)
def test_a_pin_slack_refuses_leaves_the_post_delivered_once(
    slack: SlackWorld,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    refuse: str,
    code: str,
    level: int,
) -> None:
    fake = slack.fake
    if refuse == "not_pinnable":
        fake.fail_pins(CHANNEL, error="not_pinnable")
    elif refuse == "scope":
        fake.drop_scope("pins:write")
    else:
        fake.rate_limit("pins.add", retry_after=1, channel=CHANNEL, times=1)
    with caplog.at_level(logging.WARNING, logger="adapters.slack.pins"):
        _queue_slack(slack, clock, _plan(CHANNEL))
    (post,) = fake.messages_in(CHANNEL)
    assert "Ons plan" in post.body
    assert fake.pinned_in(CHANNEL) == []
    assert len(fake.calls_to("chat.postMessage")) == 1  # never posted a second time
    assert len(fake.calls_to("pins.add")) == 1
    (row,) = _rows(slack.store.engine, "slack")
    assert (row.status, row.error) == ("sent", None)
    refusals = [r for r in caplog.records if "not pinned" in r.getMessage()]
    assert [(r.levelno, r.getMessage().endswith(code)) for r in refusals] == [(level, True)]
    assert "Ons plan" not in _logged(caplog.records)  # ids and codes only


def test_slack_paces_pins_at_tier_2_and_only_for_team_posts() -> None:
    sender = SlackSender(
        client=WebClient(token="xoxb-unused"),  # noqa: S106 - never called: limits only
        mentions=lambda: frozenset(),
        texts=lambda _workspace, _team: Catalogue(),
    )
    pin_bucket = f"slack:{WORKSPACE}:method:pins.add"

    def buckets(message: Outbound) -> dict[str, float]:
        delivery = Delivery(
            outbox_id=1, workspace=WORKSPACE, message=message, origin={}, attempt=1
        )
        return {limit.key: limit.per_second for limit in sender.limits(delivery)}

    assert buckets(_plan(CHANNEL))[pin_bucket] == pytest.approx(20 / 60)  # 20 a minute
    assert pin_bucket not in buckets(_plan(CHANNEL, pin=False))
    dm = Outbound(destination=Destination.dm(team=CHANNEL, user="U1"), text=PLAN, pin=True)
    assert pin_bucket not in buckets(dm)  # a DM has no pins: the flag means nothing there


# -------------------------------------------------------------------- Telegram


@pytest.fixture
def telegram(database_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[_Telegram]:
    """The Telegram runner against the fake Bot API, on both databases."""
    with FakeTelegram() as fake:
        fake.add_user(ANNA, "Anna", started=True)
        fake.add_user(BRAM, "Bram", started=True)
        fake.add_group(GROUP, title="Team", admins=(ANNA,), members=(BRAM,))
        with running_bot(
            fake=fake,
            database_url=database_url,
            clock=RunningClock(clock),
            output_dir=tmp_path,
        ) as bot:
            yield _Telegram(fake=fake, bot=bot, clock=clock)


class _Telegram:
    """The fake Bot API and the real Telegram runner with its outbox."""

    def __init__(self, *, fake: FakeTelegram, bot: BotUnderTest, clock: FakeClock) -> None:
        self.fake, self.bot, self.clock = fake, bot, clock

    def queue(self, *messages: Outbound) -> None:
        """Queue as the engine does and wait until the runner's dispatcher finished them."""
        store = self.bot.store
        outbox = Outbox(
            store=OutboxStore(engine=store.engine, cipher=store.cipher), clock=self.clock
        )
        outbox.enqueue(messages, platform="telegram", workspace=str(BOT_ID), origin={})
        eventually(
            lambda: (
                all(row.status != "pending" for row in self.bot.outbox())
                and len(self.bot.outbox()) >= len(messages)
            )
        )


def test_telegram_pins_the_plan_silently_when_the_bot_may_pin(telegram: _Telegram) -> None:
    fake = telegram.fake
    fake.let_bot_pin(GROUP)
    telegram.queue(_plan(str(GROUP)), _plan(str(GROUP), pin=False))
    plan, other = fake.chat_messages(GROUP)
    assert "Ons plan" in plan.shown()
    assert fake.pinned_messages(GROUP) == [plan]
    (pin,) = fake.calls_of("pinChatMessage", chat_id=GROUP)
    assert int(pin.params["message_id"]) == plan.message_id
    # The post itself notified the group; the pin does not notify it again.
    assert pin.params["disable_notification"] == "true"
    assert [row.status for row in telegram.bot.outbox()] == ["sent", "sent"]


def test_telegram_pins_the_first_part_of_a_plan_with_details(telegram: _Telegram) -> None:
    fake = telegram.fake
    fake.let_bot_pin(GROUP)
    telegram.queue(_plan(str(GROUP), details="Eerste stap: ouderavond in april"))
    head, details = fake.chat_messages(GROUP)
    assert details.reply_to == head.message_id
    assert fake.pinned_messages(GROUP) == [head]


@pytest.mark.parametrize("refusal", ["rights", "429"])
def test_a_pin_telegram_refuses_leaves_the_post_delivered_once(
    telegram: _Telegram, caplog: pytest.LogCaptureFixture, refusal: str
) -> None:
    fake = telegram.fake
    if refusal == "429":
        fake.let_bot_pin(GROUP)
        fake.fail_next(
            "pinChatMessage",
            chat_id=GROUP,
            code=429,
            description="Too Many Requests: retry after 3",
            retry_after=3,
        )
    # else: the bot is no admin with the right to pin (the fake's default)
    with caplog.at_level(logging.WARNING, logger="adapters.telegram.delivery"):
        telegram.queue(_plan(str(GROUP)))
    (post,) = fake.chat_messages(GROUP)
    assert "Ons plan" in post.shown()
    assert fake.pinned_messages(GROUP) == []
    assert len(fake.calls_of("sendMessage", chat_id=GROUP)) == 1  # never sent again
    (call,) = fake.calls_of("pinChatMessage", chat_id=GROUP)
    assert call.error_code == (429 if refusal == "429" else 400)
    (row,) = telegram.bot.outbox()
    assert (row.status, row.error) == ("sent", None)
    logged = _logged(caplog.records)
    expected = "429" if refusal == "429" else "not_enough_rights"
    assert f"post in chat {GROUP} sent but not pinned: {expected}" in logged
    assert "Ons plan" not in logged


def test_telegram_pins_nothing_in_a_private_chat(telegram: _Telegram) -> None:
    fake = telegram.fake
    private = Outbound(
        destination=Destination.dm(team=str(GROUP), user=str(ANNA)), text=PLAN, pin=True
    )
    telegram.queue(private)
    assert "Ons plan" in fake.last_text(ANNA)
    assert fake.calls_of("pinChatMessage") == []


# --------------------------------------------------------------------- console


def test_the_console_marks_a_pinned_post_it_cannot_pin() -> None:
    out = io.StringIO()
    screen = ConsoleScreen(out=out)
    screen.show(_plan("team"))
    screen.show(_plan("team", pin=False))
    screen.show(
        Outbound(destination=Destination.dm(team="team", user="bram"), text="Hoi", pin=True)
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "[team] (vastgezet) *Ons plan* (vastgesteld 12-03-2027)"
    assert lines[2] == "[team] *Ons plan* (vastgesteld 12-03-2027)"
    assert lines[4] == "[dm:bram] Hoi"  # only a team post is pinned
