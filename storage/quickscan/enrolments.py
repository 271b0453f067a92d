"""A participation read together with its round and team (part of ``Store``).

Every message a member types in their DM needs all three: the participation for
where they are, the round for its instrument and whether it is still open, the
team for the language. Read apart that was three queries per answer; joined it is
one, in the event's transaction, so nothing read can be older than the rest (no
cache across events: another replica may have closed the round or changed the
language a moment ago).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from storage.models.quickscan import ParticipationRow, RoundRow, TeamRow
from storage.quickscan.records import Participation, Round, Team
from storage.quickscan.shared import (
    OPEN,
    RepositoryBase,
    participation_record,
    round_record,
    team_record,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolment:
    """A member's participation with the round and team it belongs to, read at once."""

    participation: Participation
    round: Round
    team: Team


_JOINED = (
    select(ParticipationRow, RoundRow, TeamRow)
    .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
    .join(TeamRow, TeamRow.id == RoundRow.team_id)
)
# Built once with bound parameters: building a statement and its cache key costs
# more than running it, and these run for every message a member types.
_IN_WORKSPACE = (
    TeamRow.platform == bindparam("platform"),
    TeamRow.workspace == bindparam("workspace"),
    ParticipationRow.user_ref == bindparam("user"),
)
_ACTIVE = _JOINED.where(*_IN_WORKSPACE, RoundRow.status == OPEN).order_by(
    ParticipationRow.invited_at.desc(), ParticipationRow.id.desc()
)
_OF_USER = _JOINED.where(*_IN_WORKSPACE, ParticipationRow.id == bindparam("participation_id"))
_BY_ID = _JOINED.where(ParticipationRow.id == bindparam("participation_id"))


def _load(
    session: Session,
    statement: Select[ParticipationRow, RoundRow, TeamRow],
    parameters: dict[str, Any],
) -> list[Enrolment]:
    return [
        Enrolment(
            participation=participation_record(participation, team),
            round=round_record(round_),
            team=team_record(team),
        )
        for participation, round_, team in session.execute(statement, parameters)
    ]


class EnrolmentRepository(RepositoryBase):
    """Participations with their round and team, for the DM walkthrough."""

    def active_enrolments(self, *, platform: str, workspace: str, user: str) -> list[Enrolment]:
        """The user's participations in open rounds of any team, newest invite first.

        The same selection and order as ``active_participations``: a direct message
        without a button goes to the first one of the message's team, else the first.
        """
        with self._sessions.begin() as session:
            return _load(
                session, _ACTIVE, {"platform": platform, "workspace": workspace, "user": user}
            )

    def enrolment_for_user(
        self, *, platform: str, workspace: str, user: str, participation_id: int
    ) -> Enrolment | None:
        """A participation by id, only if it is this user's in this workspace.

        Button payloads carry participation ids; a forged or replayed id of someone
        else yields None (as ``participation_for_user``).
        """
        with self._sessions.begin() as session:
            found = _load(
                session,
                _OF_USER,
                {
                    "platform": platform,
                    "workspace": workspace,
                    "user": user,
                    "participation_id": participation_id,
                },
            )
        return found[0] if found else None

    def enrolment(self, *, participation: Participation) -> Enrolment:
        """The round and team of a participation the caller already holds.

        Raises:
            LookupError: The participation is gone (erased meanwhile).
        """
        with self._sessions.begin() as session:
            found = _load(session, _BY_ID, {"participation_id": participation.id})
        if not found:
            raise LookupError(participation.id)
        return found[0]
