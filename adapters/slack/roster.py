"""Who is in a team channel, and what people are called: conversations.members + users.info.

The engine asks the roster when a round starts; the channel's human members are
invited. Bots (including this one), deleted accounts and Slackbot are skipped.
User profiles are cached for the life of the process: a name that changes shows
the old name until the next restart, which is harmless.

Before listing anyone the roster checks that the bot can post in the channel
(conversations.info ``is_member``): in a public channel conversations.members
works without the bot, so a round would open and invite everyone while its
announcement and its result fail with ``not_in_channel``. Such a round is refused
before anything starts, with a catalogue key telling the coordinator to invite
the bot; the engine answers privately.
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
# Catalogue keys of the private answer when a round cannot start.
NOT_MEMBER_KEY = "slack_channel.not_member"  # public channel, bot not invited
UNAVAILABLE_KEY = "slack.roster_failed"  # private channel without the bot, or another refusal
BUSY_KEY = "slack_channel.busy"  # rate limited or Slack trouble: try again shortly
_BUSY_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class RosterUnavailableError(PortRosterUnavailableError):
    """Slack will not let the bot run a round in this channel; ``key`` says why."""

    def __init__(self, *, channel: str, code: str, key: str) -> None:
        super().__init__(key=key)
        self.channel = channel
        self.code = code


def _unavailable(channel: str, error: SlackApiError) -> RosterUnavailableError:
    code = api_error_code(error)
    status = int(getattr(error.response, "status_code", 0) or 0)
    busy = status == 429 or status >= 500 or code in _BUSY_ERRORS
    logger.warning("channel %s unavailable for a round: %s", channel, code)
    return RosterUnavailableError(
        channel=channel, code=code, key=BUSY_KEY if busy else UNAVAILABLE_KEY
    )


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
        try:
            return self.lookup(user, fallback=fallback)
        except SlackApiError as error:
            logger.warning("users.info failed for %s: %s", user, api_error_code(error))
            return Person(user=user, name=fallback or user, human=False)

    def lookup(self, user: str, *, fallback: str = "") -> Person:
        """Someone's profile, cached once found.

        Raises:
            SlackApiError: users.info failed (a 429 included: nothing here sleeps).
        """
        with self._lock:
            known = self._people.get(user)
        if known is not None:
            return known
        info = self._client.users_info(user=user).get("user") or {}
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
            RosterUnavailableError: when the bot cannot post in the channel or Slack
                refuses to list it (or is busy: a member skipped for a failed
                lookup would never be invited); nothing is started then.
        """
        channel = team.team
        self._check_member(channel)
        people: list[Sender] = []
        for user in self._member_ids(channel):
            if user == SLACKBOT:
                continue
            try:
                person = self._directory.lookup(user)
            except SlackApiError as error:
                if api_error_code(error) in {"user_not_found", "user_not_visible"}:
                    continue  # gone from the workspace: nobody to invite
                raise _unavailable(channel, error) from None
            if person.human:
                people.append(Sender(user=person.user, display_name=person.name))
        return people

    def _check_member(self, channel: str) -> None:
        """Refuse a channel the bot is not in: it could not post the announcement or result."""
        try:
            info = self._client.conversations_info(channel=channel)
        except SlackApiError as error:
            raise _unavailable(channel, error) from None
        data = info.get("channel") or {}
        if data.get("is_member") is False and not data.get("is_im"):
            logger.warning("channel %s: the bot is not a member; no round started", channel)
            raise RosterUnavailableError(
                channel=channel, code="not_in_channel", key=NOT_MEMBER_KEY
            )

    def _member_ids(self, channel: str) -> list[str]:
        ids: list[str] = []
        cursor: str | None = None
        while True:
            try:
                page = self._client.conversations_members(
                    channel=channel, limit=MEMBERS_PAGE_SIZE, cursor=cursor
                )
            except SlackApiError as error:
                raise _unavailable(channel, error) from None
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
