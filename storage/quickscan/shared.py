"""What the quickscan repositories share: record builders, scoping helpers, the base.

``Store`` is composed of one repository per aggregate (teams, rounds,
participations, answers); they all talk through the same ``Sessions`` and cipher,
which ``RepositoryBase`` declares.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.crypto import FieldCipher
from storage.keys import ConversationKey, TeamKey
from storage.models.quickscan import AnswerRow, ParticipationRow, RoundRow, TeamRow
from storage.quickscan.queries import json_object, team_filter, team_row
from storage.quickscan.records import Participation, ParticipationState, Round, RoundStatus, Team
from storage.transactions import Sessions

OPEN = RoundStatus.OPEN.value
CLOSED = RoundStatus.CLOSED.value
OPEN_ANSWER_PREFIX = "open:"
"""Item ids of free-text answers: the only answers sealed at rest (they may name people)."""


class UnknownTeamError(LookupError):
    """A change was asked for a team that was never created (``ensure_team`` first)."""


class UnknownParticipationError(LookupError):
    """``save_progress`` got a participation id that does not exist."""


def team_record(row: TeamRow) -> Team:
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
        checklist_enabled=bool(row.checklist_enabled),
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


def round_record(row: RoundRow) -> Round:
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


def participation_record(row: ParticipationRow, team: TeamRow) -> Participation:
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
        version=row.version,
    )


def team_id_of(key: TeamKey) -> Any:
    """A scalar subquery with the team's id (NULL if unknown, which matches nothing)."""
    return select(TeamRow.id).where(*team_filter(key)).scalar_subquery()


def load_participations(
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
    return [participation_record(row, team) for row, team in session.execute(query)]


def load_participation(session: Session, *where: Any) -> Participation | None:
    """The one participation matching the conditions, or None."""
    found = load_participations(session, *where)
    return found[0] if found else None


# The answer path's statements are built once, with bound parameters: building a
# statement and its cache key costs more than running it, and they run per answer.
_PARTICIPATION_BY_ID = (
    select(ParticipationRow, TeamRow)
    .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
    .join(TeamRow, TeamRow.id == RoundRow.team_id)
    .where(ParticipationRow.id == bindparam("participation_id"))
)


def participation_by_id(session: Session, participation_id: int) -> Participation | None:
    """One participation by id (the caller checked whose it is), or None."""
    found = session.execute(_PARTICIPATION_BY_ID, {"participation_id": participation_id}).first()
    return None if found is None else participation_record(found[0], found[1])


@cache
def answer_upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE of answers (rows given as parameters), per dialect."""
    inserts = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:
        msg = f"unsupported database dialect {dialect!r}"
        raise NotImplementedError(msg)
    statement: Any = inserts[dialect](cast(Table, AnswerRow.__table__))
    return statement.on_conflict_do_update(
        index_elements=["participation_id", "item_id"],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )


class RepositoryBase:
    """The state every quickscan repository works with (``Store.__init__`` sets it).

    Attributes:
        engine: The SQLAlchemy engine.
        cipher: Seals open answers at rest.
    """

    engine: Engine
    cipher: FieldCipher
    _sessions: Sessions

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

    def _seal(self, item_id: str, value: str) -> str:
        """The value as stored: open answers sealed, scale values and grades as they are.

        Only free text can name a person; sealing the scale values too would make
        every merge pay for decryption without protecting anything.
        """
        return self.cipher.seal(value) if item_id.startswith(OPEN_ANSWER_PREFIX) else value

    def _open(self, item_id: str, stored: str) -> str:
        return self.cipher.open(stored) if item_id.startswith(OPEN_ANSWER_PREFIX) else stored
