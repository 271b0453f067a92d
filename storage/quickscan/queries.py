"""Query helpers every repository shares: team scoping, dialect upserts, JSON columns."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.keys import TeamKey
from storage.models.quickscan import AnswerRow, ParticipationRow, TeamRow


def team_filter(key: TeamKey) -> tuple[Any, ...]:
    """WHERE clauses selecting exactly one team: the tenant scope of every query."""
    return (
        TeamRow.platform == key.platform,
        TeamRow.workspace == key.workspace,
        TeamRow.team_ref == key.team,
    )


def team_row(session: Session, key: TeamKey) -> TeamRow | None:
    """The team's row, or None if the bot was never set up there."""
    return session.scalars(select(TeamRow).where(*team_filter(key))).one_or_none()


def dialect_insert(engine: Engine, table: Any) -> Any:
    """A dialect-specific INSERT, for ``ON CONFLICT`` on SQLite and PostgreSQL.

    Both dialects spell upserts the same way in SQLAlchemy, but the statement
    classes live in the dialect packages.
    """
    name = engine.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    msg = f"unsupported database dialect {name!r}"
    raise NotImplementedError(msg)


def json_object(stored: str | None) -> dict[str, Any]:
    """A JSON object column's value; anything malformed reads as empty (no overrides)."""
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def rowcount(result: Any) -> int:
    """The affected-row count of an UPDATE/DELETE/INSERT result."""
    if not isinstance(result, CursorResult):
        msg = f"expected a cursor result, got {type(result).__name__}"
        raise TypeError(msg)
    return result.rowcount


def delete_participations(session: Session, *where: Any) -> tuple[int, int]:
    """Delete the participations matching ``where`` and, first, their answers.

    Answers go explicitly rather than by cascade, so nothing depends on a
    connection having foreign keys switched on, and both counts can be reported
    (retention and "vergeet mij" say what they erased).

    Returns:
        How many participations and how many answers were deleted.
    """
    matching = select(ParticipationRow.id).where(*where)
    answers = session.execute(
        delete(AnswerRow)
        .where(AnswerRow.participation_id.in_(matching))
        .execution_options(synchronize_session=False)
    )
    participations = session.execute(
        delete(ParticipationRow).where(*where).execution_options(synchronize_session=False)
    )
    return rowcount(participations), rowcount(answers)
