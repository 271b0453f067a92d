"""Initial schema: teams, coordinators, rounds, participations, answers.

Revision ID: 0001
Revises:
Create Date: 2025-01-06 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model constants: a migration must not change when the
# models do.
REF = 255
OPEN_ROUND_WHERE = sa.text("status = 'open'")


def upgrade() -> None:
    """Create the whole schema."""
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=REF), nullable=False),
        sa.Column("team_ref", sa.String(length=REF), nullable=False),
        sa.Column("locale", sa.String(length=16), server_default="nl", nullable=False),
        sa.Column("min_respondents", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column(
            "min_text_respondents", sa.Integer(), server_default=sa.text("5"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint(
            "platform", "workspace", "team_ref", name=op.f("uq_teams_platform_workspace_team_ref")
        ),
    )
    op.create_table(
        "coordinators",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_ref", sa.String(length=REF), nullable=False),
        sa.Column("added_by", sa.String(length=REF), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_coordinators_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_ref", name=op.f("pk_coordinators")),
    )
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=REF), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_rounds_status")),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_rounds_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    op.create_index(
        op.f("ix_rounds_team_id_instrument_id_status"),
        "rounds",
        ["team_id", "instrument_id", "status"],
        unique=False,
    )
    # At most one open round per team, enforced by the database itself.
    op.create_index(
        "uq_rounds_one_open_per_team",
        "rounds",
        ["team_id"],
        unique=True,
        sqlite_where=OPEN_ROUND_WHERE,
        postgresql_where=OPEN_ROUND_WHERE,
    )
    op.create_table(
        "participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_ref", sa.String(length=REF), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_participations_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participations")),
        sa.UniqueConstraint(
            "round_id", "user_ref", name=op.f("uq_participations_round_id_user_ref")
        ),
    )
    op.create_index(
        op.f("ix_participations_user_ref"), "participations", ["user_ref"], unique=False
    )
    op.create_table(
        "answers",
        sa.Column("participation_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participation_id"],
            ["participations.id"],
            name=op.f("fk_answers_participation_id_participations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participation_id", "item_id", name=op.f("pk_answers")),
    )


def downgrade() -> None:
    """Drop the whole schema (children first)."""
    op.drop_table("answers")
    op.drop_index(op.f("ix_participations_user_ref"), table_name="participations")
    op.drop_table("participations")
    op.drop_index("uq_rounds_one_open_per_team", table_name="rounds")
    op.drop_index(op.f("ix_rounds_team_id_instrument_id_status"), table_name="rounds")
    op.drop_table("rounds")
    op.drop_table("coordinators")
    op.drop_table("teams")
