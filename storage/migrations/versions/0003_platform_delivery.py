"""Platform delivery: join links, unreachable members, processed delivery ids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REF = 255


def upgrade() -> None:
    """Add the join token, the unreachable mark and the processed-events table."""
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("join_token", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_rounds_join_token"), ["join_token"])
    with op.batch_alter_table("participations") as batch:
        batch.add_column(sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "processed_events",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=REF), nullable=False),
        sa.Column("event_id", sa.String(length=REF), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "workspace", "event_id", name=op.f("pk_processed_events")
        ),
    )


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_table("processed_events")
    with op.batch_alter_table("participations") as batch:
        batch.drop_column("unreachable_at")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_constraint(op.f("uq_rounds_join_token"), type_="unique")
        batch.drop_column("join_token")
