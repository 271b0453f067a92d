"""The team's plan after a quickscan result, and the members' private support votes.

A plan answers the last page of the quickscan (seed 000): which success factors
get priority, the first step, who carries it and by when, whether the team backs
it ("draagvlak"), and when the team looks again. One plan per closed round (a
unique key, so two coordinators starting one at once get the same row).

Votes are personal data: one row per asked member (``vote`` NULL until they
answer), never shown per person. When the support question closes, the share is
frozen on the plan (``support_counts``) and the rows are deleted, so no vote
outlives its purpose.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import REF_LENGTH, Base, UTCDateTime

NAME_LENGTH = 255


class TeamPlanRow(Base):
    """A team's plan in answer to one closed round."""

    __tablename__ = "team_plans"
    __table_args__ = (UniqueConstraint("round_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    # The chosen success factors in order of priority, as a JSON list of numbers.
    factors: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    step: Mapped[str | None] = mapped_column(Text)
    owner_ref: Mapped[str | None] = mapped_column(String(REF_LENGTH))
    owner_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    due_date: Mapped[date | None] = mapped_column(Date)
    # Set by the coordinator (``plan volgende``); else the rule's date is fixed at agreement.
    next_round_date: Mapped[date | None] = mapped_column(Date)
    next_round_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agreed_by: Mapped[str | None] = mapped_column(String(REF_LENGTH))
    agreed_by_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    # Changed since the last agreement: the posted plan no longer shows everything.
    changed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The support question: its number (0 = never asked), whether it is open, and
    # the frozen share of the last closed one ({"steun": n, "twijfel": n, "geen": n}).
    support_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    support_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    support_counts: Mapped[str | None] = mapped_column(Text)
    # The owner's answer about the first step due on ``due_date`` (a new date clears it).
    followup_answer: Mapped[str | None] = mapped_column(String(16))
    followup_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlanVoteRow(Base):
    """One asked member's vote on the open support question (NULL until they answer)."""

    __tablename__ = "plan_votes"
    __table_args__ = (UniqueConstraint("plan_id", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("team_plans.id", ondelete="CASCADE"))
    member: Mapped[str] = mapped_column(String(REF_LENGTH), index=True)
    support_round: Mapped[int] = mapped_column(Integer)
    vote: Mapped[str | None] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
