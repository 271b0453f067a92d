"""Who is in a team channel, and what people are called: conversations.members + users.info.

The engine asks the roster when a round starts; the channel's human members are
invited. Bots (including this one), deleted accounts and Slackbot are skipped.
User profiles are cached for the life of the process: a name that changes shows
the old name until the next restart, which is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.slack.logs import api_error_code
from bot.core.ports import RosterUnavailableError as PortRosterUnavailableError
from conversations.core.messages import Sender
from storage.keys import TeamKey

logger = logging.getLogger(__name__)

SLACKBOT = "USLACKBOT"
MEMBERS_PAGE_SIZE = 200  # Slack's recommended page size for conversations.members


class RosterUnavailableError(PortRosterUnavailableError):
    """Slack would not list the channel's members (bot not in a private channel)."""

    def __init__(self, *, channel: str, code: str) -> None:
        super().__init__(f"conversations.members failed for {channel}: {code}")
        self.channel = channel
        self.code = code


@dataclass(frozen=True, slots=True)
class Person:
    """What users.info says about someone, reduced to what the bot needs."""

    user: str
    name: str
    human: bool


class Directory:
    """Cached users.info lookups (names for messages, humans for the roster)."""

    def __init__(self, *, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._people: dict[str, Person] = {}

    def person(self, user: str, *, fallback: str = "") -> Person:
        """Someone's profile; on a lookup failure a non-human placeholder (not cached)."""
        with self._lock:
            known = self._people.get(user)
        if known is not None:
            return known
        try:
            info = self._client.users_info(user=user).get("user") or {}
        except SlackApiError as error:
            logger.warning("users.info failed for %s: %s", user, api_error_code(error))
            return Person(user=user, name=fallback or user, human=False)
        person = _person(user, info, fallback=fallback)
        with self._lock:
            self._people[user] = person
        return person

    def name(self, user: str, *, fallback: str = "") -> str:
        """The name to address someone by."""
        return self.person(user, fallback=fallback).name

    def learn(self, user: str) -> None:
        """Note an id seen in a command (``@naam``), so replies can mention it."""
        self.person(user)

    def known(self) -> frozenset[str]:
        """Ids looked up so far; only these are rendered as mentions."""
        with self._lock:
            return frozenset(self._people)


class SlackRoster:
    """The engine's Roster for Slack teams: the channel's human members."""

    def __init__(self, *, client: WebClient, directory: Directory) -> None:
        self._client = client
        self._directory = directory

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """Every human in the channel, in Slack's order.

        Raises:
            RosterUnavailableError: when Slack refuses to list the channel (the
                bot is not in the private channel); nothing is started then.
        """
        people: list[Sender] = []
        for user in self._member_ids(team.team):
            if user == SLACKBOT:
                continue
            person = self._directory.person(user)
            if person.human:
                people.append(Sender(user=person.user, display_name=person.name))
        return people

    def _member_ids(self, channel: str) -> list[str]:
        ids: list[str] = []
        cursor: str | None = None
        while True:
            try:
                page = self._client.conversations_members(
                    channel=channel, limit=MEMBERS_PAGE_SIZE, cursor=cursor
                )
            except SlackApiError as error:
                raise RosterUnavailableError(channel=channel, code=api_error_code(error)) from None
            ids.extend(str(user) for user in page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return ids


def _person(user: str, info: dict[str, object], *, fallback: str) -> Person:
    profile = info.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    candidates = (
        profile.get("display_name"),
        profile.get("real_name"),
        info.get("real_name"),
        info.get("name"),
        fallback,
    )
    name = next((str(value) for value in candidates if isinstance(value, str) and value), user)
    human = not (
        info.get("is_bot") or info.get("is_app_user") or info.get("deleted") or user == SLACKBOT
    )
    return Person(user=user, name=name, human=human)
