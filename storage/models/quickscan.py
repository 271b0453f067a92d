"""SQLAlchemy tables of the quickscan bot.

These ORM classes stay inside ``storage``: the store turns rows into the frozen
records of ``storage.quickscan.records`` before anything else sees them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import REF_LENGTH, Base, UTCDateTime
from storage.quickscan.records import (
    DEFAULT_MIN_RESPONDENTS,
    DEFAULT_MIN_TEXT_RESPONDENTS,
    RoundStatus,
)


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
    # Whether the checklist oudercontact's rounds are planned (/quickscan checklist uit|aan).
    checklist_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
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
    # Raised by every saved walkthrough step: a step is written only over the
    # version it was computed from, so two replicas handling one member's
    # messages at once can never both write from the same state.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


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
