"""The team's plan after a result, and the members' private support votes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 19:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``team_plans`` (one per closed round) and ``plan_votes`` (one per asked member)."""
    op.create_table(
        "team_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("factors", sa.Text(), server_default="[]", nullable=False),
        sa.Column("step", sa.Text(), nullable=True),
        sa.Column("owner_ref", sa.String(length=255), nullable=True),
        sa.Column("owner_name", sa.String(length=255), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("next_round_date", sa.Date(), nullable=True),
        sa.Column("next_round_chosen", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agreed_by", sa.String(length=255), nullable=True),
        sa.Column("agreed_by_name", sa.String(length=255), nullable=True),
        sa.Column("changed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("support_round", sa.Integer(), server_default="0", nullable=False),
        sa.Column("support_open", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("support_counts", sa.Text(), nullable=True),
        sa.Column("followup_answer", sa.String(length=16), nullable=True),
        sa.Column("followup_answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_team_plans_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_plans_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_plans")),
        sa.UniqueConstraint("round_id", name=op.f("uq_team_plans_round_id")),
    )
    op.create_index(op.f("ix_team_plans_team_id"), "team_plans", ["team_id"])
    op.create_table(
        "plan_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=255), nullable=False),
        sa.Column("support_round", sa.Integer(), nullable=False),
        sa.Column("vote", sa.String(length=16), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["team_plans.id"],
            name=op.f("fk_plan_votes_plan_id_team_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_votes")),
        sa.UniqueConstraint("plan_id", "member", name=op.f("uq_plan_votes_plan_id_member")),
    )
    op.create_index(op.f("ix_plan_votes_member"), "plan_votes", ["member"])


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_index(op.f("ix_plan_votes_member"), table_name="plan_votes")
    op.drop_table("plan_votes")
    op.drop_index(op.f("ix_team_plans_team_id"), table_name="team_plans")
    op.drop_table("team_plans")
