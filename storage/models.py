"""SQLAlchemy tables of the quickscan bot.

These ORM classes stay inside ``storage``: the store turns rows into the frozen
records of ``storage.records`` before anything else sees them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.records import (
    DEFAULT_MIN_RESPONDENTS,
    DEFAULT_MIN_TEXT_RESPONDENTS,
    RoundStatus,
)

# Deterministic constraint names, so later (batch) migrations can refer to them
# on SQLite, which does not name constraints by itself.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

REF_LENGTH = 255
"""Room for platform ids (Slack ``T0123``, Telegram ``-100123…``) with margin."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz`` but hands values back in the session's time
    zone; SQLite has no time zone at all and returns naive values. Both become
    aware UTC here, and naive input is refused so a local time can never slip in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            msg = f"naive datetime {value!r}: pass an aware UTC datetime"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return aware UTC whatever the backend handed back."""
        del dialect  # same treatment on every backend
        if value is None:
            return None
        if not isinstance(value, datetime):
            msg = f"unexpected timestamp value {value!r}"
            raise TypeError(msg)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TeamRow(Base):
    """A team channel on one platform workspace, with its settings."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("platform", "workspace", "team_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str] = mapped_column(String(REF_LENGTH))
    team_ref: Mapped[str] = mapped_column(String(REF_LENGTH))
    locale: Mapped[str] = mapped_column(String(16), default="nl", server_default="nl")
    min_respondents: Mapped[int] = mapped_column(
        Integer,
        default=DEFAULT_MIN_RESPONDENTS,
        server_default=text(str(DEFAULT_MIN_RESPONDENTS)),
    )
    min_text_respondents: Mapped[int] = mapped_column(
        Integer,
        default=DEFAULT_MIN_TEXT_RESPONDENTS,
        server_default=text(str(DEFAULT_MIN_TEXT_RESPONDENTS)),
    )
    # The team's overrides of the label thresholds (bot/labels.py), as a JSON object.
    label_rules: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # School holiday region (noord, midden, zuid), and the school's own holiday dates
    # as a JSON object {"2026:herfst": ["2026-10-17", "2026-10-25"]}.
    region: Mapped[str | None] = mapped_column(String(16))
    holiday_overrides: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # The coordinator's changes to the planning defaults (bot/planner.py), JSON.
    plan_settings: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CoordinatorRow(Base):
    """A member allowed to open and close rounds and to change team settings."""

    __tablename__ = "coordinators"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(REF_LENGTH))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


OPEN_ROUND_WHERE = text(f"status = '{RoundStatus.OPEN.value}'")
"""Predicate of the partial unique index: only open rounds compete for a team."""


class RoundRow(Base):
    """One quickscan round; the partial unique index allows one open round per team."""

    __tablename__ = "rounds"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status.value}'" for status in RoundStatus) + ")",
            name="status",
        ),
        Index(
            "uq_rounds_one_open_per_team",
            "team_id",
            unique=True,
            sqlite_where=OPEN_ROUND_WHERE,
            postgresql_where=OPEN_ROUND_WHERE,
        ),
        Index(None, "team_id", "instrument_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(REF_LENGTH))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Opaque token of a join link (Telegram deep link); unique across all teams.
    join_token: Mapped[str | None] = mapped_column(String(64), unique=True)


class ParticipationRow(Base):
    """One member's walkthrough in one round: the private conversation's state."""

    __tablename__ = "participations"
    __table_args__ = (
        UniqueConstraint("round_id", "user_ref"),
        # active_participations: a member's own rounds, across teams.
        Index(None, "user_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    user_ref: Mapped[str] = mapped_column(String(REF_LENGTH))
    display_name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the platform refused a DM (left the channel, blocked the bot).
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessedEventRow(Base):
    """A platform delivery id already handled: redeliveries (retries) are ignored."""

    __tablename__ = "processed_events"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnswerRow(Base):
    """One answer (scale value, grade or free text) of one participation."""

    __tablename__ = "answers"

    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participations.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoundResultRow(Base):
    """The team result of a closed round, frozen at close (docs/privacy.md).

    ``snapshot`` is the JSON of what the round may show, computed once with the
    minimum and thresholds that applied at close; later settings changes and the
    deletion of the individual answers (retention, "vergeet mij") leave it as it was.
    It holds aggregates only, never a name tied to an answer.
    """

    __tablename__ = "round_results"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    snapshot: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


from storage import checklist_models as _checklist_models  # noqa: E402,F401 - registers the checklist tables
from storage import schedule_models as _schedule_models  # noqa: E402,F401 - registers the outbox table
