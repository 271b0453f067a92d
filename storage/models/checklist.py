"""SQLAlchemy tables of the checklist oudercontact, on the same metadata as the quickscan.

They live beside ``storage.models.quickscan`` (which imports this module at its end, so Alembic
and ``Base.metadata`` see them) and, like those, stay inside ``storage``.

Everything hangs off the team with ``ON DELETE CASCADE``: a teacher's binding owns
their pupils, a pupil owns its scores and steps, so erasing a teacher's data (AVG) is
a single DELETE of the binding.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.checklist.records import ROUND_NUMBERS, ChecklistRoundStatus, TeacherState
from storage.models.base import REF_LENGTH, Base, UTCDateTime

OPEN_CHECKLIST_ROUND_WHERE = text(f"status = '{ChecklistRoundStatus.OPEN.value}'")
"""Predicate of the partial unique index: one open checklist round per team."""


class ChecklistTeacherRow(Base):
    """A member bound to the team's checklist, with the state of their checklist DM."""

    __tablename__ = "checklist_teachers"
    __table_args__ = (
        UniqueConstraint("team_id", "user_ref"),
        CheckConstraint(
            "state IN (" + ", ".join(f"'{state.value}'" for state in TeacherState) + ")",
            name="state",
        ),
        # A DM names the user, not the team: find the user's bindings fast.
        Index(None, "user_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_ref: Mapped[str] = mapped_column(String(REF_LENGTH))
    display_name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    # The pupil on screen. No foreign key: the two tables would refer to each other;
    # the flow checks that the pupil still belongs to the teacher before using it.
    pupil_id: Mapped[int | None] = mapped_column(Integer)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The teacher chose to keep their pupil data past the end of the school year
    # (1 August) until this moment; None = deleted at the end of the school year.
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChecklistPupilRow(Base):
    """A pupil of one teacher's class; ``label`` is what the teacher typed (initials, code)."""

    __tablename__ = "checklist_pupils"
    # label_key = the label without case and extra spaces: "ab" and "AB " are one pupil.
    __table_args__ = (UniqueConstraint("teacher_id", "label_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_teachers.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(Text)
    label_key: Mapped[str] = mapped_column(String(REF_LENGTH))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChecklistRoundRow(Base):
    """Round 1 or 2 of a school year for one team; at most one open at a time."""

    __tablename__ = "checklist_rounds"
    __table_args__ = (
        UniqueConstraint("team_id", "school_year", "number"),
        CheckConstraint(
            "status IN ("
            + ", ".join(f"'{status.value}'" for status in ChecklistRoundStatus)
            + ")",
            name="status",
        ),
        CheckConstraint(
            "number IN (" + ", ".join(str(number) for number in ROUND_NUMBERS) + ")",
            name="number",
        ),
        Index(
            "uq_checklist_rounds_one_open_per_team",
            "team_id",
            unique=True,
            sqlite_where=OPEN_CHECKLIST_ROUND_WHERE,
            postgresql_where=OPEN_CHECKLIST_ROUND_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    school_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(REF_LENGTH))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The team's minimum of teachers when the round closed: its team figures stay as
    # they were shown then, whatever the minimum is changed to later (docs/privacy.md).
    min_respondents: Mapped[int | None] = mapped_column(Integer)


class ChecklistScoreRow(Base):
    """One pupil's score on one statement in one round (the scale option's code)."""

    __tablename__ = "checklist_scores"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    pupil_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_pupils.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    statement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChecklistStepRow(Base):
    """The verbeterstap (next concrete step) a teacher noted for a pupil in a round."""

    __tablename__ = "checklist_steps"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    pupil_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_pupils.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
