"""What one team's ping outbox should hold: the pure plan the reminders and overviews share.

``Reminders.plan`` (the timer's re-plan), ``/quickscan planning`` and ``quickscan
kalender --clock`` all plan a team with these functions, so what an overview
shows is what the bot will do. They read only the calendar, the team, its open
rounds and ``now``; nothing here writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.calendar.data_end import data_end_pings
from bot.calendar.planner import (
    PlanSettings,
    SchoolDays,
    checklist_pings,
    own_checklist_pings,
    quickscan_pings,
)
from bot.calendar.team_calendar import RegionDays
from bot.calendar.vocabulary import school_year_of
from bot.checklist.service import SCHEDULER
from conversations.core.clock import SCHOOL_TZ
from conversations.core.messages import Outbound
from storage.checklist.records import ChecklistRound
from storage.keys import TeamKey
from storage.quickscan.records import Round, Team
from storage.schedule.store import PingStatus, PlannedPing, ScheduleStore

log = logging.getLogger(__name__)


class ChecklistRounds(Protocol):
    """The checklist service's side of the pings (bot/checklist_service.py)."""

    def open_round(
        self, *, team: TeamKey, number: int, school_year: int, deadline: datetime, now: datetime
    ) -> list[Outbound]:
        """Open round ``number`` and tell the teachers."""
        ...

    def remind(self, *, team: TeamKey, now: datetime) -> list[Outbound]:
        """Remind teachers who have not finished the open round."""
        ...

    def close_round(self, *, team: TeamKey, now: datetime) -> list[Outbound]:
        """Close the open round: team aggregate, and after round 2 the comparisons."""
        ...

    def announce(self, *, team: TeamKey, text_key: str, **values: object) -> list[Outbound]:
        """Post an announcement in the team channel."""
        ...

    def current_round(self, *, team: TeamKey) -> ChecklistRound | None:
        """The team's open checklist round, if any."""
        ...


def opening_planned(schedule: ScheduleStore) -> Callable[[str], bool]:
    """Whether the bot opened a round (or is about to): its opening ping is pending or sent.

    The planner's ``known``: a cancelled opening (the checklist was switched off
    before it) or an expired one never opened the round, so its reminders and close
    are not planned again and no overview shows them.
    """

    def opened(ping_id: str) -> bool:
        ping = schedule.get(ping_id=ping_id)
        return ping is not None and ping.status in (PingStatus.PENDING, PingStatus.SENT)

    return opened


def own_round_pings(
    *, team: Team, days: SchoolDays, checklist: ChecklistRounds
) -> list[PlannedPing]:
    """A coordinator's open checklist round with a deadline is reminded and closed too."""
    own = checklist.current_round(team=team.key)
    if own is None or own.opened_by == SCHEDULER or own.deadline is None:
        return []
    try:
        return own_checklist_pings(
            team_id=team.id,
            days=days,
            round_id=own.id,
            opened_at=own.opened_at,
            deadline=own.deadline,
            settings=PlanSettings.from_mapping(team.plan_settings),
        )
    except ValueError:  # CalendarError: a deadline beyond every calendar
        log.info("no calendar for the deadline of checklist round %s", own.id)
        return []


def checklist_year_pings(
    *, team: Team, days: SchoolDays, now: datetime, known: Callable[[str], bool]
) -> list[PlannedPing]:
    """The checklist pings of the school year of ``now`` and the next, as far as known.

    Pure, so ``quickscan kalender --clock`` plans exactly what the bot would plan then.
    """
    planned: list[PlannedPing] = []
    year = school_year_of(now.astimezone(SCHOOL_TZ).date())
    for school_year in (year, year + 1):
        try:
            planned += checklist_pings(
                team_id=team.id,
                days=days,
                school_year=school_year,
                now=now,
                known=known,
                settings=PlanSettings.from_mapping(team.plan_settings),
            )
        except ValueError:  # CalendarError: before the shipped school years
            log.info("no calendar for team %s in school year %s", team.id, school_year)
    return planned


def deadline_and_data_pings(
    *, team: Team, days: SchoolDays, round_: Round | None, now: datetime
) -> list[PlannedPing]:
    """The open quickscan round's reminders and close, and the end-of-data warning.

    Both work after the shipped holiday data ends (school days are then weekdays
    minus public holidays), so a deadline there is still reminded and closed.
    """
    planned: list[PlannedPing] = []
    if round_ is not None:
        try:
            planned += quickscan_pings(team_id=team.id, days=days, round_=round_)
        except ValueError:  # CalendarError: only before the calendar starts
            log.info("no calendar for the deadline of round %s", round_.id)
    if isinstance(days, RegionDays):
        planned += data_end_pings(
            team_id=team.id, days=days, last_day=days.data_last_day(), now=now
        )
    return planned
