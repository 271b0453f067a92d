"""The teams of the load test: each coordinator starts a round, the members play, it closes.

Used by ``benchmarks/load_replicas.py``. On Telegram, members the starting
replica does not know join by the round's deep link, as people do who were
not invited privately.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from benchmarks.load_checks import ANNOUNCEMENT, RESULT
from benchmarks.load_members import (
    Pace,
    Recorder,
    Side,
    SlackSide,
    TelegramSide,
    play_member,
    walkthrough,
)
from benchmarks.load_watch import ChatState
from benchmarks.load_world import Team, invited


@dataclass(frozen=True, slots=True)
class Options:
    """The run's size and configuration."""

    teams: int
    members: int
    command: str
    slack_rate: float
    slack_tier_scale: float
    pace: Pace
    seed: int


def play_team(
    team: Team,
    *,
    side: Side,
    chats: dict[object, ChatState],
    options: Options,
    recorder: Recorder,
    delay: float,
    url: str,
) -> None:
    """Start the round, let every member play in a thread of its own, then close it."""
    time.sleep(delay)
    start = _command(side, team, "start")
    recorder.ack(team.platform, start)
    joins = _deep_links(side, team, chats=chats, url=url, wait_s=options.pace.wait_s)
    recorder.by_link.extend(str(member) for member in joins)
    threads = []
    for member in team.members:
        rng = random.Random(f"{options.seed}:{member}")
        chat = chats[_chat_of(side, member)]
        threads.append(
            threading.Thread(
                target=play_member,
                kwargs={
                    "side": side,
                    "user": member,
                    "chat": chat,
                    "steps": walkthrough(rng),
                    "rng": rng,
                    "pace": options.pace,
                    "recorder": recorder,
                    "join": joins.get(member),
                },
                name=f"member-{member}",
            )
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close = _command(side, team, "sluit")
    recorder.ack(team.platform, close)
    try:
        chats[team.chat].wait(
            lambda state: state.count(RESULT) >= 1,
            timeout=options.pace.wait_s,
            what=f"the result of {team.chat}",
        )
    except TimeoutError as error:
        recorder.error(str(error))


def _deep_links(
    side: Side, team: Team, *, chats: dict[object, ChatState], url: str, wait_s: float
) -> dict[object, Callable[[], tuple[int, float]]]:
    """Telegram: how each member the round did not invite privately joins (the deep link).

    A bot cannot list a group's members; the replica that handled the start
    invites those it saw in the group and saw start the bot. The others tap
    "Doe mee" in the announcement, which sends ``/start <token>`` in private.
    """
    if not isinstance(side, TelegramSide):
        return {}
    group = chats[team.chat]
    group.wait(
        lambda state: state.count(ANNOUNCEMENT) >= 1,
        timeout=wait_s,
        what=f"the announcement in {team.chat}",
    )
    announcement = next(m for m in group.messages if m.buttons)
    token = str(announcement.button("Doe mee")["url"]).split("start=", 1)[1]
    known = invited(url, platform="telegram", chat=team.chat)
    return {
        member: partial(side.private, int(member), f"/start {token}")
        for member in team.members
        if str(member) not in known
    }


def _command(side: Side, team: Team, word: str) -> tuple[int, float]:
    if isinstance(side, SlackSide):
        return side.command(str(team.coordinator), word, team=str(team.chat))
    return side.group(int(team.coordinator), int(team.chat), f"/quickscan {word}")


def _chat_of(side: Side, member: str | int) -> str | int:
    return side.fake.dm_channel(str(member)) if isinstance(side, SlackSide) else member


def introduce(side: TelegramSide, teams: Sequence[Team], recorder: Recorder) -> None:
    """Telegram members start the bot in private and speak in their group (so it knows them).

    Each webhook POST is answered after it was handled, so once all are answered
    no "/start" is still waiting to be read as starting the round.
    """

    def hello(team: Team, member: int) -> None:
        recorder.ack("telegram", side.private(member, "/start"))
        recorder.ack("telegram", side.group(member, int(team.chat), "Hallo"))

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(hello, t, int(m)) for t in teams for m in t.members]
        for future in futures:
            future.result()
