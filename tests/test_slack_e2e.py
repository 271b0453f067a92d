"""A whole round through the real Slack adapter in HTTP mode, against a fake Slack.

Signed slash commands and clicks go in over HTTP; the adapter's Web API calls
land on the fake, which keeps the messages so the test can press their buttons.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import FakeClock
from tests.console_harness import QUESTIONS
from tests.fakes.slack import CHANNEL, SlackTeam, SlackWorld, slack_world

SIX = ("anna", "bram", "chris", "dewi", "eva", "fatima")
ANSWERS = {"anna": "++", "bram": "+", "chris": "+", "dewi": "+/-", "eva": "-", "fatima": "?"}
OPEN_ANSWER = "Vaker <samen> koffie & een huisbezoek"
OTHER_ANSWER = "Een vaste ouderavond per jaar"


def answer_questions(team: SlackTeam, user: str, answer: str, count: int) -> None:
    for _ in range(count):
        assert team.click(user, answer).status == 200


def closing_page(team: SlackTeam, user: str, *, typed: str | None = None) -> None:
    """Grades 7, 6, 8; the open questions typed in the modal or skipped; then send."""
    for grade in ("7", "6", "8"):
        team.click(user, grade)
    for _ in range(3):
        if typed is None:
            team.click(user, "overslaan")
        else:
            assert team.type_answer(user, typed).status == 200
    team.click(user, "versturen")


def test_a_whole_round_in_slack(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    with slack_world(database_url=database_url, clock=clock, output_dir=tmp_path, names=SIX) as (
        world,
        ids,
    ):
        run_round(world, dict(zip(SIX, ids, strict=True)), output_dir=tmp_path)


def run_round(world: SlackWorld, ids: dict[str, str], *, output_dir: Path) -> None:
    fake, team = world.fake, world.team
    anna, bram, chris = ids["anna"], ids["bram"], ids["chris"]

    # The slash command is handled, then acknowledged with an empty 200; the
    # messages it caused follow from the outbox.
    started = team.command(anna, "start 15-01")
    assert (started.status, started.body) == (200, "")
    (announcement,) = fake.messages_in(CHANNEL)
    assert "6 teamleden krijgen een privébericht" in announcement.body
    # The roster came from conversations.members, paged with cursors.
    pages = -(-len(fake.channels[CHANNEL]) // fake.page_size)
    assert pages > 1
    assert len(fake.calls_to("conversations.members")) == pages
    # Humans only: the bot, Slackbot, another bot and a deleted account are skipped.
    opened = {call.params["users"] for call in fake.calls_to("conversations.open")}
    assert opened == set(ids.values())
    for name, user in ids.items():
        (intro,) = fake.dm(user)
        assert f"Hallo {name}!" in intro.body
        assert [b["text"]["text"] for b in intro.buttons] == ["start", "later"]

    # anna answers everything by clicking; each answer updates one DM message in place.
    team.click(anna, "start")
    answer_questions(team, anna, ANSWERS["anna"], QUESTIONS)
    assert "cijfer 1 van 3" in fake.prompt(anna).body
    closing_page(team, anna, typed=OPEN_ANSWER)
    assert len(fake.views) == 3
    assert all(v["view"]["private_metadata"] for v in fake.views)
    intro, thanks = fake.dm(anna)
    assert intro.updates == 1 + QUESTIONS + 3 + 3  # start, 48 answers, 3 grades, 3 open
    assert "Bedankt" in thanks.body
    assert len(fake.calls_to("chat.update")) == intro.updates

    # bram pauses at question 10 ("later"), then comes back: a click on the old
    # question is stale and shows "verder", which resumes at question 10.
    team.click(bram, "start")
    answer_questions(team, bram, ANSWERS["bram"], 9)
    question_message = fake.prompt(bram)
    team.click(bram, "later")
    assert "Gepauzeerd" in fake.dm(bram)[-1].body
    team.click(bram, "+", message=question_message)
    stale, paused = fake.dm(bram)[-2:]
    assert "hoort bij een eerder bericht" in stale.body
    team.click(bram, "verder", message=paused)
    assert "vraag 10 van 48" in fake.prompt(bram).body
    answer_questions(team, bram, ANSWERS["bram"], QUESTIONS - 9)
    closing_page(team, bram)

    # chris pauses at the intro and resumes by typing in the DM (message.im).
    team.click(chris, "later")
    team.say_in_dm(chris, "hallo, ik ga verder")
    assert "vraag 1 van 48" in fake.dm(chris)[-1].body
    answer_questions(team, chris, ANSWERS["chris"], QUESTIONS)
    # Open answers are shown only when enough people wrote one (see docs/team-result.md).
    closing_page(team, chris, typed=OTHER_ANSWER)

    for name in ("dewi", "eva", "fatima"):
        team.click(ids[name], "start")
        answer_questions(team, ids[name], ANSWERS[name], QUESTIONS)
        closing_page(team, ids[name], typed=OTHER_ANSWER)

    # A coordinator-only command from someone else is refused, only to them.
    posts_before = len(fake.messages_in(CHANNEL))
    team.command(bram, "sluit")
    assert "Alleen een coördinator" in fake.ephemerals_for(bram)[-1]
    assert len(fake.messages_in(CHANNEL)) == posts_before

    team.command(anna, "sluit")
    headline = fake.messages_in(CHANNEL)[-1]
    assert "Deelname: 6 van 6" in headline.body
    assert headline.thread_ts is None
    details = fake.messages_in(CHANNEL, thread_ts=headline.ts)
    assert details, "the details go in the headline's thread"
    detail_text = "\n".join(message.body for message in details)
    assert "1. Vindt de school het belangrijk om samen te werken met ouders?" in detail_text
    assert "++ 1 · + 2 · +/- 1 · - 1 · -- 0 · ? 1" in detail_text
    # anna's open answer, escaped so it cannot become a link or a ping.
    assert "Vaker &lt;samen&gt; koffie &amp; een huisbezoek" in detail_text
    for name in SIX:  # never a name in the result
        assert re.search(rf"\b{name}\b", headline.body + detail_text) is None
    # The chart: upload URL, the bytes POSTed to it, then completed into the thread.
    (chart,) = [u for u in fake.uploads.values() if u.filename.endswith(".png")]
    assert chart.completed
    assert chart.data.startswith(b"\x89PNG")
    assert (chart.channel, chart.thread_ts) == (CHANNEL, headline.ts)
    assert len(fake.calls_to("upload")) == 1

    # Anyone may ask for the per-question chart: uploaded into the channel with its title.
    team.command(bram, "grafiek vragen")
    (items,) = [u for u in fake.uploads.values() if u.filename.endswith("vragen.png")]
    assert (items.channel, items.thread_ts) == (CHANNEL, None)
    assert items.comment is not None
    assert "Quickscan per vraag (6 ingevulde quickscans)" in items.comment

    # The export goes privately to the coordinator, uploaded into her DM.
    team.command(anna, "export")
    assert "Excel-bestand" in fake.ephemerals_for(anna)[-1]
    (workbook,) = [u for u in fake.uploads.values() if u.filename.endswith(".xlsx")]
    assert workbook.completed
    assert workbook.channel == fake.dm_channel(anna)
    assert workbook.data.startswith(b"PK")
    # Delivered, so no copy of it stays behind on the bot's disk.
    assert not list(output_dir.rglob("*.xlsx"))


def test_socket_mode_handles_envelopes_then_acks_them(tmp_path: Path, clock: FakeClock) -> None:
    """The default for a school: Slack's envelopes over the WebSocket, acked once handled."""
    url = f"sqlite:///{tmp_path / 'quickscan.sqlite3'}"
    with slack_world(
        database_url=url, clock=clock, output_dir=tmp_path, names=SIX, socket_mode=True
    ) as (world, ids):
        fake, team = world.fake, world.team
        anna, bram = ids[0], ids[1]
        assert [c.method for c in fake.calls] == ["auth.test", "apps.connections.open"]
        start = team.command_body(anna, "start")
        assert team.post(start).status == 200
        assert team.post(start, retry=1).status == 200  # redelivered: handled once
        assert len(fake.messages_in(CHANNEL)) == 1
        assert all(len(fake.dm(user)) == 1 for user in ids)
        team.click(bram, "start")
        answer_questions(team, bram, "+", 3)
        assert "vraag 4 van 48" in fake.prompt(bram).body
        assert fake.dm(bram)[0].updates == 4  # updated in place
        team.click(bram, "later")
        team.say_in_dm(bram, "ik ga verder")  # an events_api envelope
        assert "vraag 4 van 48" in fake.dm(bram)[-1].body
        team.command(bram, "sluit")
        assert "Alleen een coördinator" in fake.ephemerals_for(bram)[-1]
        acked = {ack["envelope_id"] for ack in fake.socket_acks}
        assert len(acked) == len(fake.socket_acks) - 1  # every envelope, the retry twice
