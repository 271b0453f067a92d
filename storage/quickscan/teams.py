"""Teams, their settings and their coordinators (part of ``Store``).

A team is a channel on one platform workspace; its row id is what every other
table refers to, so renaming the team (a Telegram group that became a
supergroup) carries its rounds, settings, plans and checklist along.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.keys import TeamKey
from storage.models.checklist import ChecklistRoundRow, ChecklistTeacherRow
from storage.models.quickscan import CoordinatorRow, RoundRow, TeamRow
from storage.models.schedule import ScheduledPingRow
from storage.quickscan.queries import dialect_insert, rowcount, team_filter, team_row
from storage.quickscan.records import MIN_RESPONDENTS_FLOOR, Team
from storage.quickscan.shared import RepositoryBase, team_record

_LOG = logging.getLogger(__name__)


class TeamRepository(RepositoryBase):
    """Teams and roles."""

    def ensure_team(
        self, *, key: TeamKey, founder: str | None, now: datetime
    ) -> tuple[Team, bool]:
        """Create the team on first contact, with its founder as first coordinator.

        Two members greeting the bot at once may race: the loser of the unique
        constraint simply reads the winner's team.

        Args:
            key: The team.
            founder: User who first set the bot up in the team; becomes coordinator.
                None creates the team without one (the platform's admins manage it).
            now: Current time (aware UTC).

        Returns:
            The team and whether it was created now.
        """
        with self._sessions.begin() as session:
            existing = team_row(session, key)
            if existing is not None:
                return team_record(existing), False
            try:
                # A SAVEPOINT: losing the race undoes only this insert, so the
                # transaction (an event's unit of work) goes on and reads the winner.
                with session.begin_nested():
                    team = TeamRow(
                        platform=key.platform,
                        workspace=key.workspace,
                        team_ref=key.team,
                        created_at=now,
                    )
                    session.add(team)
                    session.flush()
                    if founder is not None:
                        session.add(
                            CoordinatorRow(
                                team_id=team.id, user_ref=founder, added_by=founder, added_at=now
                            )
                        )
                        session.flush()
            except IntegrityError:
                return team_record(self._required_team_row(session, key)), False
            return team_record(team), True

    def teams(self) -> list[Team]:
        """Every team, oldest first: the scheduler plans each one's pings."""
        with self._sessions.begin() as session:
            return [
                team_record(row) for row in session.scalars(select(TeamRow).order_by(TeamRow.id))
            ]

    def get_team(self, *, key: TeamKey) -> Team | None:
        """The team, or None if the bot was never set up there."""
        with self._sessions.begin() as session:
            row = team_row(session, key)
            return None if row is None else team_record(row)

    def update_team(
        self,
        *,
        key: TeamKey,
        locale: str | None = None,
        min_respondents: int | None = None,
        min_text_respondents: int | None = None,
        label_rules: Mapping[str, float] | None = None,
        region: str | None = None,
        holiday_overrides: Mapping[str, tuple[str, str]] | None = None,
        plan_settings: Mapping[str, int] | None = None,
    ) -> Team:
        """Change team settings; None leaves a setting as it is.

        ``label_rules`` replaces the team's threshold overrides as a whole.

        The thresholds protect anonymity, so they cannot go below
        ``MIN_RESPONDENTS_FLOOR`` whatever a coordinator types.

        Raises:
            ValueError: A threshold below the floor.
            UnknownTeamError: The team does not exist.
        """
        for name, value in (
            ("min_respondents", min_respondents),
            ("min_text_respondents", min_text_respondents),
        ):
            if value is not None and value < MIN_RESPONDENTS_FLOOR:
                msg = f"{name} must be at least {MIN_RESPONDENTS_FLOOR}, got {value}"
                raise ValueError(msg)
        with self._sessions.begin() as session:
            row = self._required_team_row(session, key)
            if locale is not None:
                row.locale = locale
            if min_respondents is not None:
                row.min_respondents = min_respondents
            if min_text_respondents is not None:
                row.min_text_respondents = min_text_respondents
            if label_rules is not None:
                row.label_rules = json.dumps(dict(sorted(label_rules.items())))
            if region is not None:
                row.region = region
            if plan_settings is not None:
                row.plan_settings = json.dumps(dict(sorted(plan_settings.items())))
            if holiday_overrides is not None:
                row.holiday_overrides = json.dumps(
                    {name: list(days) for name, days in sorted(holiday_overrides.items())}
                )
            session.flush()
            return team_record(row)

    def switch_checklist(self, *, key: TeamKey, enabled: bool) -> bool:
        """Switch the team's checklist oudercontact rounds on or off.

        One conditional UPDATE, so of two coordinators switching at the same moment
        (in two processes) exactly one changes it: only that one's confirmation and
        its consequences (closing an open round) happen; the other is told it already
        was so.

        Returns:
            True if the setting changed now; False if it already was ``enabled``.

        Raises:
            UnknownTeamError: The team does not exist.
        """
        with self._sessions.begin() as session:
            team_id = self._required_team_row(session, key).id
            statement = (
                update(TeamRow)
                .where(TeamRow.id == team_id, TeamRow.checklist_enabled != enabled)
                .values(checklist_enabled=enabled)
                .execution_options(synchronize_session=False)
            )
            changed = rowcount(session.execute(statement)) == 1
            session.expire_all()  # the team row read above must not serve stale values
            return changed

    def rename_team(self, *, key: TeamKey, new_team: str) -> Team | None:
        """Move the team to another chat id (a Telegram group became a supergroup).

        Only the team row's reference changes: rounds, settings, coordinators,
        plans and the checklist point at its id and come along. Idempotent: once
        moved, calling again finds nothing under the old id and returns the team
        under the new one.

        The new chat may already have a team of its own when a member spoke there
        before the migration was handled: one that holds nothing yet (no round, no
        checklist) is a placeholder and is replaced, its would-be coordinator
        included, since being first to type in the new chat makes nobody a
        coordinator of the existing team. A team with data of its own is left as it
        is, and so is the old one (logged; the two are never merged).

        Returns:
            The team under ``new_team``, or None when there is none.
        """
        target = TeamKey(platform=key.platform, workspace=key.workspace, team=new_team)
        if target == key:
            return self.get_team(key=key)
        with self._sessions.begin() as session:
            old = session.scalars(
                select(TeamRow).where(*team_filter(key)).with_for_update()
            ).one_or_none()
            existing = session.scalars(
                select(TeamRow).where(*team_filter(target)).with_for_update()
            ).one_or_none()
            if old is None:
                return None if existing is None else team_record(existing)
            if existing is not None:
                if _holds_data(session, existing.id):
                    _LOG.warning(
                        "team %d not moved: the new chat's team %d has data of its own",
                        old.id,
                        existing.id,
                    )
                    return team_record(existing)
                # Explicitly, not by cascade: nothing relies on foreign keys being on.
                for table, column in (
                    (CoordinatorRow, CoordinatorRow.team_id),
                    (ScheduledPingRow, ScheduledPingRow.team_id),
                    (TeamRow, TeamRow.id),
                ):
                    session.execute(
                        delete(table)
                        .where(column == existing.id)
                        .execution_options(synchronize_session=False)
                    )
                session.expunge(existing)
            old.team_ref = new_team
            session.flush()
            _LOG.info("team %d moved to a new chat id", old.id)
            return team_record(old)

    def is_coordinator(self, *, key: TeamKey, user: str) -> bool:
        """Whether the user may manage this team (False for unknown teams)."""
        with self._sessions.begin() as session:
            query = (
                select(CoordinatorRow.user_ref)
                .join(TeamRow, TeamRow.id == CoordinatorRow.team_id)
                .where(CoordinatorRow.user_ref == user, *team_filter(key))
            )
            return session.scalars(query).first() is not None

    def add_coordinator(self, *, key: TeamKey, user: str, added_by: str, now: datetime) -> bool:
        """Make a user coordinator of the team.

        Returns:
            False if the user already was one.

        Raises:
            UnknownTeamError: The team does not exist.
        """
        with self._sessions.begin() as session:
            team = self._required_team_row(session, key)
            statement = (
                dialect_insert(self.engine, CoordinatorRow)
                .values(team_id=team.id, user_ref=user, added_by=added_by, added_at=now)
                .on_conflict_do_nothing(index_elements=["team_id", "user_ref"])
                # RETURNING, not rowcount: reliable for ON CONFLICT DO NOTHING everywhere.
                .returning(CoordinatorRow.user_ref)
            )
            return session.execute(statement).first() is not None

    def coordinators(self, *, key: TeamKey) -> list[str]:
        """The team's coordinators, in the order they were added."""
        with self._sessions.begin() as session:
            query = (
                select(CoordinatorRow.user_ref)
                .join(TeamRow, TeamRow.id == CoordinatorRow.team_id)
                .where(*team_filter(key))
                .order_by(CoordinatorRow.added_at, CoordinatorRow.user_ref)
            )
            return list(session.scalars(query))

    def remove_coordinator(self, *, key: TeamKey, user: str) -> bool:
        """Remove one coordinator, never the team's last one.

        The team row is locked and the DELETE itself requires another coordinator to
        remain, so two coordinators removing each other at the same moment cannot
        leave a team that nobody manages.

        Returns:
            True if removed; False if the user is no coordinator or the last one.
        """
        with self._sessions.begin() as session:
            team = session.scalars(
                select(TeamRow).where(*team_filter(key)).with_for_update()
            ).one_or_none()
            if team is None:
                return False
            others = (
                select(func.count())
                .select_from(CoordinatorRow)
                .where(CoordinatorRow.team_id == team.id, CoordinatorRow.user_ref != user)
                .scalar_subquery()
            )
            statement = (
                delete(CoordinatorRow)
                .where(
                    CoordinatorRow.team_id == team.id,
                    CoordinatorRow.user_ref == user,
                    others > 0,
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(session.execute(statement)) == 1


def _holds_data(session: Session, team_id: int) -> bool:
    """Whether a team has anything beyond its row and roles: a round or checklist data."""
    owned = (
        select(RoundRow.id).where(RoundRow.team_id == team_id),
        select(ChecklistTeacherRow.id).where(ChecklistTeacherRow.team_id == team_id),
        select(ChecklistRoundRow.id).where(ChecklistRoundRow.team_id == team_id),
    )
    return any(session.scalar(query.limit(1)) is not None for query in owned)
