"""Result snapshots of closed rounds, and the checklist's keep-my-data choice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``round_results`` and ``checklist_teachers.keep_until``."""
    op.create_table(
        "round_results",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_round_results_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_round_results")),
    )
    with op.batch_alter_table("checklist_teachers") as batch:
        batch.add_column(sa.Column("keep_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("checklist_teachers") as batch:
        batch.drop_column("keep_until")
    op.drop_table("round_results")
