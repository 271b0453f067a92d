"""School calendar settings per team, and the outbox of planned pings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the team's region and holiday overrides, and the ping outbox."""
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("region", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("holiday_overrides", sa.Text(), server_default="{}", nullable=False)
        )
        batch.add_column(
            sa.Column("plan_settings", sa.Text(), server_default="{}", nullable=False)
        )
    op.create_table(
        "scheduled_pings",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("useful_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("args", sa.Text(), server_default="{}", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_scheduled_pings_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_pings")),
    )
    op.create_index(
        op.f("ix_scheduled_pings_status_due_at"), "scheduled_pings", ["status", "due_at"]
    )


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_index(op.f("ix_scheduled_pings_status_due_at"), table_name="scheduled_pings")
    op.drop_table("scheduled_pings")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("plan_settings")
        batch.drop_column("holiday_overrides")
        batch.drop_column("region")
