"""Sends the planned pings: the bot's own initiative, at most once each.

The planner (``bot.calendar.planner``) decides *when*; the schedule
(``storage.schedule.store``) remembers *what*; this module decides, when a ping
is due, whether it is still useful and what it says. The engine fires a ping in
one unit of work: its claim and the outbox rows of its messages commit together,
so a crash in between leaves the ping pending (it fires once after a restart)
and a second process finds it already claimed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.calendar.deadline import day_text
from bot.calendar.planner import (
    DATA_END_KIND,
    PlanSettings,
    SchoolDays,
    checklist_pings,
    data_end_pings,
    quickscan_pings,
    school_year_of,
)
from bot.calendar.team_calendar import RegionDays
from bot.calendar.vocabulary import school_year_label
from bot.calendar.vocabulary import school_year_of as school_year_of_day
from bot.results.service import Results
from conversations.core.clock import SCHOOL_TZ, Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.quickscan.walkthrough import Walkthrough
from storage.keys import TeamKey
from storage.quickscan.records import ParticipationState, Round, RoundNotOpenError, Team
from storage.quickscan.store import Store
from storage.schedule.store import Ping, PingStatus, PlannedPing, ScheduleStore

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


class PingSource(Protocol):
    """Another subsystem's pings (the team's plan follow-up): planned and fired here.

    The reminders own the timer and the ping outbox; a source only says which pings
    a team should have (from its own state, the team's school days and ``now``) and
    what a due ping of one of its ``kinds`` says. Planning must be pure and give
    stable ids, like the planner's, so planning again changes nothing.
    """

    kinds: frozenset[str]

    def plan(self, *, team: Team, days: SchoolDays | None, now: datetime) -> list[PlannedPing]:
        """The pings this source wants for ``team`` (``days`` is None without a region)."""
        ...

    def fire(self, *, ping: Ping, now: datetime) -> list[Outbound]:
        """The messages of a due, claimed ping of one of :attr:`kinds`."""
        ...


CalendarFor = Callable[[Team], SchoolDays | None]
"""The school days of a team's region with its overrides; None when no region is set."""


def checklist_year_pings(
    *, team: Team, days: SchoolDays, now: datetime, known: Callable[[str], bool]
) -> list[PlannedPing]:
    """The checklist pings of the school year of ``now`` and the next, as far as known.

    Pure, so ``quickscan kalender --clock`` plans exactly what the bot would plan then.
    """
    planned: list[PlannedPing] = []
    year = school_year_of(now)
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
    *, team: Team, days: SchoolDays, round_: Round | None
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
        planned += data_end_pings(team_id=team.id, days=days, last_day=days.data_last_day())
    return planned


class Reminders:
    """Plans every team's pings and fires the due ones."""

    def __init__(
        self,
        *,
        store: Store,
        schedule: ScheduleStore,
        calendar_for: CalendarFor,
        checklist: ChecklistRounds | None,
        walkthrough: Walkthrough,
        results: Results,
        clock: Clock,
        sources: Sequence[PingSource] = (),
    ) -> None:
        self._sources = tuple(sources)
        self._store = store
        self._schedule = schedule
        self._calendar_for = calendar_for
        self._checklist = checklist
        self._walkthrough = walkthrough
        self._results = results
        self._clock = clock

    def now(self) -> datetime:
        """The injected clock's time (the scheduler compares due moments with it)."""
        return self._clock.now()

    # ---------------------------------------------------------------- planning

    def plan(self, *, team: Team) -> list[PlannedPing]:
        """What the team's outbox should hold from now on."""
        days = self._calendar_for(team)
        now = self._clock.now()
        planned: list[PlannedPing] = []
        for source in self._sources:
            planned += source.plan(team=team, days=days, now=now)
        if days is None:
            return planned
        if self._checklist is not None and team.checklist_enabled:  # off: none planned
            planned += checklist_year_pings(team=team, days=days, now=now, known=self._known)
        round_ = self._store.current_round(key=team.key)
        planned += deadline_and_data_pings(team=team, days=days, round_=round_)
        return planned

    def replan(self, *, key: TeamKey) -> None:
        """Bring one team's outbox in line with its settings and open round."""
        self._schedule.hold(key=key)  # before reading: re-plans of a team never interleave
        team = self._store.get_team(key=key)
        if team is None:
            return
        now = self._clock.now()
        planned = [
            ping for ping in self.plan(team=team) if ping.due_at > now or self._known(ping.id)
        ]
        self._schedule.sync(key=key, planned=planned, now=now)

    def _known(self, ping_id: str) -> bool:
        return self._schedule.get(ping_id=ping_id) is not None

    # ------------------------------------------------------------------ firing

    def due(self) -> list[Ping]:
        """The pending pings whose moment has come, oldest first.

        The engine fires each in a unit of work of its own (a missed one only while
        still useful, see :meth:`fire`).
        """
        return self._schedule.due(now=self._clock.now())

    def fire(self, *, ping_id: str) -> list[Outbound]:
        """The messages of one ping if it is due, pending and still useful; else none.

        Claims the ping; call it inside the unit of work that queues the messages.
        """
        now = self._clock.now()
        ping = self._schedule.get(ping_id=ping_id)
        if ping is None or ping.status is not PingStatus.PENDING or ping.due_at > now:
            return []
        if now > ping.useful_until:
            self._schedule.claim(ping_id=ping.id, status=PingStatus.EXPIRED, now=now)
            log.info("ping %s expired unsent", ping.id)
            return []
        if not self._schedule.claim(ping_id=ping.id, status=PingStatus.SENT, now=now):
            return []  # another process or thread got it first
        messages = self._act(ping, now)
        log.info("ping %s fired: %d messages queued", ping.id, len(messages))
        return messages

    def _act(self, ping: Ping, now: datetime) -> list[Outbound]:
        handlers: Mapping[str, Callable[[Ping, datetime], list[Outbound]]] = {
            "quickscan_remind": self._quickscan_remind,
            "quickscan_close": self._quickscan_close,
            "checklist_open": self._checklist_open,
            "checklist_remind": self._checklist_remind,
            "checklist_close": self._checklist_close,
            "checklist_announce": self._checklist_announce,
            DATA_END_KIND: self._data_ends,
        }
        handler = handlers.get(ping.kind)
        if handler is not None:
            return handler(ping, now)
        for source in self._sources:
            if ping.kind in source.kinds:
                return source.fire(ping=ping, now=now)
        return []

    def _open_round(self, ping: Ping) -> Round | None:
        round_ = self._store.current_round(key=ping.team)
        if round_ is None or round_.id != ping.args.get("round_id"):
            return None
        return round_

    def _quickscan_remind(self, ping: Ping, now: datetime) -> list[Outbound]:
        round_ = self._open_round(ping)
        if round_ is None or round_.deadline is None:
            return []
        team = self._store.get_team(key=ping.team)
        texts = Catalogue(team.locale if team else "nl")
        # The round's own deadline and the closing day the plan gave this ping: a
        # deadline inside a holiday closes on the first school day after it.
        due = round_.deadline.astimezone(SCHOOL_TZ).date()
        deadline = day_text(due, texts)
        # A ping planned before the closing day was in its arguments (an upgrade): the
        # close is the first school day after the deadline, as the planner says.
        days = self._calendar_for(team) if team is not None else None
        planned = ping.args.get("closes")
        if planned is not None:
            closing = date.fromisoformat(str(planned))
        else:
            closing = days.first_school_day_after(due) if days is not None else due
        closes = day_text(closing, texts)
        messages: list[Outbound] = []
        for participation in self._store.participations(key=ping.team, round_id=round_.id):
            if participation.state is ParticipationState.SUBMITTED:
                continue
            if participation.unreachable_at is not None:
                continue
            messages.append(
                Outbound(
                    destination=Destination.dm(team=ping.team.team, user=participation.key.user),
                    text=texts.t("reminder.quickscan", deadline=deadline, closes=closes),
                )
            )
            messages.append(self._walkthrough.prompt_for(participation=participation))
        return messages

    def _quickscan_close(self, ping: Ping, now: datetime) -> list[Outbound]:
        round_ = self._open_round(ping)
        team = self._store.get_team(key=ping.team)
        if round_ is None or team is None:
            return []
        try:
            closed = self._store.close_round(key=ping.team, round_id=round_.id, now=now)
        except RoundNotOpenError:
            return []
        texts = Catalogue(team.locale)
        deadline = round_.deadline.astimezone(SCHOOL_TZ).date() if round_.deadline else None
        notice = Outbound(
            destination=Destination.team_channel(team=ping.team.team),
            text=texts.t(
                "reminder.auto_closed", deadline=day_text(deadline, texts) if deadline else "-"
            ),
        )
        return [notice, *self._results.result_messages(team=team, round_=closed)]

    def _checklist_open(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None:
            return []
        deadline = datetime.fromisoformat(str(ping.args["deadline"])).replace(tzinfo=SCHOOL_TZ)
        return self._checklist.open_round(
            team=ping.team,
            number=int(ping.args["number"]),
            school_year=int(ping.args["school_year"]),
            deadline=deadline.replace(hour=23, minute=59, second=59),
            now=now,
        )

    def _checklist_remind(self, ping: Ping, now: datetime) -> list[Outbound]:
        return [] if self._checklist is None else self._checklist.remind(team=ping.team, now=now)

    def _checklist_close(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None:
            return []
        return self._checklist.close_round(team=ping.team, now=now)

    def _checklist_announce(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None:
            return []
        return self._checklist.announce(team=ping.team, text_key="reminder.round2_follows")

    def _data_ends(self, ping: Ping, now: datetime) -> list[Outbound]:
        """The shipped holiday data ends soon: tell the team what to do (once)."""
        team = self._store.get_team(key=ping.team)
        if team is None:
            return []
        texts = Catalogue(team.locale)
        last = date.fromisoformat(str(ping.args["last_day"]))
        text = texts.t(
            "reminder.data_ends",
            last=day_text(last, texts),
            missing=day_text(last + timedelta(days=1), texts),
            region=team.region or "-",
            school_year=school_year_label(school_year_of_day(last + timedelta(days=1))),
        )
        return [Outbound(destination=Destination.team_channel(team=ping.team.team), text=text)]
