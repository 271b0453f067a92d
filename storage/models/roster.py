"""What a platform's roster learns by watching: people, and who is in which group.

Telegram cannot list a group's members, so the adapter learns them from what it
sees (adapters/telegram/roster.py). Kept in memory, that knowledge belonged to
one process: with several replicas on one database, the replica that handled a
round's start only invited the members it had seen itself, and a restart forgot
everyone. These rows are that knowledge, shared by every process.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import REF_LENGTH, Base

DISPLAY_NAME_LENGTH = 255
"""A Telegram full name is at most 64 + 64 characters; margin for other platforms."""
USERNAME_LENGTH = 64
"""Telegram usernames are 5-32 characters; margin."""


class RosterPersonRow(Base):
    """A person the bot has seen in a workspace: their name, and whether a DM reaches them.

    ``started``: the person wrote to the bot in private, so the bot may message them.
    ``unreachable``: a private message to them failed for good (blocked, never
    started). ``last_team``: the team the bot's latest DM to them was about, so a
    typed answer goes to that team's round.
    """

    __tablename__ = "roster_people"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    user: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_LENGTH))
    username: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
    started: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_team: Mapped[str | None] = mapped_column(String(REF_LENGTH))


class RosterMemberRow(Base):
    """``user`` was seen in the group ``team``; ``id`` keeps the order of appearance."""

    __tablename__ = "roster_members"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "team", "user"),
        # A person's rows across groups: erasure on request.
        Index(None, "platform", "workspace", "user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str] = mapped_column(String(REF_LENGTH))
    team: Mapped[str] = mapped_column(String(REF_LENGTH))
    user: Mapped[str] = mapped_column(String(REF_LENGTH))
