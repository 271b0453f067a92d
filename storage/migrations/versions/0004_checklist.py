"""Checklist oudercontact: bound teachers, their pupils, rounds, scores and steps.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model constants: a migration must not change when the models do.
REF = 255
TEACHER_STATES = ("idle", "registering", "scoring", "step", "paused", "confirm_wipe")
OPEN_WHERE = sa.text("status = 'open'")


def upgrade() -> None:
    """Create the five checklist tables."""
    op.create_table(
        "checklist_teachers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_ref", sa.String(length=REF), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{state}'" for state in TEACHER_STATES) + ")",
            name=op.f("ck_checklist_teachers_state"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_checklist_teachers_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_teachers")),
        sa.UniqueConstraint(
            "team_id", "user_ref", name=op.f("uq_checklist_teachers_team_id_user_ref")
        ),
    )
    op.create_index(
        op.f("ix_checklist_teachers_user_ref"), "checklist_teachers", ["user_ref"], unique=False
    )
    op.create_table(
        "checklist_pupils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("label_key", sa.String(length=REF), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["checklist_teachers.id"],
            name=op.f("fk_checklist_pupils_teacher_id_checklist_teachers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_pupils")),
        sa.UniqueConstraint(
            "teacher_id", "label_key", name=op.f("uq_checklist_pupils_teacher_id_label_key")
        ),
    )
    op.create_table(
        "checklist_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=REF), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("number IN (1, 2)", name=op.f("ck_checklist_rounds_number")),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name=op.f("ck_checklist_rounds_status")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_checklist_rounds_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_rounds")),
        sa.UniqueConstraint(
            "team_id",
            "school_year",
            "number",
            name=op.f("uq_checklist_rounds_team_id_school_year_number"),
        ),
    )
    op.create_index(
        "uq_checklist_rounds_one_open_per_team",
        "checklist_rounds",
        ["team_id"],
        unique=True,
        sqlite_where=OPEN_WHERE,
        postgresql_where=OPEN_WHERE,
    )
    op.create_table(
        "checklist_scores",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["checklist_pupils.id"],
            name=op.f("fk_checklist_scores_pupil_id_checklist_pupils"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["checklist_rounds.id"],
            name=op.f("fk_checklist_scores_round_id_checklist_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "pupil_id", "statement_id", name=op.f("pk_checklist_scores")
        ),
    )
    op.create_index(
        op.f("ix_checklist_scores_pupil_id"), "checklist_scores", ["pupil_id"], unique=False
    )
    op.create_table(
        "checklist_steps",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["checklist_pupils.id"],
            name=op.f("fk_checklist_steps_pupil_id_checklist_pupils"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["checklist_rounds.id"],
            name=op.f("fk_checklist_steps_round_id_checklist_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "pupil_id", name=op.f("pk_checklist_steps")),
    )
    op.create_index(
        op.f("ix_checklist_steps_pupil_id"), "checklist_steps", ["pupil_id"], unique=False
    )


def downgrade() -> None:
    """Drop the checklist tables (and with them every pupil label and score)."""
    op.drop_index(op.f("ix_checklist_steps_pupil_id"), table_name="checklist_steps")
    op.drop_table("checklist_steps")
    op.drop_index(op.f("ix_checklist_scores_pupil_id"), table_name="checklist_scores")
    op.drop_table("checklist_scores")
    op.drop_index("uq_checklist_rounds_one_open_per_team", table_name="checklist_rounds")
    op.drop_table("checklist_rounds")
    op.drop_table("checklist_pupils")
    op.drop_index(op.f("ix_checklist_teachers_user_ref"), table_name="checklist_teachers")
    op.drop_table("checklist_teachers")
