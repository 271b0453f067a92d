"""The checklist rounds can be switched off per team (issue 12, the school year).

A team that only wants the quickscan's reminders switches the checklist
oudercontact off; the planner then plans none of its rounds. Every existing team
keeps the checklist on, as before (server default true).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``teams.checklist_enabled``, true for every team."""
    with op.batch_alter_table("teams") as batch:
        batch.add_column(
            sa.Column("checklist_enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    """Remove what upgrade added."""
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("checklist_enabled")
