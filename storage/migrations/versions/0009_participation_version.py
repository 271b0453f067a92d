"""A version number on participations: a walkthrough step is saved only over what was read.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:50:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``participations.version`` (0 for every existing participation)."""
    with op.batch_alter_table("participations") as batch:
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("participations") as batch:
        batch.drop_column("version")
