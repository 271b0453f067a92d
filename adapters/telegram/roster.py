"""Who is in which group, as far as a bot can know: Telegram cannot list members.

A bot sees the people who speak or command in a group (all messages only when
privacy mode is off), who join or leave, and the group's administrators. It may
only message people who started it. The roster therefore invites the people seen
in the group who have also started the bot; everyone else joins by the round's
deep link. The knowledge is kept in memory: after a restart, members are known
again as they speak or open the link.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import User

from conversations.core.messages import Sender
from storage.keys import TeamKey

PLATFORM = "telegram"


@dataclass(frozen=True, slots=True)
class _Person:
    user: str
    display_name: str
    username: str | None


def sender_of(user: User) -> Sender:
    """The neutral sender: the numeric user id, shown by the name people know."""
    name = user.full_name.strip() or (user.username or "") or str(user.id)
    return Sender(user=str(user.id), display_name=name)


class TelegramRoster:
    """Groups' known members and the users who can receive a private message.

    Thread-safe: the engine asks for members from a worker thread while the
    adapter records what it sees on the event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.workspace = ""  # the bot id, known once the bot has called getMe
        self._people: dict[str, _Person] = {}
        self._groups: dict[str, dict[str, None]] = {}
        self._started: set[str] = set()
        self._unreachable: set[str] = set()
        self._last_team: dict[str, str] = {}

    # ------------------------------------------------------------------ seeing

    def seen(self, *, group: str, user: User) -> None:
        """``user`` is in ``group`` (spoke, commanded, joined, or administers it)."""
        if user.is_bot:
            return
        with self._lock:
            self._remember(user)
            self._groups.setdefault(group, {})[str(user.id)] = None

    def left(self, *, group: str, user: User) -> None:
        """``user`` left or was removed from ``group``: no longer invited there."""
        with self._lock:
            self._groups.get(group, {}).pop(str(user.id), None)

    def started(self, *, user: User) -> None:
        """``user`` wrote to the bot in private, so the bot may message them."""
        if user.is_bot:
            return
        with self._lock:
            self._remember(user)
            self._started.add(str(user.id))
            self._unreachable.discard(str(user.id))

    def blocked(self, *, user: str) -> None:
        """A private message to ``user`` failed for good (blocked, never started)."""
        with self._lock:
            self._started.discard(user)
            self._unreachable.add(user)

    def is_unreachable(self, *, user: str) -> bool:
        """Whether a private message to ``user`` is known to fail."""
        with self._lock:
            return user in self._unreachable

    def talked_about(self, *, user: str, team: str) -> None:
        """The bot's latest private message to ``user`` was about ``team``."""
        if team:
            with self._lock:
                self._last_team[user] = team

    def last_team(self, *, user: str) -> str:
        """The team ``user`` was last messaged about in private ("" when unknown).

        The engine routes typed answers to that team's round when a member is in
        rounds of two groups at once.
        """
        with self._lock:
            return self._last_team.get(user, "")

    def migrate(self, *, old: str, new: str) -> None:
        """Group ``old`` became the supergroup ``new``: its members and DM routing follow."""
        if old == new:
            return
        with self._lock:
            moved = self._groups.pop(old, None)
            if moved is not None:
                self._groups.setdefault(new, {}).update(moved)
            for user, team in self._last_team.items():
                if team == old:
                    self._last_team[user] = new

    def user_by_username(self, *, username: str) -> str | None:
        """The id of a user seen with ``@username`` (Telegram mentions name usernames)."""
        wanted = username.lstrip("@").lower()
        with self._lock:
            for person in self._people.values():
                if person.username is not None and person.username.lower() == wanted:
                    return person.user
        return None

    # ------------------------------------------------------------------ Roster

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """The people seen in the group who have started the bot, in order of appearance."""
        if team.platform != PLATFORM or team.workspace != self.workspace:
            return ()
        with self._lock:
            users = self._groups.get(team.team, {})
            return [
                Sender(user=user, display_name=self._people[user].display_name)
                for user in users
                if user in self._started and user not in self._unreachable
            ]

    def _remember(self, user: User) -> None:
        sender = sender_of(user)
        self._people[sender.user] = _Person(
            user=sender.user, display_name=sender.display_name, username=user.username
        )
