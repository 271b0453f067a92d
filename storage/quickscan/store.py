"""The repository the engine uses for everything it stores.

Each public method is one short transaction and returns frozen records, never
ORM objects. Every read is scoped by the team key (platform + workspace + team)
or by the owning user, so a forged id from one team can never reach another
team's rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import (
    Delete,
    Update,
    delete,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import db
from storage.crypto import FieldCipher
from storage.keys import ConversationKey, TeamKey
from storage.models.quickscan import (
    AnswerRow,
    CoordinatorRow,
    ParticipationRow,
    ProcessedEventRow,
    RoundRow,
    TeamRow,
    UTCDateTime,
)
from storage.quickscan.queries import dialect_insert, json_object, rowcount, team_filter, team_row
from storage.quickscan.records import (
    MIN_RESPONDENTS_FLOOR,
    Participation,
    ParticipationState,
    Round,
    RoundAlreadyOpenError,
    RoundCounts,
    RoundNotOpenError,
    RoundStatus,
    Team,
)

_OPEN = RoundStatus.OPEN.value
_CLOSED = RoundStatus.CLOSED.value
OPEN_ANSWER_PREFIX = "open:"
"""Item ids of free-text answers: the only answers sealed at rest (they may name people)."""
ROTATE_BATCH = 500
"""Answers re-sealed per transaction by ``rotate_keys`` (short locks on a live database)."""


class UnknownTeamError(LookupError):
    """A change was asked for a team that was never created (``ensure_team`` first)."""


class UnknownParticipationError(LookupError):
    """``save_progress`` got a participation id that does not exist."""


def _team_record(row: TeamRow) -> Team:
    return Team(
        id=row.id,
        key=TeamKey(platform=row.platform, workspace=row.workspace, team=row.team_ref),
        locale=row.locale,
        min_respondents=row.min_respondents,
        min_text_respondents=row.min_text_respondents,
        created_at=row.created_at,
        label_rules=_decode_rules(row.label_rules),
        region=row.region,
        holiday_overrides=_decode_overrides(row.holiday_overrides),
        plan_settings={
            str(name): value
            for name, value in json_object(row.plan_settings).items()
            if isinstance(value, int) and not isinstance(value, bool)
        },
    )


def _decode_overrides(stored: str) -> dict[str, tuple[str, str]]:
    """A school's own holiday dates; anything malformed counts as no override."""
    return {
        str(name): (str(value[0]), str(value[1]))
        for name, value in json_object(stored).items()
        if isinstance(value, list) and len(value) == 2
    }


def _decode_rules(stored: str) -> dict[str, float]:
    """A team's label threshold overrides; anything malformed counts as no override."""
    return {
        str(name): float(value)
        for name, value in json_object(stored).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _round_record(row: RoundRow) -> Round:
    return Round(
        id=row.id,
        team_id=row.team_id,
        instrument_id=row.instrument_id,
        status=RoundStatus(row.status),
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        deadline=row.deadline,
        closed_at=row.closed_at,
        join_token=row.join_token,
    )


def _participation_record(row: ParticipationRow, team: TeamRow) -> Participation:
    return Participation(
        id=row.id,
        round_id=row.round_id,
        key=ConversationKey(
            platform=team.platform,
            workspace=team.workspace,
            team=team.team_ref,
            user=row.user_ref,
        ),
        display_name=row.display_name,
        state=ParticipationState(row.state),
        position=row.position,
        invited_at=row.invited_at,
        started_at=row.started_at,
        submitted_at=row.submitted_at,
        unreachable_at=row.unreachable_at,
    )


def _team_id_of(key: TeamKey) -> Any:
    """A scalar subquery with the team's id (NULL if unknown, which matches nothing)."""
    return select(TeamRow.id).where(*team_filter(key)).scalar_subquery()


def _load_participations(
    session: Session, *where: Any, order_by: Sequence[Any] = ()
) -> list[Participation]:
    """Participations joined to their round and team (which the key needs), as records."""
    query = (
        select(ParticipationRow, TeamRow)
        .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
        .join(TeamRow, TeamRow.id == RoundRow.team_id)
        .where(*where)
        .order_by(*order_by)
    )
    return [_participation_record(row, team) for row, team in session.execute(query)]


def _load_participation(session: Session, *where: Any) -> Participation | None:
    """The one participation matching the conditions, or None."""
    found = _load_participations(session, *where)
    return found[0] if found else None


class Store:
    """All persistence of the bot: teams, coordinators, rounds, participations, answers.

    Attributes:
        engine: The SQLAlchemy engine (owned: ``close`` disposes it).
        cipher: Seals open answers at rest; the checklist store shares it.
    """

    def __init__(self, *, engine: Engine, cipher: FieldCipher | None = None) -> None:
        """Wrap an engine whose schema is already migrated (see ``Store.open``).

        ``cipher`` seals free-text answers before they are written and opens them
        after reading, so a copied database file does not give them away; None (or
        a cipher without keys) stores them as typed.
        """
        self.engine = engine
        self.cipher = cipher if cipher is not None else FieldCipher()
        # Records are built inside the transaction; no need to expire afterwards.
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def open(cls, *, url: str, migrate: bool = True, cipher: FieldCipher | None = None) -> Store:
        """Connect to a database and bring its schema up to date.

        Args:
            url: SQLAlchemy URL (``sqlite:///…`` or ``postgresql://…``).
            migrate: Run Alembic ``upgrade head`` first; off only for tests that
                inspect an unmigrated database.
            cipher: Encryption at rest of open answers (``QUICKSCAN_ENCRYPTION_KEY``).

        Returns:
            A ready store.
        """
        engine = db.create_engine_for(url=url)
        if migrate:
            db.migrate(engine=engine)
        return cls(engine=engine, cipher=cipher)

    def close(self) -> None:
        """Release all pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _required_team_row(session: Session, key: TeamKey) -> TeamRow:
        row = team_row(session, key)
        if row is None:
            msg = f"unknown team {key}"
            raise UnknownTeamError(msg)
        return row

    @staticmethod
    def _round_row(session: Session, key: TeamKey, round_id: int) -> RoundRow | None:
        query = (
            select(RoundRow)
            .join(TeamRow, TeamRow.id == RoundRow.team_id)
            .where(RoundRow.id == round_id, *team_filter(key))
        )
        return session.scalars(query).one_or_none()

    # -- teams & roles ---------------------------------------------------------------------

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
        try:
            with self._sessions.begin() as session:
                existing = team_row(session, key)
                if existing is not None:
                    return _team_record(existing), False
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
                return _team_record(team), True
        except IntegrityError:
            with self._sessions.begin() as session:
                return _team_record(self._required_team_row(session, key)), False

    def teams(self) -> list[Team]:
        """Every team, oldest first: the scheduler plans each one's pings."""
        with self._sessions.begin() as session:
            return [
                _team_record(row) for row in session.scalars(select(TeamRow).order_by(TeamRow.id))
            ]

    def get_team(self, *, key: TeamKey) -> Team | None:
        """The team, or None if the bot was never set up there."""
        with self._sessions.begin() as session:
            row = team_row(session, key)
            return None if row is None else _team_record(row)

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
            return _team_record(row)

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

    # -- rounds ----------------------------------------------------------------------------

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
        try:
            with self._sessions.begin() as session:
                team = self._required_team_row(session, key)
                row = RoundRow(
                    team_id=team.id,
                    instrument_id=instrument_id,
                    status=_OPEN,
                    opened_by=opened_by,
                    opened_at=now,
                    deadline=deadline,
                    closed_at=None,
                    join_token=join_token,
                )
                session.add(row)
                session.flush()
                return _round_record(row)
        except IntegrityError as error:
            msg = f"team {key} already has an open round"
            raise RoundAlreadyOpenError(msg) from error

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
                    RoundRow.status == _OPEN,
                    TeamRow.platform == platform,
                    TeamRow.workspace == workspace,
                )
            ).first()
            if found is None:
                return None
            round_row, team = found
            key = TeamKey(platform=team.platform, workspace=team.workspace, team=team.team_ref)
            return key, _round_record(round_row)

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

    def mark_unreachable(self, *, key: ConversationKey, round_id: int, now: datetime) -> bool:
        """Note that a member's DM failed; False if already noted (report once)."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.round_id == round_id,
                    ParticipationRow.user_ref == key.user,
                    ParticipationRow.round_id.in_(
                        select(RoundRow.id).where(RoundRow.team_id == _team_id_of(key.team_key))
                    ),
                    ParticipationRow.unreachable_at.is_(None),
                )
                .values(unreachable_at=now)
            )
            return rowcount(result) > 0

    def mark_reachable(self, *, key: ConversationKey, round_id: int) -> None:
        """Lift the unreachable mark: the member opened the bot after all."""
        with self._sessions.begin() as session:
            session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.round_id == round_id,
                    ParticipationRow.user_ref == key.user,
                    ParticipationRow.round_id.in_(
                        select(RoundRow.id).where(RoundRow.team_id == _team_id_of(key.team_key))
                    ),
                )
                .values(unreachable_at=None)
            )

    def current_round(self, *, key: TeamKey) -> Round | None:
        """The team's open round, if any."""
        with self._sessions.begin() as session:
            query = (
                select(RoundRow)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(RoundRow.status == _OPEN, *team_filter(key))
            )
            row = session.scalars(query).one_or_none()
            return None if row is None else _round_record(row)

    def get_round(self, *, key: TeamKey, round_id: int) -> Round | None:
        """A round of this team (None for another team's round id)."""
        with self._sessions.begin() as session:
            row = self._round_row(session, key, round_id)
            return None if row is None else _round_record(row)

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
                    RoundRow.status == _OPEN,
                    RoundRow.team_id == _team_id_of(key),
                )
                .values(status=_CLOSED, closed_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(session.execute(statement)) != 1:
                msg = f"round {round_id} of team {key} is not open"
                raise RoundNotOpenError(msg)
            row = self._round_row(session, key, round_id)
            if row is None:  # pragma: no cover - the UPDATE just matched it
                msg = f"round {round_id} vanished"
                raise RoundNotOpenError(msg)
            return _round_record(row)

    def closed_rounds(self, *, key: TeamKey, instrument_id: str) -> list[Round]:
        """The team's closed rounds of one instrument, newest first (for trends)."""
        with self._sessions.begin() as session:
            query = (
                select(RoundRow)
                .join(TeamRow, TeamRow.id == RoundRow.team_id)
                .where(
                    RoundRow.status == _CLOSED,
                    RoundRow.instrument_id == instrument_id,
                    *team_filter(key),
                )
                .order_by(RoundRow.opened_at.desc(), RoundRow.id.desc())
            )
            return [_round_record(row) for row in session.scalars(query)]

    # -- participations --------------------------------------------------------------------

    def invite(
        self, *, key: TeamKey, round_id: int, user: str, display_name: str, now: datetime
    ) -> tuple[Participation, bool]:
        """Invite a member to an open round of the team; repeating it changes nothing.

        Returns:
            The participation and whether it was created now (so the invitation
            message is sent once).

        Raises:
            RoundNotOpenError: The round is closed or not this team's.
        """
        with self._sessions.begin() as session:
            # Lock the round against a concurrent close (no-op on SQLite, whose
            # single writer serialises the INSERT below anyway).
            status = session.scalars(
                select(RoundRow.status)
                .where(RoundRow.id == round_id, RoundRow.team_id == _team_id_of(key))
                .with_for_update(read=True)
            ).one_or_none()
            if status != _OPEN:
                msg = f"round {round_id} of team {key} is not open"
                raise RoundNotOpenError(msg)
            statement = (
                dialect_insert(self.engine, ParticipationRow)
                .values(
                    round_id=round_id,
                    user_ref=user,
                    display_name=display_name,
                    state=ParticipationState.INVITED.value,
                    position=0,
                    invited_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["round_id", "user_ref"])
                .returning(ParticipationRow.id)
            )
            created = session.execute(statement).first() is not None
            participation = _load_participation(
                session, ParticipationRow.round_id == round_id, ParticipationRow.user_ref == user
            )
            if participation is None:  # pragma: no cover - inserted or found just above
                msg = f"participation of {user} in round {round_id} vanished"
                raise UnknownParticipationError(msg)
            return participation, created

    def participation(self, *, key: ConversationKey, round_id: int) -> Participation | None:
        """One member's participation in a round of the team."""
        with self._sessions.begin() as session:
            return _load_participation(
                session,
                ParticipationRow.round_id == round_id,
                ParticipationRow.user_ref == key.user,
                *team_filter(key.team_key),
            )

    def participation_for_user(
        self, *, platform: str, workspace: str, user: str, participation_id: int
    ) -> Participation | None:
        """A participation by id, only if it is this user's in this workspace.

        Button payloads carry participation ids; a forged or replayed id of
        someone else yields None.
        """
        with self._sessions.begin() as session:
            return _load_participation(
                session,
                ParticipationRow.id == participation_id,
                ParticipationRow.user_ref == user,
                TeamRow.platform == platform,
                TeamRow.workspace == workspace,
            )

    def active_participations(
        self, *, platform: str, workspace: str, user: str
    ) -> list[Participation]:
        """The user's participations in open rounds of any team, newest invite first.

        A direct message without a button is routed to the newest one.
        """
        with self._sessions.begin() as session:
            return _load_participations(
                session,
                ParticipationRow.user_ref == user,
                TeamRow.platform == platform,
                TeamRow.workspace == workspace,
                RoundRow.status == _OPEN,
                order_by=(ParticipationRow.invited_at.desc(), ParticipationRow.id.desc()),
            )

    def participations(self, *, key: TeamKey, round_id: int) -> list[Participation]:
        """All participations of a round of the team, in invitation order."""
        with self._sessions.begin() as session:
            return _load_participations(
                session,
                ParticipationRow.round_id == round_id,
                *team_filter(key),
                order_by=(ParticipationRow.id,),
            )

    def save_progress(
        self,
        *,
        participation_id: int,
        state: ParticipationState,
        position: int,
        now: datetime,
        answers: Mapping[str, str | None] | None = None,
        mark_started: bool = False,
        mark_submitted: bool = False,
        clear_submitted: bool = False,
    ) -> Participation:
        """Store answers and the conversation state in one transaction.

        Called before the next question is sent, so a crash never loses an
        answer the member saw acknowledged, and never records a state without
        its answer.

        Args:
            participation_id: Whose walkthrough (already checked to be the user's).
            state: The new conversation state.
            position: The new position within that state.
            now: Current time (aware UTC).
            answers: Item id to value; None deletes the item's answer.
            mark_started: Set ``started_at`` unless already set.
            mark_submitted: Set ``submitted_at`` to ``now``.
            clear_submitted: Set ``submitted_at`` to None (reopened answers).

        Returns:
            The participation as stored.

        Raises:
            RoundNotOpenError: The round was closed; nothing is changed.
            UnknownParticipationError: No such participation.
            ValueError: Both ``mark_submitted`` and ``clear_submitted``.
        """
        if mark_submitted and clear_submitted:
            msg = "mark_submitted and clear_submitted exclude each other"
            raise ValueError(msg)
        answers = answers or {}
        with self._sessions.begin() as session:
            # PostgreSQL: share-lock the round so a concurrent close waits for this
            # commit. SQLite ignores FOR SHARE; there the status condition in the
            # UPDATE below is evaluated while holding the single write lock.
            status = session.scalars(
                select(RoundRow.status)
                .join(ParticipationRow, ParticipationRow.round_id == RoundRow.id)
                .where(ParticipationRow.id == participation_id)
                .with_for_update(read=True, of=RoundRow)
            ).one_or_none()
            if status is None:
                msg = f"unknown participation {participation_id}"
                raise UnknownParticipationError(msg)
            values: dict[str, Any] = {
                "state": state.value,
                "position": position,
                "updated_at": now,
            }
            if mark_started:
                values["started_at"] = func.coalesce(
                    ParticipationRow.started_at, literal(now, type_=UTCDateTime())
                )
            if mark_submitted:
                values["submitted_at"] = now
            if clear_submitted:
                values["submitted_at"] = None
            open_round_ids = select(RoundRow.id).where(RoundRow.status == _OPEN)
            statement: Update = (
                update(ParticipationRow)
                .where(
                    ParticipationRow.id == participation_id,
                    ParticipationRow.round_id.in_(open_round_ids),
                )
                .values(values)
                .execution_options(synchronize_session=False)
            )
            if status != _OPEN or rowcount(session.execute(statement)) != 1:
                msg = f"the round of participation {participation_id} is closed"
                raise RoundNotOpenError(msg)
            self._write_answers(session, participation_id, answers, now)
            saved = _load_participation(session, ParticipationRow.id == participation_id)
            if saved is None:  # pragma: no cover - updated just above
                msg = f"participation {participation_id} vanished"
                raise UnknownParticipationError(msg)
            return saved

    def _write_answers(
        self,
        session: Session,
        participation_id: int,
        answers: Mapping[str, str | None],
        now: datetime,
    ) -> None:
        """Upsert the given answers and delete those set to None."""
        removed = [item for item, value in answers.items() if value is None]
        kept = [
            {
                "participation_id": participation_id,
                "item_id": item,
                "value": self._seal(item, value),
                "updated_at": now,
            }
            for item, value in answers.items()
            if value is not None
        ]
        if removed:
            removal: Delete = delete(AnswerRow).where(
                AnswerRow.participation_id == participation_id, AnswerRow.item_id.in_(removed)
            )
            session.execute(removal.execution_options(synchronize_session=False))
        if kept:
            upsert = dialect_insert(self.engine, AnswerRow).values(kept)
            upsert = upsert.on_conflict_do_update(
                index_elements=["participation_id", "item_id"],
                set_={"value": upsert.excluded.value, "updated_at": upsert.excluded.updated_at},
            )
            session.execute(upsert)

    def answers(self, *, participation_id: int) -> dict[str, str]:
        """The answers of one participation (caller checked ownership), by item id."""
        with self._sessions.begin() as session:
            rows = session.execute(
                select(AnswerRow.item_id, AnswerRow.value)
                .where(AnswerRow.participation_id == participation_id)
                .order_by(AnswerRow.item_id)
            ).all()
            return {item_id: self._open(item_id, value) for item_id, value in rows}

    def round_counts(self, *, key: TeamKey, round_id: int) -> RoundCounts:
        """How many were invited, started and finished; zero for another team's round."""
        with self._sessions.begin() as session:
            invited, started, finished = session.execute(
                select(
                    func.count(ParticipationRow.id),
                    func.count(ParticipationRow.started_at),
                    func.count(ParticipationRow.submitted_at),
                )
                .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
                .where(ParticipationRow.round_id == round_id, RoundRow.team_id == _team_id_of(key))
            ).one()
            return RoundCounts(invited=invited, started=started, finished=finished)

    def submitted_answers(self, *, key: TeamKey, round_id: int) -> list[dict[str, str]]:
        """The answers of every submitted participation, without who gave them.

        One query for the whole round; the report only needs values, so user ids
        never leave the database here.

        Returns:
            One item-id-to-value dict per submitted participation, by participation id.
        """
        with self._sessions.begin() as session:
            rows = session.execute(
                select(ParticipationRow.id, AnswerRow.item_id, AnswerRow.value)
                .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
                .outerjoin(AnswerRow, AnswerRow.participation_id == ParticipationRow.id)
                .where(
                    ParticipationRow.round_id == round_id,
                    ParticipationRow.submitted_at.is_not(None),
                    RoundRow.team_id == _team_id_of(key),
                )
                .order_by(ParticipationRow.id, AnswerRow.item_id)
            ).all()
        result: list[dict[str, str]] = []
        # Outer join: a submitted participation without answers gives one NULL row.
        for _, group in groupby(rows, key=lambda row: row.id):
            result.append(
                {
                    row.item_id: self._open(row.item_id, row.value)
                    for row in group
                    if row.item_id is not None
                }
            )
        return result

    # -- encryption at rest ----------------------------------------------------------------

    def _seal(self, item_id: str, value: str) -> str:
        """The value as stored: open answers sealed, scale values and grades as they are.

        Only free text can name a person; sealing the scale values too would make
        every merge pay for decryption without protecting anything.
        """
        return self.cipher.seal(value) if item_id.startswith(OPEN_ANSWER_PREFIX) else value

    def _open(self, item_id: str, stored: str) -> str:
        return self.cipher.open(stored) if item_id.startswith(OPEN_ANSWER_PREFIX) else stored

    def rotate_keys(self) -> int:
        """Re-seal every open answer with the newest key (``quickscan sleutel-roteren``).

        Plain answers stored before a key was set are sealed too, so after this
        the oldest key can be dropped from ``QUICKSCAN_ENCRYPTION_KEY``. Works in
        batches of short transactions, and only rewrites what needs it, so it can
        run beside a live bot and be repeated after an interruption.

        Returns:
            How many answers were rewritten.
        """
        if not self.cipher.enabled:
            return 0
        rewritten = 0
        after: tuple[int, str] = (0, "")
        while True:
            with self._sessions.begin() as session:
                rows = session.execute(
                    select(AnswerRow.participation_id, AnswerRow.item_id, AnswerRow.value)
                    .where(
                        AnswerRow.item_id.startswith(OPEN_ANSWER_PREFIX, autoescape=True),
                        tuple_(AnswerRow.participation_id, AnswerRow.item_id) > tuple_(*after),
                    )
                    .order_by(AnswerRow.participation_id, AnswerRow.item_id)
                    .limit(ROTATE_BATCH)
                ).all()
                for participation_id, item_id, stored in rows:
                    if not self.cipher.needs_rotation(stored):
                        continue
                    session.execute(
                        update(AnswerRow)
                        .where(
                            AnswerRow.participation_id == participation_id,
                            AnswerRow.item_id == item_id,
                            AnswerRow.value == stored,
                        )
                        .values(value=self.cipher.rotate(stored))
                        .execution_options(synchronize_session=False)
                    )
                    rewritten += 1
            if len(rows) < ROTATE_BATCH:
                return rewritten
            after = (rows[-1].participation_id, rows[-1].item_id)
