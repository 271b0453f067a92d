"""``/quickscan regio|gemeente|vakantie|kalender``: the team's school calendar.

The reminders follow the school calendar of the team's region, so a team names
its region (or its municipality, and the region is looked up) once. The autumn
holiday dates are only advice, so a school can set its own dates.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.calendar.data_files import SOURCE_ATTRIBUTION
from bot.calendar.municipalities import region_for_municipality
from bot.calendar.planner import SETTING_RANGES, PlanSettings
from bot.calendar.team_calendar import days_for, override_key
from bot.calendar.vocabulary import (
    CalendarError,
    HolidayKind,
    parse_holiday_kind,
    parse_region,
    school_year_of,
)
from bot.commands.common import Reply
from bot.commands.parse import arg_words
from conversations.core.clock import SCHOOL_TZ
from conversations.core.i18n import Catalogue
from conversations.core.text_input import parse_bounded_int, quote
from storage.quickscan.records import Team
from storage.quickscan.store import Store
from storage.schedule.store import Ping, PingStatus

UPCOMING_PINGS = 8
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
    try:
        days_for(updated)  # validates against the calendar (overlaps, school year)
    except CalendarError as error:
        store.update_team(key=team.key, holiday_overrides=team.holiday_overrides)
        return Reply(texts.t("calendar.holiday_refused", reason=str(error)), changed=False)
    reply = texts.t("calendar.holiday_set", kind=kind.value, start=_day(start), end=_day(end))
    return Reply(reply, changed=True)


def describe(*, team: Team, pings: list[Ping], now: datetime, texts: Catalogue) -> str:
    """The team's upcoming holidays and planned pings (``quickscan kalender``)."""
    days = days_for(team)
    if days is None:
        return texts.t("calendar.no_region")
    lines = [texts.t("calendar.title", region=days.region.value)]
    today = now.astimezone(SCHOOL_TZ).date()
    year = school_year_of(today)
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
    upcoming = [p for p in pings if p.status is PingStatus.PENDING][:UPCOMING_PINGS]
    lines.append(texts.t("calendar.pings_title"))
    if not upcoming:
        lines.append(texts.t("calendar.no_pings"))
    for ping in upcoming:
        moment = ping.due_at.astimezone(SCHOOL_TZ).strftime("%d-%m-%Y %H:%M")
        lines.append(
            texts.t("calendar.ping_line", moment=moment, what=texts.t(f"ping.{ping.kind}"))
        )
    lines.append(texts.t("calendar.source", source=SOURCE_ATTRIBUTION))
    return "\n".join(lines)


def _day(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def describe_planning(*, team: Team, texts: Catalogue) -> str:
    """The team's planning settings, defaults included."""
    settings = PlanSettings.from_mapping(team.plan_settings)
    lines = [texts.t("planning.title")]
    lines += [
        texts.t(f"planning.{name}", value=value) for name, value in settings.as_mapping().items()
    ]
    lines.append(texts.t("planning.how"))
    return "\n".join(lines)


def set_planning(*, store: Store, team: Team, args: tuple[str, ...], texts: Catalogue) -> Reply:
    """``planning ronde1_weken 4`` or ``planning standaard``; the reply shows the result."""
    if len(args) == 1 and args[0].lower() in arg_words("default"):
        updated = store.update_team(key=team.key, plan_settings={})
        return Reply(describe_planning(team=updated, texts=texts), changed=True)
    names = ", ".join(PlanSettings.names())
    if len(args) != 2 or args[0] not in SETTING_RANGES:
        return Reply(texts.t("planning.usage", names=names), changed=False)
    name = args[0]
    low, high = SETTING_RANGES[name]
    value = parse_bounded_int(args[1], low=low, high=high)
    if value is None:
        reply = texts.t("planning.out_of_range", name=name, low=low, high=high)
        return Reply(reply, changed=False)
    updated = store.update_team(key=team.key, plan_settings={**team.plan_settings, name: value})
    return Reply(describe_planning(team=updated, texts=texts), changed=True)
