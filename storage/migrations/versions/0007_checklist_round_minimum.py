"""The team's minimum of teachers, frozen with a checklist round when it closes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``checklist_rounds.min_respondents`` (NULL for rounds closed before)."""
    with op.batch_alter_table("checklist_rounds") as batch:
        batch.add_column(sa.Column("min_respondents", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("checklist_rounds") as batch:
        batch.drop_column("min_respondents")
