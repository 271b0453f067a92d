"""Rounds of a team, and the redelivery ledger of platform events (part of ``Store``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Update, select, update
from sqlalchemy.exc import IntegrityError

from storage.keys import TeamKey
from storage.models.quickscan import ProcessedEventRow, RoundRow, TeamRow
from storage.quickscan.queries import dialect_insert, rowcount, team_filter
from storage.quickscan.records import Round, RoundAlreadyOpenError, RoundNotOpenError
from storage.quickscan.shared import CLOSED, OPEN, RepositoryBase, round_record, team_id_of


class RoundRepository(RepositoryBase):
    """Opening, finding and closing rounds; recording which events were handled."""

    def open_round(
        self,
        *,
        key: TeamKey,
        instrument_id: str,
        opened_by: str,
        deadline: datetime | None,
        now: datetime,
        join_token: str | None = None,
    ) -> Round:
        """Open a new round for the team; ``join_token`` names it in join links.

        The partial unique index decides, so two coordinators opening at the same
        moment get one round and one ``RoundAlreadyOpenError``.

        Raises:
            RoundAlreadyOpenError: The team already has an open round.
            UnknownTeamError: The team does not exist.
        """
        with self._sessions.begin() as session:
            team = self._required_team_row(session, key)
            row = RoundRow(
                team_id=team.id,
                instrument_id=instrument_id,
                status=OPEN,
                opened_by=opened_by,
                opened_at=now,
                deadline=deadline,
                closed_at=None,
                join_token=join_token,
            )
            try:
                with session.begin_nested():  # the transaction survives a lost race
                    session.add(row)
                    session.flush()
            except IntegrityError as error:
                msg = f"team {key} already has an open round"
                raise RoundAlreadyOpenError(msg) from error
            return round_record(row)

    def round_by_token(
        self, *, platform: str, workspace: str, token: str
    ) -> tuple[TeamKey, Round] | None:
        """The OPEN round a join link names, within one platform workspace."""
        with self._sessions.begin() as session:
            found = session.execute(
                select(RoundRow, TeamRow)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(
                    RoundRow.join_token == token,
                    RoundRow.status == OPEN,
                    TeamRow.platform == platform,
                    TeamRow.workspace == workspace,
                )
            ).first()
            if found is None:
                return None
            round_row, team = found
            key = TeamKey(platform=team.platform, workspace=team.workspace, team=team.team_ref)
            return key, round_record(round_row)

    def claim_event(self, *, platform: str, workspace: str, event_id: str, now: datetime) -> bool:
        """Record a delivery id; False when it was seen before (a redelivery).

        The primary key decides, so two processes receiving the same retry handle
        it once between them.
        """
        with self._sessions.begin() as session:
            statement = (
                dialect_insert(self.engine, ProcessedEventRow)
                .values(platform=platform, workspace=workspace, event_id=event_id, seen_at=now)
                .on_conflict_do_nothing(index_elements=["platform", "workspace", "event_id"])
                .returning(ProcessedEventRow.event_id)
            )
            return session.execute(statement).first() is not None

    def current_round(self, *, key: TeamKey) -> Round | None:
        """The team's open round, if any."""
        with self._sessions.begin() as session:
            query = (
                select(RoundRow)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(RoundRow.status == OPEN, *team_filter(key))
            )
            row = session.scalars(query).one_or_none()
            return None if row is None else round_record(row)

    def get_round(self, *, key: TeamKey, round_id: int) -> Round | None:
        """A round of this team (None for another team's round id)."""
        with self._sessions.begin() as session:
            row = self._round_row(session, key, round_id)
            return None if row is None else round_record(row)

    def close_round(self, *, key: TeamKey, round_id: int, now: datetime) -> Round:
        """Close an open round.

        A conditional UPDATE, so of two concurrent closes exactly one wins and the
        report is sent once.

        Raises:
            RoundNotOpenError: Already closed, or not a round of this team.
        """
        with self._sessions.begin() as session:
            statement: Update = (
                update(RoundRow)
                .where(
                    RoundRow.id == round_id,
                    RoundRow.status == OPEN,
                    RoundRow.team_id == team_id_of(key),
                )
                .values(status=CLOSED, closed_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(session.execute(statement)) != 1:
                msg = f"round {round_id} of team {key} is not open"
                raise RoundNotOpenError(msg)
            row = self._round_row(session, key, round_id)
            if row is None:  # pragma: no cover - the UPDATE just matched it
                msg = f"round {round_id} vanished"
                raise RoundNotOpenError(msg)
            return round_record(row)

    def closed_rounds(self, *, key: TeamKey, instrument_id: str) -> list[Round]:
        """The team's closed rounds of one instrument, newest first (for trends)."""
        with self._sessions.begin() as session:
            query = (
                select(RoundRow)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(
                    RoundRow.status == CLOSED,
                    RoundRow.instrument_id == instrument_id,
                    *team_filter(key),
                )
                .order_by(RoundRow.opened_at.desc(), RoundRow.id.desc())
            )
            return [round_record(row) for row in session.scalars(query)]
