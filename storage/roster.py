"""The roster's knowledge, shared by every process on the database.

Any update may reach any replica, and the one that handles a round's start must
invite every member any replica has seen; so sightings are rows, not memory
(storage/models/roster.py). Two replicas may record the same sighting at the same
moment: every write is an upsert (``INSERT ... ON CONFLICT``), which cannot fail
on the other's row.

Sightings are frequent (every group message when privacy mode is off) and almost
always repeat what is stored, so each write is preceded by one read and skipped
when the rows already say it. The read is of the database, never of a copy in
memory: a row deleted meanwhile by another process (the person left, or asked to
be forgotten) is simply written again by the next sighting. Reads outside an
event's unit of work use a plain transaction, so on SQLite a repeated sighting
does not queue for the write lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, delete, func, literal, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from storage.models.roster import RosterMemberRow, RosterPersonRow
from storage.quickscan.queries import dialect_insert, rowcount
from storage.transactions import Sessions, in_unit_of_work


@dataclass(frozen=True, slots=True)
class Person:
    """What a sighting tells about a person: their id and the names they go by."""

    user: str
    display_name: str
    username: str | None


class RosterStore:
    """One platform's roster rows: people, their reachability, and group membership."""

    def __init__(self, *, engine: Engine, platform: str) -> None:
        """Keep rows of ``platform`` on ``engine``'s database."""
        self._engine = engine
        self._sessions = Sessions(engine)
        self._platform = platform

    # ------------------------------------------------------------------ writes

    def seen(self, *, workspace: str, team: str, person: Person) -> None:
        """``person`` is in group ``team``: remember their names and the membership."""
        people, members = RosterPersonRow, RosterMemberRow
        membership = (
            select(members.id)
            .where(*self._member(workspace, team, person.user))
            .correlate(None)
            .scalar_subquery()
        )
        row = self._read_one(
            select(people.display_name, people.username, membership).where(
                *self._person(workspace, person.user)
            )
        )
        named = row is not None and (row[0], row[1]) == (person.display_name, person.username)
        if named and row is not None and row[2] is not None:
            return
        with self._sessions.begin() as session:
            # The names too, even when they were current: the row may have been
            # deleted since the read (the person's last group was left elsewhere).
            session.execute(self._upsert_names(workspace, person))
            session.execute(
                dialect_insert(self._engine, members)
                .values(platform=self._platform, workspace=workspace, team=team, user=person.user)
                .on_conflict_do_nothing(index_elements=["platform", "workspace", "team", "user"])
            )

    def left(self, *, workspace: str, team: str, user: str) -> None:
        """``user`` left group ``team``: the membership goes, and the person with it
        when no other group of the bot is left to invite them to (their name is
        kept only while it serves an invitation).
        """
        members = RosterMemberRow
        elsewhere = (
            select(members.id)
            .where(
                members.platform == self._platform,
                members.workspace == workspace,
                members.user == user,
            )
            .exists()
        )
        with self._sessions.begin() as session:
            session.execute(delete(members).where(*self._member(workspace, team, user)))
            session.execute(
                delete(RosterPersonRow)
                .where(*self._person(workspace, user), ~elsewhere)
                .execution_options(synchronize_session=False)
            )

    def started(self, *, workspace: str, person: Person) -> None:
        """``person`` wrote to the bot in private: a DM reaches them from now on."""
        people = RosterPersonRow
        row = self._read_one(
            select(people.display_name, people.username, people.started, people.unreachable).where(
                *self._person(workspace, person.user)
            )
        )
        if row is not None and tuple(row) == (person.display_name, person.username, True, False):
            return
        statement = self._upsert_names(workspace, person, started=True, unreachable=False)
        with self._sessions.begin() as session:
            session.execute(statement)

    def blocked(self, *, workspace: str, user: str) -> None:
        """A DM to ``user`` failed for good: stop inviting them until they start the bot."""
        people = RosterPersonRow
        row = self._read_one(
            select(people.started, people.unreachable).where(*self._person(workspace, user))
        )
        if row is not None and tuple(row) == (False, True):
            return
        unknown = Person(user=user, display_name=user, username=None)
        statement = self._upsert(workspace, unknown, {"started": False, "unreachable": True})
        with self._sessions.begin() as session:
            session.execute(statement)

    def talked_about(self, *, workspace: str, user: str, team: str) -> None:
        """The bot's latest DM to ``user`` was about ``team``.

        Only a person already known gets it: a DM reaches only people who started
        the bot, and the confirmation of ``vergeet-mij`` must not bring back a row
        of the person it just erased.
        """
        current = self._read_one(
            select(RosterPersonRow.last_team).where(*self._person(workspace, user))
        )
        if current is None or current[0] == team:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(RosterPersonRow)
                .where(*self._person(workspace, user))
                .values(last_team=team)
                .execution_options(synchronize_session=False)
            )

    def migrate(self, *, workspace: str, old: str, new: str) -> None:
        """Group ``old`` became ``new``: memberships (in their order) and DM routing move."""
        members, people = RosterMemberRow, RosterPersonRow
        moved = (
            select(members.platform, members.workspace, members.user, literal(new, String))
            .where(members.platform == self._platform, members.workspace == workspace)
            .where(members.team == old)
            .order_by(members.id)
        )
        with self._sessions.begin() as session:
            session.execute(
                dialect_insert(self._engine, members)
                .from_select(["platform", "workspace", "user", "team"], moved)
                .on_conflict_do_nothing(index_elements=["platform", "workspace", "team", "user"])
            )
            session.execute(
                delete(members).where(
                    members.platform == self._platform,
                    members.workspace == workspace,
                    members.team == old,
                )
            )
            session.execute(
                update(people)
                .where(
                    people.platform == self._platform,
                    people.workspace == workspace,
                    people.last_team == old,
                )
                .values(last_team=new)
            )

    # ------------------------------------------------------------------ reads

    def is_unreachable(self, *, workspace: str, user: str) -> bool:
        """Whether a DM to ``user`` is known to fail."""
        row = self._read_one(
            select(RosterPersonRow.unreachable).where(*self._person(workspace, user))
        )
        return row is not None and bool(row[0])

    def last_team(self, *, workspace: str, user: str) -> str:
        """The team ``user``'s latest DM was about; "" when unknown."""
        row = self._read_one(
            select(RosterPersonRow.last_team).where(*self._person(workspace, user))
        )
        return (row[0] or "") if row is not None else ""

    def user_by_username(self, *, workspace: str, username: str) -> str | None:
        """The id of the person seen with ``username`` (any case), if any."""
        people = RosterPersonRow
        row = self._read_one(
            select(people.user)
            .where(
                people.platform == self._platform,
                people.workspace == workspace,
                func.lower(people.username) == username.lower(),
            )
            .order_by(people.user)
            .limit(1)
        )
        return None if row is None else str(row[0])

    def members(self, *, workspace: str, team: str) -> Sequence[tuple[str, str]]:
        """``(user, display_name)`` of the group's members a DM reaches, in order of appearance."""
        members, people = RosterMemberRow, RosterPersonRow
        statement = (
            select(members.user, people.display_name)
            .join(
                people,
                (people.platform == members.platform)
                & (people.workspace == members.workspace)
                & (people.user == members.user),
            )
            .where(members.platform == self._platform, members.workspace == workspace)
            .where(members.team == team, people.started, ~people.unreachable)
            .order_by(members.id)
        )
        with self._reading() as connection:
            return [(str(user), str(name)) for user, name in connection.execute(statement)]

    # ------------------------------------------------------------------ helpers

    def _person(self, workspace: str, user: str) -> tuple[Any, ...]:
        people = RosterPersonRow
        return (
            people.platform == self._platform,
            people.workspace == workspace,
            people.user == user,
        )

    def _member(self, workspace: str, team: str, user: str) -> tuple[Any, ...]:
        members = RosterMemberRow
        return (
            members.platform == self._platform,
            members.workspace == workspace,
            members.team == team,
            members.user == user,
        )

    def _upsert_names(self, workspace: str, person: Person, **flags: bool) -> Any:
        names = {"display_name": person.display_name, "username": person.username}
        return self._upsert(workspace, person, {**names, **flags})

    def _upsert(self, workspace: str, person: Person, changes: dict[str, Any]) -> Any:
        """Insert the person with ``changes``, or set only ``changes`` on their row."""
        values = {
            "platform": self._platform,
            "workspace": workspace,
            "user": person.user,
            "display_name": person.display_name,
            "username": person.username,
            **changes,
        }
        insert = dialect_insert(self._engine, RosterPersonRow).values(**values)
        return insert.on_conflict_do_update(
            index_elements=["platform", "workspace", "user"], set_=changes
        )

    def _read_one(self, statement: Any) -> Any:
        with self._reading() as connection:
            return connection.execute(statement).first()

    @contextmanager
    def _reading(self) -> Iterator[Connection | Session]:
        """The event's transaction when in one; else a plain one that takes no write lock."""
        if in_unit_of_work(self._engine):
            with self._sessions.begin() as session:
                yield session
            return
        with self._engine.connect() as connection:
            yield connection


def forget_person(session: Session, *, platform: str, workspace: str, user: str) -> int:
    """Delete ``user``'s roster rows in the workspace (erasure on request); rows deleted."""
    memberships = session.execute(
        delete(RosterMemberRow)
        .where(
            RosterMemberRow.platform == platform,
            RosterMemberRow.workspace == workspace,
            RosterMemberRow.user == user,
        )
        .execution_options(synchronize_session=False)
    )
    person = session.execute(
        delete(RosterPersonRow)
        .where(
            RosterPersonRow.platform == platform,
            RosterPersonRow.workspace == workspace,
            RosterPersonRow.user == user,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(memberships) + rowcount(person)


def person_data(
    session: Session, *, platform: str, workspace: str, user: str
) -> dict[str, object]:
    """What the roster holds about ``user`` (right of access); empty when nothing."""
    people, members = RosterPersonRow, RosterMemberRow
    person = session.execute(
        select(
            people.display_name,
            people.username,
            people.started,
            people.unreachable,
            people.last_team,
        ).where(people.platform == platform, people.workspace == workspace, people.user == user)
    ).first()
    groups = session.scalars(
        select(members.team)
        .where(members.platform == platform, members.workspace == workspace, members.user == user)
        .order_by(members.id)
    ).all()
    if person is None and not groups:
        return {}
    name, username, started, unreachable, last_team = person or (None, None, False, False, None)
    return {
        "display_name": name,
        "username": username,
        "may_receive_private_messages": bool(started) and not bool(unreachable),
        "unreachable": bool(unreachable),
        "last_team": last_team,
        "groups_seen_in": list(groups),
    }
