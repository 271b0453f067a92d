"""``/quickscan regio|gemeente|vakantie|kalender``: the team's school calendar.

The reminders follow the school calendar of the team's region, so a team names
its region (or its municipality, and the region is looked up) once. The autumn
holiday dates are only advice, so a school can set its own dates; an open
checklist round's deadline then moves with them (:func:`follow_calendar`), and
the channel is told the new date.

``kalender`` lists what the planner planned; ``planning``, which explains the
planner's rules, is ``bot.commands.planning``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.calendar.data_files import SOURCE_ATTRIBUTION
from bot.calendar.deadline import day_text
from bot.calendar.municipalities import region_for_municipality
from bot.calendar.planner import (
    PlanSettings,
    checklist_round_days,
    end_of,
)
from bot.calendar.team_calendar import RegionDays, days_for, override_key
from bot.calendar.vocabulary import (
    SCHOOL_YEAR_FIRST_MONTH,
    CalendarError,
    HolidayKind,
    OutOfRangeError,
    parse_holiday_kind,
    parse_region,
    school_year_of,
)
from bot.checklist.service import SCHEDULER
from bot.commands.common import Reply
from conversations.checklist.naming import round_name
from conversations.core.cldr import format_day
from conversations.core.clock import SCHOOL_TZ
from conversations.core.i18n import Catalogue, catalogue_keys
from conversations.core.limits import MESSAGE_MAX_CHARS, SLACK_SECTION_MAX_CHARS, split_text
from conversations.core.text_input import quote
from storage.checklist.store import ChecklistStore
from storage.quickscan.records import Team
from storage.quickscan.store import Store
from storage.schedule.store import Ping, PingStatus, PlannedPing

OVERVIEW_MAX_CHARS = min(MESSAGE_MAX_CHARS, SLACK_SECTION_MAX_CHARS)
"""One ``kalender`` message: longer overviews go out as several (every platform's limit)."""
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def set_region(*, store: Store, team: Team, text: str, texts: Catalogue) -> Reply:
    """Set the team's region; the reply says what was set or why not."""
    try:
        region = parse_region(text)
    except CalendarError:
        return Reply(texts.t("calendar.bad_region", text=quote(text)), changed=False)
    store.update_team(key=team.key, region=region.value)
    return Reply(texts.t("calendar.region_set", region=region.value), changed=True)


def set_municipality(*, store: Store, team: Team, text: str, texts: Catalogue) -> Reply:
    """Look the municipality's region up and set it."""
    region = region_for_municipality(text)
    if region is None:
        return Reply(texts.t("calendar.unknown_municipality", text=quote(text)), changed=False)
    store.update_team(key=team.key, region=region.value)
    reply = texts.t("calendar.municipality_set", municipality=quote(text), region=region.value)
    return Reply(reply, changed=True)


def set_holiday(*, store: Store, team: Team, args: tuple[str, ...], texts: Catalogue) -> Reply:
    """``vakantie herfst 2026-10-17 2026-10-25``: the school's own dates for a holiday.

    Dates are ``YYYY-MM-DD`` in plain digits; ``date.fromisoformat`` alone would
    also take ``20261017`` or a week date.
    """
    usage = Reply(texts.t("calendar.holiday_usage"), changed=False)
    if len(args) != 3 or not all(_ISO_DAY.fullmatch(arg) for arg in args[1:]):
        return usage
    try:
        kind = parse_holiday_kind(args[0])
        start, end = date.fromisoformat(args[1]), date.fromisoformat(args[2])
    except (CalendarError, ValueError):
        return usage
    if end < start or (end - start).days > 120:
        return usage
    key = override_key(school_year=school_year_of(start), kind=kind)
    overrides = {**team.holiday_overrides, key: (start.isoformat(), end.isoformat())}
    updated = store.update_team(key=team.key, holiday_overrides=overrides)
    days = days_for(team)  # without a region there is no calendar to check against yet
    error = None if days is None else _calendar_error(updated)
    if days is not None and error is not None:
        store.update_team(key=team.key, holiday_overrides=team.holiday_overrides)
        refusal = _holiday_refusal(
            days=days, key=key, start=start, end=end, error=error, texts=texts
        )
        return Reply(refusal, changed=False)
    reply = texts.t("calendar.holiday_set", kind=kind.value, start=_day(start), end=_day(end))
    return Reply(reply, changed=True)


def _calendar_error(team: Team) -> CalendarError | None:
    """Why the team's calendar with its own dates cannot be built (overlaps, range)."""
    try:
        days_for(team)
    except CalendarError as error:
        return error
    return None


def _holiday_refusal(
    *, days: RegionDays, key: str, start: date, end: date, error: CalendarError, texts: Catalogue
) -> str:
    """Why ``start``..``end`` for the holiday ``key`` was refused, in the team's language.

    The calendar's own error says it in English for the log; the coordinator reads
    which of the school's holidays is in the way, or from when the calendar starts.
    """
    if isinstance(error, OutOfRangeError):
        first = days.calendar.coverage(region=days.region)[0]
        return texts.t("calendar.holiday_too_early", first=_day(first))
    for holiday in days.calendar.holidays:
        same = override_key(school_year=holiday.school_year, kind=holiday.kind) == key
        if (
            holiday.region is days.region
            and not same
            and holiday.start <= end
            and holiday.end >= start
        ):
            return texts.t(
                "calendar.holiday_overlaps",
                other=texts.t(f"holiday.{holiday.kind.value}"),
                start=_day(holiday.start),
                end=_day(holiday.end),
            )
    return texts.t("calendar.holiday_not_fitting")


def follow_calendar(*, checklists: ChecklistStore, team: Team, texts: Catalogue) -> list[str]:
    """Move the open checklist round's deadline to the day its calendar now gives.

    The deadline was stored when the round opened; a school's own holiday dates,
    another region or another ``ronde2_weken`` set afterwards move the planned
    close and reminders, so the stored deadline moves with them and every later
    message names the new day. Only a round the scheduler opened follows the
    calendar: a coordinator's own deadline stays theirs. Returns the channel
    notice (none when nothing moved).
    """
    round_ = checklists.current_round(key=team.key)
    days = days_for(team)
    if round_ is None or round_.deadline is None or round_.opened_by != SCHEDULER or not days:
        return []
    settings = PlanSettings.from_mapping(team.plan_settings)
    try:
        planned = checklist_round_days(
            days=days, school_year=round_.school_year, number=round_.number, settings=settings
        )
    except CalendarError:
        return []
    if planned is None or planned.deadline == round_.deadline.astimezone(SCHOOL_TZ).date():
        return []
    moved = checklists.move_deadline(
        key=team.key, round_id=round_.id, deadline=end_of(planned.deadline)
    )
    if moved is None:
        return []
    return [
        texts.t(
            "calendar.deadline_moved",
            round=round_name(moved, texts),
            deadline=day_text(planned.deadline, texts),
            closes=day_text(planned.closes, texts),
        )
    ]


@dataclass(frozen=True, slots=True)
class _Entry:
    """One line of the overview: a ping to come, or one already sent."""

    due: datetime
    kind: str
    sent: bool


def describe(
    *,
    team: Team,
    pings: Sequence[Ping],
    now: datetime,
    texts: Catalogue,
    planned: Sequence[PlannedPing] = (),
    limit: int = OVERVIEW_MAX_CHARS,
) -> list[str]:
    """The team's holidays and every ping of this school year and the next, by month.

    ``pings`` is the outbox; ``planned`` what the planner gives as of ``now`` (the
    command line's ``--clock`` may lie ahead of the outbox). A ping before ``now``
    is shown only when it was sent, and marked so; one to come is in the outbox or
    the plan. Returned as messages of at most ``limit`` characters, split at lines.
    """
    days = days_for(team)
    if days is None:
        return [texts.t("calendar.no_region")]
    lines = [texts.t("calendar.title", region=days.region.value)]
    if not team.checklist_enabled:
        lines.append(texts.t("checklist.switched_off_note"))
    today = now.astimezone(SCHOOL_TZ).date()
    year = school_year_of(today)
    window = (date(year, SCHOOL_YEAR_FIRST_MONTH, 1), date(year + 2, SCHOOL_YEAR_FIRST_MONTH, 1))
    lines += _holiday_lines(days=days, year=year, today=today, texts=texts)
    last = days.data_last_day()
    if last < window[1]:
        lines.append(
            texts.t(
                "calendar.data_missing",
                last=day_text(last, texts),
                missing=day_text(last + timedelta(days=1), texts),
            )
        )
    lines.append(texts.t("calendar.pings_title"))
    entries = _entries(pings=pings, planned=planned, now=now, window=window)
    if not entries:
        lines.append(texts.t("calendar.no_pings"))
    month = ""
    known = catalogue_keys("nl")
    for entry in entries:
        day = entry.due.astimezone(SCHOOL_TZ).date()
        heading = format_day(day, "LLLL yyyy", locale=texts.locale)
        if heading != month:
            month = heading
            lines.append(texts.t("calendar.month", month=heading))
        what_key = f"ping.{entry.kind}" if f"ping.{entry.kind}" in known else "ping.other"
        line_key = "calendar.ping_line_sent" if entry.sent else "calendar.ping_line"
        lines.append(texts.t(line_key, moment=day_text(day, texts), what=texts.t(what_key)))
    lines.append(texts.t("calendar.source", source=SOURCE_ATTRIBUTION))
    return split_text("\n".join(lines), limit=limit)


def _holiday_lines(*, days: RegionDays, year: int, today: date, texts: Catalogue) -> list[str]:
    lines = []
    for school_year in (year, year + 1):
        for kind in HolidayKind:
            start = days.holiday_start(kind=kind.value, school_year=school_year)
            end = days.holiday_end(kind=kind.value, school_year=school_year)
            if start is None or end is None or end < today:
                continue
            lines.append(
                texts.t(
                    "calendar.holiday_line",
                    kind=texts.t(f"holiday.{kind.value}"),
                    start=_day(start),
                    end=_day(end),
                )
            )
    return lines


def _entries(
    *,
    pings: Sequence[Ping],
    planned: Sequence[PlannedPing],
    now: datetime,
    window: tuple[date, date],
) -> list[_Entry]:
    """Sent pings and pings to come, by id (the plan as of ``now`` wins), in order."""
    found: dict[str, _Entry] = {}
    for ping in pings:
        if ping.status is PingStatus.SENT:
            found[ping.id] = _Entry(due=ping.due_at, kind=ping.kind, sent=True)
        elif ping.status is PingStatus.PENDING and ping.due_at > now:
            found[ping.id] = _Entry(due=ping.due_at, kind=ping.kind, sent=False)
    for wanted in planned:
        earlier = found.get(wanted.id)
        if wanted.due_at > now and (earlier is None or not earlier.sent):
            found[wanted.id] = _Entry(due=wanted.due_at, kind=wanted.kind, sent=False)
    first, end = window
    return sorted(
        (
            entry
            for entry in found.values()
            if first <= entry.due.astimezone(SCHOOL_TZ).date() < end
        ),
        key=lambda entry: (entry.due, entry.kind),
    )


def _day(day: date) -> str:
    return day.strftime("%d-%m-%Y")
