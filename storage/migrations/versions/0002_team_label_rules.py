"""Per-team label thresholds for the team result.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the JSON text column of threshold overrides ({} = the defaults)."""
    op.add_column(
        "teams", sa.Column("label_rules", sa.Text(), server_default="{}", nullable=False)
    )


def downgrade() -> None:
    """Drop the overrides; teams fall back to the default thresholds."""
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("label_rules")
