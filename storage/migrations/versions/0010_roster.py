"""The roster's knowledge in the database: people seen, and who is in which group.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:40:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``roster_people`` and ``roster_members`` (shared by every replica)."""
    op.create_table(
        "roster_people",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=255), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("started", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("unreachable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_team", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("platform", "workspace", "user", name=op.f("pk_roster_people")),
    )
    op.create_table(
        "roster_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=255), nullable=False),
        sa.Column("team", sa.String(length=255), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_members")),
        sa.UniqueConstraint(
            "platform",
            "workspace",
            "team",
            "user",
            name=op.f("uq_roster_members_platform_workspace_team_user"),
        ),
    )
    op.create_index(
        op.f("ix_roster_members_platform_workspace_user"),
        "roster_members",
        ["platform", "workspace", "user"],
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_index(op.f("ix_roster_members_platform_workspace_user"), table_name="roster_members")
    op.drop_table("roster_members")
    op.drop_table("roster_people")
