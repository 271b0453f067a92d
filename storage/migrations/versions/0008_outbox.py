"""The outbox of messages: every message is a row before it is sent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``outbox_messages`` with its lane, due-row and retention indexes."""
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=255), nullable=False),
        sa.Column("team", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("lane", sa.String(length=1024), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), server_default="{}", nullable=False),
        sa.Column("dedupe_key", sa.String(length=512), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint(
            "platform",
            "workspace",
            "dedupe_key",
            name=op.f("uq_outbox_messages_platform_workspace_dedupe_key"),
        ),
    )
    op.create_index(
        op.f("ix_outbox_messages_lane_status_id"), "outbox_messages", ["lane", "status", "id"]
    )
    op.create_index(
        op.f("ix_outbox_messages_status_platform_not_before"),
        "outbox_messages",
        ["status", "platform", "not_before"],
    )
    op.create_index(
        op.f("ix_outbox_messages_status_finished_at"),
        "outbox_messages",
        ["status", "finished_at"],
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_index(op.f("ix_outbox_messages_status_finished_at"), table_name="outbox_messages")
    op.drop_index(
        op.f("ix_outbox_messages_status_platform_not_before"), table_name="outbox_messages"
    )
    op.drop_index(op.f("ix_outbox_messages_lane_status_id"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
