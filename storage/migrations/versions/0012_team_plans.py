"""Placeholder, filled in by the issue-12 work (team_plans).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 19:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401  # placeholder: the real migration uses it
from alembic import op  # noqa: F401  # placeholder: the real migration uses it

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
