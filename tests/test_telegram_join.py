"""Joining by the "Doe mee" link is for members of the round's group only.

The link can be forwarded to anyone. Before it invites someone the adapter asks
Telegram (getChatMember, against the fake Bot API) about that person's standing
in the round's group: members, administrators and restricted members still in
the group join; people who left, were banned, were never in the group or whom
Telegram cannot place are refused privately, and nothing is stored about them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.keys import TeamKey
from tests.conftest import FakeClock
from tests.fakes.telegram import BOT_ID, BotUnderTest, FakeTelegram, running_bot

GROUP = -100777
ANNA = 11  # the coordinator, an administrator
MEMBER, RESTRICTED, OUTSIDER, LEAVER, BANNED, MUTED_LEAVER = 21, 22, 31, 32, 33, 34
NOT_MEMBER_TEXT = "Alleen leden van die groep kunnen meedoen"
CHECK_FAILED_TEXT = "Ik kan nu niet nagaan of je lid bent"


def _start_round(fake: FakeTelegram) -> str:
    fake.send_group(ANNA, GROUP, "/quickscan start")
    announcement = fake.wait_for(lambda: fake.last_message(GROUP))
    link = re.search(r"start=([A-Za-z0-9_-]+)", announcement.buttons[0]["url"])
    assert link is not None
    return link[1]


def _participants(bot: BotUnderTest) -> set[str]:
    key = TeamKey(platform="telegram", workspace=str(BOT_ID), team=str(GROUP))
    round_ = bot.store.current_round(key=key)
    assert round_ is not None
    return {p.key.user for p in bot.store.participations(key=key, round_id=round_.id)}


@pytest.fixture
def fake() -> FakeTelegram:
    made = FakeTelegram()
    made.add_user(ANNA, "Anna", started=True)
    for user, name in [
        (MEMBER, "Mira"),
        (RESTRICTED, "Ruud"),
        (OUTSIDER, "Otto"),
        (LEAVER, "Lies"),
        (BANNED, "Bas"),
        (MUTED_LEAVER, "Mo"),
    ]:
        made.add_user(user, name)
    made.add_group(GROUP, title="Team", admins=(ANNA,), members=(MEMBER, LEAVER, BANNED))
    made.set_member_status(RESTRICTED, GROUP, "restricted")
    made.set_member_status(MUTED_LEAVER, GROUP, "restricted_left")
    return made


@dataclass
class Started:
    """The bot running against the fake, a round open in the group."""

    fake: FakeTelegram
    bot: BotUnderTest
    token: str
    before: set[str]  # who is in the round before anyone opens the link


@pytest.fixture
def started(fake: FakeTelegram, clock: FakeClock, tmp_path: Path) -> Iterator[Started]:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with fake, running_bot(fake=fake, database_url=url, clock=clock, output_dir=tmp_path) as bot:
        token = _start_round(fake)
        yield Started(fake=fake, bot=bot, token=token, before=_participants(bot))
        assert not bot.errors


def test_only_members_of_the_group_can_join_by_the_link(started: Started) -> None:
    fake, bot, token = started.fake, started.bot, started.token
    fake.leave_group(LEAVER, GROUP)
    fake.set_member_status(BANNED, GROUP, "kicked")
    before = started.before
    group_messages = len(fake.chat_messages(GROUP))

    for user in (OUTSIDER, LEAVER, BANNED, MUTED_LEAVER):
        fake.send_private(user, f"/start {token}")
        fake.wait_for(lambda user=user: NOT_MEMBER_TEXT in fake.last_text(user))
        assert fake.prompt(user) is None  # no intro, no buttons
    asked = {int(c.params["user_id"]) for c in fake.calls_of("getChatMember", chat_id=GROUP)}
    assert {OUTSIDER, LEAVER, BANNED, MUTED_LEAVER} <= asked
    # Nothing stored about them, and the group heard nothing of it.
    assert _participants(bot) == before
    assert len(fake.chat_messages(GROUP)) == group_messages

    for user, name in ((MEMBER, "Mira"), (RESTRICTED, "Ruud")):
        fake.send_private(user, f"/start {token}")
        intro = fake.wait_for(lambda user=user: fake.prompt(user))
        assert f"Hallo {name}!" in intro.shown()
    assert _participants(bot) == before | {str(MEMBER), str(RESTRICTED)}


def test_a_rate_limit_is_waited_out_and_a_failure_refuses(started: Started) -> None:
    fake, bot, token, before = started.fake, started.bot, started.token, started.before
    fake.fail_next(
        "getChatMember",
        chat_id=GROUP,
        code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    fake.send_private(MEMBER, f"/start {token}")
    fake.wait_for(lambda: fake.prompt(MEMBER))
    codes = [c.error_code for c in fake.calls_of("getChatMember", chat_id=GROUP)]
    assert codes == [429, None]

    # Telegram cannot say (the bot was removed from the group meanwhile): refused.
    fake.fail_next(
        "getChatMember", chat_id=GROUP, code=400, description="Bad Request: chat not found"
    )
    fake.send_private(RESTRICTED, f"/start {token}")
    fake.wait_for(lambda: CHECK_FAILED_TEXT in fake.last_text(RESTRICTED))
    assert _participants(bot) == before | {str(MEMBER)}


def test_the_fake_answers_get_chat_member_like_the_bot_api(fake: FakeTelegram) -> None:
    with fake:
        _check_the_fake(fake)


def _check_the_fake(fake: FakeTelegram) -> None:
    member = fake.dispatch(
        path=f"/bot{fake.token}/getChatMember",
        content_type="application/json",
        body=f'{{"chat_id": {GROUP}, "user_id": {RESTRICTED}}}'.encode(),
    )
    assert member[0] == 200
    assert member[1]["result"]["status"] == "restricted"
    assert member[1]["result"]["is_member"] is True
    for user, code, text in [
        (999, 400, "Bad Request: user not found"),
        (OUTSIDER, 200, "left"),
        (ANNA, 200, "creator"),
    ]:
        status, answer = fake.dispatch(
            path=f"/bot{fake.token}/getChatMember",
            content_type="application/x-www-form-urlencoded",
            body=f"chat_id={GROUP}&user_id={user}".encode(),
        )
        assert status == code
        assert text in (answer.get("description") or answer["result"]["status"])
    status, answer = fake.dispatch(
        path=f"/bot{fake.token}/getChatMember",
        content_type="application/x-www-form-urlencoded",
        body=f"chat_id=-100999&user_id={MEMBER}".encode(),
    )
    assert (status, answer["description"]) == (400, "Bad Request: chat not found")
