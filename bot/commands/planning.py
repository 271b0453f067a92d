"""``/quickscan planning``: the planning rules with the team's settings, and their days.

Apart from the calendar commands (``bot.commands.calendar``) because it explains
the planner rather than the calendar: every rule is written from the planner's
own values (:class:`PlanSettings`) and every day is computed by the planner's own
functions (``bot.calendar.planner``), so what the bot says and what it does
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.calendar.deadline import day_text
from bot.calendar.planner import (
    SETTING_RANGES,
    PlanSettings,
    RoundDays,
    at_eight,
    checklist_open_ping_id,
    checklist_round_days,
    quickscan_round_days,
)
from bot.calendar.team_calendar import RegionDays, days_for
from bot.calendar.team_pings import opening_planned
from bot.calendar.vocabulary import CalendarError, school_year_of
from bot.commands.common import Reply
from bot.commands.parse import arg_words
from conversations.checklist.naming import school_year_text
from conversations.core.cldr import format_list
from conversations.core.clock import SCHOOL_TZ
from conversations.core.i18n import Catalogue
from conversations.core.text_input import parse_bounded_int
from storage.quickscan.records import Round, Team
from storage.quickscan.store import Store
from storage.schedule.store import ScheduleStore


def describe_planning(
    *,
    team: Team,
    texts: Catalogue,
    now: datetime,
    quickscan: Round | None = None,
    known: Callable[[str], bool] = lambda _ping_id: False,
) -> str:
    """The planning rules with the team's settings, and the days they give.

    The rules are written from :class:`PlanSettings` (its settings and its fixed
    parts), the days by the planner's own functions: the checklist rounds still to
    come (and one under way whose opening ping the outbox holds, ``known``) and an
    open quickscan round with a deadline.
    """
    settings = PlanSettings.from_mapping(team.plan_settings)
    lines = [
        texts.t("planning.title"),
        texts.t("planning.ronde1_weken", count=settings.ronde1_weken),
        texts.t("planning.ronde2_weken", count=settings.ronde2_weken),
        texts.t(
            "planning.herinnering_dagen",
            weeks=texts.t("calendar.weeks", count=settings.REMINDER_WEEKS),
            days=texts.t("calendar.school_days", count=settings.herinnering_dagen),
        ),
        texts.t(
            "planning.quickscan",
            days=_listed(
                [
                    texts.t("calendar.school_days", count=count)
                    for count in settings.QUICKSCAN_REMINDER_DAYS
                ],
                texts,
            ),
        ),
    ]
    if not team.checklist_enabled:
        lines.append(texts.t("checklist.switched_off_note"))
    days = days_for(team)
    if days is None:
        lines.append(texts.t("planning.no_region"))
    else:
        dated = _round_lines(
            team=team, days=days, settings=settings, now=now, known=known, texts=texts
        )
        if quickscan is not None:
            dated += _quickscan_line(days=days, round_=quickscan, texts=texts)
        if dated:
            lines += [texts.t("planning.dates_title"), *dated]
    lines.append(texts.t("planning.how"))
    return "\n".join(lines)


def _round_lines(
    *,
    team: Team,
    days: RegionDays,
    settings: PlanSettings,
    now: datetime,
    known: Callable[[str], bool],
    texts: Catalogue,
) -> list[str]:
    """The checklist rounds the planner plans from ``now`` on, with their days."""
    if not team.checklist_enabled:
        return []
    today = now.astimezone(SCHOOL_TZ).date()
    year = school_year_of(today)
    lines = []
    for school_year in (year, year + 1):
        for number in (1, 2):
            try:
                found = checklist_round_days(
                    days=days, school_year=school_year, number=number, settings=settings
                )
            except CalendarError:
                continue
            if found is None or found.closes < today:
                continue
            opening = checklist_open_ping_id(
                team_id=team.id, school_year=school_year, number=number
            )
            if at_eight(found.opens) <= now and not known(opening):
                continue  # opened before the bot planned it: not planned, not shown
            name = texts.t(
                "checklist.round_name", number=number, year=school_year_text(school_year)
            )
            lines.append(
                texts.t(
                    "planning.checklist_round",
                    round=name,
                    opens=day_text(found.opens, texts),
                    reminders=_days_listed(found, texts),
                    deadline=day_text(found.deadline, texts),
                    closes=day_text(found.closes, texts),
                )
            )
    return lines


def _quickscan_line(*, days: RegionDays, round_: Round, texts: Catalogue) -> list[str]:
    try:
        found = quickscan_round_days(days=days, round_=round_)
    except CalendarError:
        return []
    if found is None:
        return []
    return [
        texts.t(
            "planning.quickscan_round",
            reminders=_days_listed(found, texts),
            deadline=day_text(found.deadline, texts),
            closes=day_text(found.closes, texts),
        )
    ]


def _days_listed(found: RoundDays, texts: Catalogue) -> str:
    if not found.reminders:
        return texts.t("calendar.none")
    return _listed([day_text(day, texts) for day in found.reminders], texts)


def _listed(items: list[str], texts: Catalogue) -> str:
    """``a, b en c`` in the team's language (CLDR list patterns)."""
    return format_list(items, locale=texts.locale)


def set_planning(
    *, store: Store, team: Team, args: tuple[str, ...], texts: Catalogue, now: datetime
) -> Reply:
    """``planning ronde1_weken 4`` or ``planning standaard``; the reply shows the result.

    The result names the days as ``planning`` does: of a checklist round under way
    and of an open quickscan round too.
    """
    if len(args) == 1 and args[0].lower() in arg_words("default"):
        updated = store.update_team(key=team.key, plan_settings={})
        return Reply(_planning_of(store=store, team=updated, texts=texts, now=now), changed=True)
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
    return Reply(_planning_of(store=store, team=updated, texts=texts, now=now), changed=True)


def _planning_of(*, store: Store, team: Team, texts: Catalogue, now: datetime) -> str:
    """:func:`describe_planning` with the team's open quickscan round and openings."""
    return describe_planning(
        team=team,
        texts=texts,
        now=now,
        quickscan=store.current_round(key=team.key),
        known=opening_planned(ScheduleStore(engine=store.engine)),
    )
