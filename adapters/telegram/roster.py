"""Who is in which group, as far as a bot can know: Telegram cannot list members.

A bot sees the people who speak or command in a group (all messages only when
privacy mode is off), who join or leave, and the group's administrators. It may
only message people who started it. The roster therefore invites the people seen
in the group who have also started the bot; everyone else joins by the round's
deep link. The knowledge is kept in the database (storage/roster.py), not in
memory: any update may reach any replica, and the replica that handles a round's
start must invite the members every replica has seen, also after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine
from telegram import User

from conversations.core.messages import Sender
from storage.keys import TeamKey
from storage.roster import Person, RosterStore

PLATFORM = "telegram"


def sender_of(user: User) -> Sender:
    """The neutral sender: the numeric user id, shown by the name people know."""
    name = user.full_name.strip() or (user.username or "") or str(user.id)
    return Sender(user=str(user.id), display_name=name)


class TelegramRoster:
    """Groups' known members and the users who can receive a private message.

    Every call reads or writes the shared database; nothing is kept in memory but
    the bot id, so two replicas (or a restarted process) know the same members.
    """

    def __init__(self, *, engine: Engine) -> None:
        """Keep the roster in ``engine``'s database (the engine's store's)."""
        self._rows = RosterStore(engine=engine, platform=PLATFORM)
        self.workspace = ""  # the bot id, known once the bot has called getMe

    # ------------------------------------------------------------------ seeing

    def seen(self, *, group: str, user: User) -> None:
        """``user`` is in ``group`` (spoke, commanded, joined, or administers it)."""
        if user.is_bot:
            return
        self._rows.seen(workspace=self.workspace, team=group, person=_person(user))

    def left(self, *, group: str, user: User) -> None:
        """``user`` left or was removed from ``group``: no longer invited there."""
        self._rows.left(workspace=self.workspace, team=group, user=str(user.id))

    def started(self, *, user: User) -> None:
        """``user`` wrote to the bot in private, so the bot may message them."""
        if user.is_bot:
            return
        self._rows.started(workspace=self.workspace, person=_person(user))

    def blocked(self, *, user: str) -> None:
        """A private message to ``user`` failed for good (blocked, never started)."""
        self._rows.blocked(workspace=self.workspace, user=user)

    def is_unreachable(self, *, user: str) -> bool:
        """Whether a private message to ``user`` is known to fail."""
        return self._rows.is_unreachable(workspace=self.workspace, user=user)

    def talked_about(self, *, user: str, team: str) -> None:
        """The bot's latest private message to ``user`` was about ``team``."""
        if team:
            self._rows.talked_about(workspace=self.workspace, user=user, team=team)

    def last_team(self, *, user: str) -> str:
        """The team ``user`` was last messaged about in private ("" when unknown).

        The engine routes typed answers to that team's round when a member is in
        rounds of two groups at once.
        """
        return self._rows.last_team(workspace=self.workspace, user=user)

    def migrate(self, *, old: str, new: str) -> None:
        """Group ``old`` became the supergroup ``new``: its members and DM routing follow."""
        if old == new:
            return
        self._rows.migrate(workspace=self.workspace, old=old, new=new)

    def user_by_username(self, *, username: str) -> str | None:
        """The id of a user seen with ``@username`` (Telegram mentions name usernames)."""
        return self._rows.user_by_username(workspace=self.workspace, username=username.lstrip("@"))

    # ------------------------------------------------------------------ Roster

    def members(self, *, team: TeamKey) -> Sequence[Sender]:
        """The people seen in the group who have started the bot, in order of appearance."""
        if team.platform != PLATFORM or team.workspace != self.workspace:
            return ()
        return [
            Sender(user=user, display_name=name)
            for user, name in self._rows.members(workspace=self.workspace, team=team.team)
        ]


def _person(user: User) -> Person:
    sender = sender_of(user)
    return Person(user=sender.user, display_name=sender.display_name, username=user.username)
