"""The outbox of planned pings: every reminder is a row before it is a message.

A ping is claimed (status ``sent``) in the same transaction that decides to send
it, so a restart, a second process or an APScheduler misfire can never send it
twice; what was missed while the bot was down is still ``pending`` and goes out
once when it is back, if it is still useful.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class ScheduledPingRow(Base):
    """One planned ping of one team, keyed by a stable id derived from the plan."""

    __tablename__ = "scheduled_pings"
    __table_args__ = (Index(None, "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    useful_until: Mapped[datetime] = mapped_column(UTCDateTime())
    args: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    status: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
