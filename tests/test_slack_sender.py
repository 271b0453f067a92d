"""The Slack sender against the fake Web API: one outbox message per call, no sleeping.

Every 429 comes back at once as a Retry naming the exhausted bucket, every
failure that will not go away as Permanent; a result made of several calls
continues after a 429 where it stopped. No engine or database is involved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from slack_sdk import WebClient

from adapters.slack.client import make_web_client
from adapters.slack.config import SlackConfig
from adapters.slack.outcomes import retry_after
from adapters.slack.rates import SlackRates, conversation_key, method_key
from adapters.slack.sender import SlackSender
from bot.delivery.api import Delivery, Permanent, Retry, Sent
from conversations.core.i18n import Catalogue
from conversations.core.messages import Button, Destination, Outbound
from tests.fakes.slack import BOT_TOKEN, BOT_USER, CHANNEL, WORKSPACE, FakeSlack, add_school

ELSEWHERE = "C0NOBOT01"  # a public channel the bot was never invited to
ANNA, BRAM, CHRIS = "U0ANNA00", "U0BRAM00", "U0CHRIS0"  # as add_school names them


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as made:
        assert add_school(made, ["anna", "bram"]) == [ANNA, BRAM]
        assert add_school(made, ["chris"], channel=ELSEWHERE, bot=False) == [CHRIS]
        yield made


@pytest.fixture
def sender(fake: FakeSlack) -> SlackSender:
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
    return SlackSender(
        client=client,
        mentions=frozenset,
        texts=lambda workspace, team: Catalogue(),
        rates=SlackRates(),
        api_url=fake.api_url,
    )


def delivery(
    message: Outbound, *, origin: Mapping[str, str] | None = None, outbox_id: int = 1
) -> Delivery:
    return Delivery(
        outbox_id=outbox_id,
        workspace=WORKSPACE,
        message=message,
        origin=dict(origin or {}),
        attempt=1,
    )


def to_channel(
    text: str, *, channel: str = CHANNEL, details: str | None = None, image: Path | None = None
) -> Outbound:
    destination = Destination.team_channel(team=channel)
    return Outbound(destination=destination, text=text, details=details, image=image)


def to_dm(
    user: str, text: str, *, buttons: tuple[Button, ...] = (), replace_previous: bool = False
) -> Outbound:
    destination = Destination.dm(team=CHANNEL, user=user)
    return Outbound(
        destination=destination, text=text, buttons=buttons, replace_previous=replace_previous
    )


def pressed(fake: FakeSlack, user: str, ts: str) -> dict[str, str]:
    """The origin of a click on message ``ts`` in ``user``'s DM."""
    return {"user": user, "channel": fake.dm_channel(user), "message_ts": ts}


def test_the_client_never_retries_by_itself() -> None:
    environ = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
    config = SlackConfig.from_environ(environ=environ)
    assert make_web_client(config=config).retry_handlers == []


def test_a_429_on_a_post_pauses_only_that_conversation(
    fake: FakeSlack, sender: SlackSender
) -> None:
    fake.rate_limit_once("chat.postMessage", retry_after=7)
    announcement = delivery(to_channel("Gestart"))
    result = sender.send(announcement)
    assert result == Retry(
        after=7.0,
        reason="ratelimited",
        limit_key=conversation_key(workspace=WORKSPACE, key=CHANNEL),
    )
    assert result.limit_key in {limit.key for limit in sender.limits(announcement)}
    assert fake.messages_in(CHANNEL) == []
    assert isinstance(sender.send(announcement), Sent)  # the dispatcher tries again later
    assert [m.body for m in fake.messages_in(CHANNEL)] == ["Gestart"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_a_429_on_a_tiered_method_pauses_that_method(fake: FakeSlack, sender: SlackSender) -> None:
    buttons = (Button("++", "qs:1:a:0:0"),)
    posted = sender.send(delivery(to_dm(ANNA, "Vraag 1", buttons=buttons)))
    assert isinstance(posted, Sent)
    assert posted.ref is not None
    fake.rate_limit_once("chat.update", retry_after=3)
    origin = pressed(fake, ANNA, posted.ref)
    edit = delivery(to_dm(ANNA, "Vraag 2", replace_previous=True), origin=origin, outbox_id=2)
    assert sender.send(edit) == Retry(
        after=3.0,
        reason="ratelimited",
        limit_key=method_key(workspace=WORKSPACE, method="chat.update"),
    )
    assert isinstance(sender.send(edit), Sent)
    (message,) = fake.dm(ANNA)
    assert (message.body, message.updates) == ("Vraag 2", 1)  # updated in place, once


def test_an_edit_of_a_message_that_is_gone_becomes_a_new_message(
    fake: FakeSlack, sender: SlackSender
) -> None:
    fake.channels[fake.dm_channel(ANNA)] = [ANNA, BOT_USER]
    origin = pressed(fake, ANNA, "1.000")
    result = sender.send(delivery(to_dm(ANNA, "Vraag 2", replace_previous=True), origin=origin))
    assert isinstance(result, Sent)
    assert [m.body for m in fake.dm(ANNA)] == ["Vraag 2"]
    assert fake.calls_to("conversations.open") == []  # the DM channel came with the origin


def test_only_the_member_who_pressed_gets_the_edit(fake: FakeSlack, sender: SlackSender) -> None:
    posted = sender.send(delivery(to_dm(ANNA, "Vraag 1")))
    assert isinstance(posted, Sent)
    assert posted.ref is not None
    other = delivery(
        to_dm(BRAM, "Hallo bram", replace_previous=True), origin=pressed(fake, ANNA, posted.ref)
    )
    editing = method_key(workspace=WORKSPACE, method="chat.update")
    assert editing not in {limit.key for limit in sender.limits(other)}
    assert isinstance(sender.send(other), Sent)
    assert [m.body for m in fake.dm(ANNA)] == ["Vraag 1"]
    assert [m.body for m in fake.dm(BRAM)] == ["Hallo bram"]


def test_a_result_continues_after_a_429_without_posting_anything_twice(
    fake: FakeSlack, sender: SlackSender, tmp_path: Path
) -> None:
    chart = tmp_path / "resultaat.png"
    chart.write_bytes(b"\x89PNG fake chart")
    details = "\n\n".join(f"Vraag {n}: ++ 1 · + 2" for n in range(1, 80))  # two thread posts
    result = delivery(to_channel("Teamresultaat", details=details, image=chart))
    # The headline goes out, then the chart's upload is rate limited.
    fake.rate_limit_once("files.completeUploadExternal", retry_after=1)
    assert sender.send(result) == Retry(
        after=1.0,
        reason="ratelimited",
        limit_key=method_key(workspace=WORKSPACE, method="files.completeUploadExternal"),
    )
    (headline,) = fake.messages_in(CHANNEL)
    # Next attempt: the chart, the first detail post, then the channel is rate limited.
    fake.rate_limit("chat.postMessage", retry_after=2, channel=CHANNEL, times=1, after=1)
    assert sender.send(result) == Retry(
        after=2.0,
        reason="ratelimited",
        limit_key=conversation_key(workspace=WORKSPACE, key=CHANNEL),
    )
    assert isinstance(sender.send(result), Sent)
    assert fake.messages_in(CHANNEL) == [headline]
    first, second = fake.messages_in(CHANNEL, thread_ts=headline.ts)
    assert "Vraag 1:" in first.body
    assert "Vraag 79:" in second.body
    (upload,) = [u for u in fake.uploads.values() if u.completed]
    assert (upload.channel, upload.thread_ts) == (CHANNEL, headline.ts)


def test_unreachable_members_and_channels_fail_for_good(
    fake: FakeSlack, sender: SlackSender
) -> None:
    fake.fail_dm(ANNA, error="cannot_dm_bot")
    fake.fail_posts(fake.dm_channel(BRAM), error="is_archived")
    assert sender.send(delivery(to_dm(ANNA, "Hallo"))) == Permanent(reason="cannot_dm_bot")
    assert sender.send(delivery(to_dm(BRAM, "Hallo"))) == Permanent(reason="is_archived")
    elsewhere = delivery(to_channel("Teamresultaat", channel=ELSEWHERE))
    assert sender.send(elsewhere) == Permanent(reason="not_in_channel")


def test_slack_trouble_and_a_bad_token_are_tried_again(
    fake: FakeSlack, sender: SlackSender
) -> None:
    fake.fail_posts(CHANNEL, error="internal_error")
    assert sender.send(delivery(to_channel("Gestart"))) == Retry(
        after=0.0, reason="internal_error"
    )
    fake.fail_posts(CHANNEL, error="token_revoked")
    result = sender.send(delivery(to_channel("Gestart")))
    assert isinstance(result, Retry)
    assert result.reason == "token_revoked"
    assert result.after >= 60


def test_a_network_failure_is_tried_again(sender: SlackSender) -> None:
    client = WebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    offline = SlackSender(client=client, mentions=frozenset, texts=lambda w, t: Catalogue())
    result = offline.send(delivery(to_channel("Gestart")))
    assert isinstance(result, Retry)
    assert result.limit_key is None


def test_an_ephemeral_reply_outside_the_bots_channels_uses_the_response_url(
    fake: FakeSlack, sender: SlackSender
) -> None:
    reply = Outbound(destination=Destination.ephemeral(team=ELSEWHERE, user=CHRIS), text="Nee")
    hook = f"{fake.base_url}/hooks/commands/1"
    assert isinstance(sender.send(delivery(reply, origin={"response_url": hook})), Sent)
    (sent,) = fake.hooks
    assert (sent["response_type"], sent["text"]) == ("ephemeral", "Nee")
    # Without a response URL, or with one on a host nobody trusts, it cannot arrive.
    assert sender.send(delivery(reply)) == Permanent(reason="not_in_channel")
    foreign = {"response_url": "https://evil.example/hooks/1"}
    assert sender.send(delivery(reply, origin=foreign)) == Permanent(reason="not_in_channel")
    assert len(fake.hooks) == 1


def test_limits_name_the_conversation_the_workspace_and_the_method_tiers(
    fake: FakeSlack, sender: SlackSender
) -> None:
    rates = SlackRates()

    def keys(message: Outbound, origin: Mapping[str, str] | None = None) -> set[str]:
        return {limit.key for limit in sender.limits(delivery(message, origin=origin))}

    channel = rates.conversation(workspace=WORKSPACE, key=CHANNEL)
    dm = rates.conversation(workspace=WORKSPACE, key=f"dm:{ANNA}")
    messages = rates.messages(workspace=WORKSPACE)
    assert (channel.per_second, channel.burst) == (1.0, 2)  # Slack: ~1 message/s/channel
    assert keys(to_channel("Gestart")) == {channel.key, messages.key}
    opening = method_key(workspace=WORKSPACE, method="conversations.open")
    assert keys(to_dm(ANNA, "Hallo")) == {dm.key, messages.key, opening}
    editing = method_key(workspace=WORKSPACE, method="chat.update")
    edit = to_dm(ANNA, "Vraag 2", replace_previous=True)
    assert keys(edit, pressed(fake, ANNA, "1.0")) == {dm.key, editing}
    ephemeral = Outbound(destination=Destination.ephemeral(team=CHANNEL, user=ANNA), text="x")
    assert keys(ephemeral) == {method_key(workspace=WORKSPACE, method="chat.postEphemeral")}
    tier3 = rates.method(workspace=WORKSPACE, method="chat.update")
    assert (tier3.per_second * 60, tier3.burst) == (pytest.approx(50.0), 50)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": ["2"]}, 2.0),
        ({}, 1.0),
        ({"Retry-After": "soon"}, 1.0),
        ({"Retry-After": "nan"}, 1.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "99999999"}, 3600.0),
    ],
)
def test_retry_after_is_read_defensively(headers: Mapping[str, object], seconds: float) -> None:
    assert retry_after(headers) == seconds
