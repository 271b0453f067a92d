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

from bot.calendar.data_end import DATA_END_KIND
from bot.calendar.deadline import day_text
from bot.calendar.planner import SchoolDays
from bot.calendar.team_pings import (
    ChecklistRounds,
    checklist_year_pings,
    deadline_and_data_pings,
    opening_planned,
    own_round_pings,
)
from bot.calendar.vocabulary import school_year_label, school_year_of
from bot.checklist.service import SCHEDULER
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
            planned += checklist_year_pings(
                team=team, days=days, now=now, known=opening_planned(self._schedule)
            )
            planned += own_round_pings(team=team, days=days, checklist=self._checklist)
        round_ = self._store.current_round(key=team.key)
        planned += deadline_and_data_pings(team=team, days=days, round_=round_, now=now)
        return planned

    def replan(self, *, key: TeamKey) -> None:
        """Bring one team's outbox in line with its settings and open round."""
        self._schedule.hold(key=key)  # before reading: re-plans of a team never interleave
        team = self._store.get_team(key=key)
        if team is None:
            return
        now = self._clock.now()
        # A moment already past is planned only when the outbox knows it (it happened,
        # or is due and still to fire), except the late warning that the data ends.
        planned = [
            ping
            for ping in self.plan(team=team)
            if ping.due_at > now or ping.kind == DATA_END_KIND or self._known(ping.id)
        ]
        self._schedule.sync(key=key, planned=planned, now=now)

    def _known(self, ping_id: str) -> bool:
        """The outbox holds this ping, in any state: a re-plan keeps it (it happened)."""
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
            "checklist_own_remind": self._own_checklist_remind,
            "checklist_own_close": self._own_checklist_close,
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
        # Every tick re-plans before firing, which refreshes a pending ping's arguments
        # (one planned before "closes" was among them included).
        closes = day_text(date.fromisoformat(str(ping.args["closes"])), texts)
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

    def _planned_round_open(self, ping: Ping) -> bool:
        """The open checklist round is the one this ping was planned for, opened by it.

        A round a coordinator opened (``checklist start``) is theirs, with their own
        deadline: the scheduler's reminders and close of the same round number leave
        it alone, as they do a round of another number or school year.
        """
        if self._checklist is None:
            return False
        round_ = self._checklist.current_round(team=ping.team)
        return (
            round_ is not None
            and round_.opened_by == SCHEDULER
            and round_.school_year == int(ping.args["school_year"])
            and round_.number == int(ping.args["number"])
        )

    def _checklist_remind(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None or not self._planned_round_open(ping):
            return []
        return self._checklist.remind(team=ping.team, now=now)

    def _checklist_close(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None or not self._planned_round_open(ping):
            return []
        return self._checklist.close_round(team=ping.team, now=now)

    def _own_round_open(self, ping: Ping) -> bool:
        """The coordinator's round this ping was planned for is the open one."""
        if self._checklist is None:
            return False
        open_round = self._checklist.current_round(team=ping.team)
        return open_round is not None and open_round.id == ping.args.get("round_id")

    def _own_checklist_remind(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None or not self._own_round_open(ping):
            return []
        return self._checklist.remind(team=ping.team, now=now)

    def _own_checklist_close(self, ping: Ping, now: datetime) -> list[Outbound]:
        if self._checklist is None or not self._own_round_open(ping):
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
            school_year=school_year_label(school_year_of(last + timedelta(days=1))),
        )
        return [Outbound(destination=Destination.team_channel(team=ping.team.team), text=text)]
