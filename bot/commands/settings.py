"""The team's settings: coordinators, minimum, language, thresholds, calendar and planning.

Showing a setting is for everyone and answered privately; changing one is for
coordinators and announced in the channel, so the whole team sees what changed.
A setting that is both shown and changed with one word (``drempel``,
``planning``) is two routes: without arguments anyone's, with them a
coordinator's, so the middleware's refusal covers the change only.
"""

from __future__ import annotations

from typing import ClassVar

from bot.calendar.team_pings import opening_planned
from bot.commands.calendar import (
    describe,
    follow_calendar,
    set_holiday,
    set_municipality,
    set_region,
)
from bot.commands.common import Reply, TeamCommandRoute, announce_or_refuse
from bot.commands.parse import Command, Sub, arg_words
from bot.commands.planning import describe_planning, set_planning
from bot.core.context import EventContext
from bot.results.labels import LabelRules
from conversations.core.i18n import Catalogue, available_locales
from conversations.core.messages import Outbound
from conversations.core.text_input import parse_bounded_decimal, parse_bounded_int, quote, user_ref
from storage.checklist.store import ChecklistStore
from storage.quickscan.records import MIN_RESPONDENTS_FLOOR, Team
from storage.quickscan.store import Store
from storage.schedule.store import ScheduleStore

# The largest "minimum respondents" a team can set: beyond any school team, and
# far inside every integer column.
MAX_MIN_RESPONDENTS = 500
REMOVE_WORDS = arg_words("remove")  # coordinator verwijder @naam
DEFAULT_WORDS = arg_words("default")  # drempel standaard
MEAN_RULE = "werkpunt_gemiddelde"


class CoordinatorRoute(TeamCommandRoute):
    """``/quickscan coordinator @naam`` adds one; ``coordinator verwijder @naam`` removes one."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.COORDINATOR})
    coordinator_only = True

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Add (or remove) a coordinator; the change is announced."""
        if command.args and command.args[0].lower() in REMOVE_WORDS:
            return self._remove(ctx, command)
        if len(command.args) != 1:
            return [ctx.private(ctx.texts.t("coordinator.usage"))]
        user = user_ref(command.args[0])
        if user is None:
            return [_bad_name(ctx, command.args[0])]
        added = self._store.add_coordinator(key=ctx.key, user=user, added_by=ctx.user, now=ctx.now)
        text_key = "coordinator.added" if added else "coordinator.already"
        reply = Reply(ctx.texts.t(text_key, user=user), changed=added)
        return [announce_or_refuse(ctx, reply)]  # "already one" changes nothing: privately

    def _remove(self, ctx: EventContext, command: Command) -> list[Outbound]:
        """``coordinator verwijder @naam``: one fewer coordinator, never none."""
        texts = ctx.texts
        if len(command.args) != 2:
            return [ctx.private(texts.t("input.coordinator_remove_usage"))]
        user = user_ref(command.args[1])
        if user is None:
            return [_bad_name(ctx, command.args[1])]
        if self._store.remove_coordinator(key=ctx.key, user=user):
            return [ctx.to_channel(texts.t("input.coordinator_removed", user=user))]
        still = self._store.is_coordinator(key=ctx.key, user=user)
        reason = "input.coordinator_last" if still else "input.coordinator_not_one"
        return [ctx.private(texts.t(reason, user=quote(user)))]


def _bad_name(ctx: EventContext, typed: str) -> Outbound:
    """``@naam`` that cannot name anyone: said privately, quoted bounded."""
    return ctx.private(ctx.texts.t("input.coordinator_bad_name", text=quote(typed)))


class MinimumRoute(TeamCommandRoute):
    """``/quickscan minimum <n>``: respondents needed before results show (never below 3)."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.MINIMUM})
    coordinator_only = True

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Set the minimum for rounds closing from now on."""
        texts = ctx.texts
        if len(command.args) != 1:
            return [ctx.private(texts.t("minimum.usage", floor=MIN_RESPONDENTS_FLOOR))]
        value = parse_bounded_int(command.args[0], low=0, high=MAX_MIN_RESPONDENTS)
        if value is None:
            reply = texts.t(
                "input.minimum_range", floor=MIN_RESPONDENTS_FLOOR, max=MAX_MIN_RESPONDENTS
            )
            return [ctx.private(reply)]
        if value < MIN_RESPONDENTS_FLOOR:
            return [ctx.private(texts.t("minimum.too_low", floor=MIN_RESPONDENTS_FLOOR))]
        self._store.update_team(key=ctx.key, min_respondents=value)
        return [ctx.to_channel(texts.t("minimum.set", value=value))]


class LanguageRoute(TeamCommandRoute):
    """``/quickscan taal nl|en``: the team's language, announced in the new language."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.TAAL})
    coordinator_only = True

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Switch the language, or say which ones there are."""
        locales = available_locales()
        if len(command.args) != 1 or command.args[0].lower() not in locales:
            reply = ctx.texts.t("language.usage", locales=", ".join(locales))
            return [ctx.private(reply)]
        locale = command.args[0].lower()
        self._store.update_team(key=ctx.key, locale=locale)
        return [ctx.to_channel(Catalogue(locale).t("language.set"))]


class ThresholdsShowRoute(TeamCommandRoute):
    """``/quickscan drempel``: the label thresholds, privately, for anyone."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.DREMPEL})

    def takes(self, command: Command) -> bool:
        """Without arguments only: with them it is a change."""
        return not command.args

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The thresholds and how to change them."""
        return [ctx.private(describe_rules(team, ctx.texts))]


class ThresholdsChangeRoute(TeamCommandRoute):
    """``/quickscan drempel <naam> <waarde>`` or ``drempel standaard`` (coordinator)."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.DREMPEL})
    coordinator_only = True

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def takes(self, command: Command) -> bool:
        """With arguments only."""
        return bool(command.args)

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Change one threshold (or all back to default); the result is announced."""
        texts = ctx.texts
        if command.args[0].lower() in DEFAULT_WORDS and len(command.args) == 1:
            updated = self._store.update_team(key=ctx.key, label_rules={})
            return [ctx.to_channel(describe_rules(updated, texts))]
        if len(command.args) != 2 or command.args[0] not in LabelRules.names():
            names = ", ".join(LabelRules.names())
            return [ctx.private(texts.t("threshold.usage", names=names))]
        name, raw = command.args
        value = parse_threshold(name, raw)
        if value is None:
            return [ctx.private(texts.t("threshold.bad_value", name=name, text=quote(raw)))]
        rules = {**team.label_rules, name: value}
        updated = self._store.update_team(key=ctx.key, label_rules=rules)
        return [ctx.to_channel(describe_rules(updated, texts))]


def parse_threshold(name: str, raw: str) -> float | None:
    """A percentage (0-100) for the share rules, a score for the mean rule; None if invalid.

    Plain digits only: ``float`` would also take ``nan``, ``1e2`` or Arabic-Indic digits.
    """
    if name == MEAN_RULE:
        return parse_bounded_decimal(raw, low=1, high=5)
    percentage = parse_bounded_decimal(raw.removesuffix("%"), low=0, high=100)
    return None if percentage is None else percentage / 100


def describe_rules(team: Team, texts: Catalogue) -> str:
    """The team's label thresholds, defaults included, as the team writes them."""
    rules = LabelRules.from_mapping(team.label_rules)
    lines = [texts.t("threshold.title")]
    for name, value in rules.as_mapping().items():
        shown = f"{value:g}".replace(".", ",") if name == MEAN_RULE else f"{round(value * 100)} %"
        lines.append(texts.t(f"threshold.{name}", value=shown))
    # "eens: redelijk" has no threshold of its own: it shares gaat_goed's (labels.py).
    lines.append(texts.t("threshold.eens_redelijk", value=f"{round(rules.gaat_goed * 100)} %"))
    lines.append(texts.t("threshold.gemengd"))
    lines.append(texts.t("threshold.how"))
    return "\n".join(lines)


class CalendarSettingRoute(TeamCommandRoute):
    """``/quickscan regio | gemeente | vakantie ...``: where and when the school's holidays are."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.REGIO, Sub.GEMEENTE, Sub.VAKANTIE})
    coordinator_only = True
    replans = True  # the reminders follow the school calendar

    def __init__(self, *, store: Store, checklists: ChecklistStore | None = None) -> None:
        self._store = store
        # The open checklist round's deadline moves with the calendar (its own view
        # of the same database unless one is given).
        self._checklists = checklists or ChecklistStore(engine=store.engine, cipher=store.cipher)

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Region, municipality or the school's own holiday dates."""
        texts = ctx.texts
        if not command.args:
            return [ctx.private(texts.t(f"calendar.usage_{command.sub}"))]
        if command.sub is Sub.REGIO:
            text = " ".join(command.args)
            reply = set_region(store=self._store, team=team, text=text, texts=texts)
        elif command.sub is Sub.GEMEENTE:
            text = " ".join(command.args)
            reply = set_municipality(store=self._store, team=team, text=text, texts=texts)
        else:
            reply = set_holiday(store=self._store, team=team, args=command.args, texts=texts)
        moved = _moved(ctx, reply, store=self._store, checklists=self._checklists)
        return [announce_or_refuse(ctx, reply), *moved]


def _moved(
    ctx: EventContext, reply: Reply, *, store: Store, checklists: ChecklistStore
) -> list[Outbound]:
    """After a calendar or planning change: the open checklist round's moved deadline."""
    team = store.get_team(key=ctx.key) if reply.changed else None
    if team is None:
        return []
    notices = follow_calendar(checklists=checklists, team=team, texts=ctx.texts)
    return [ctx.to_channel(notice) for notice in notices]


class CalendarOverviewRoute(TeamCommandRoute):
    """``/quickscan kalender``: upcoming holidays and planned pings, privately."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.KALENDER})

    def __init__(self, *, schedule: ScheduleStore) -> None:
        self._schedule = schedule

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The overview, in as many private messages as it needs."""
        pings = self._schedule.pings(key=ctx.key)
        chunks = describe(team=team, pings=pings, now=ctx.now, texts=ctx.texts)
        return [ctx.private(chunk) for chunk in chunks]


class PlanningShowRoute(TeamCommandRoute):
    """``/quickscan planning``: when the checklist rounds open and close, for anyone."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.PLANNING})

    def __init__(self, *, store: Store | None = None) -> None:
        # With the store the text also names the days of an open quickscan round and
        # of a checklist round under way; without it, those of the rounds to come.
        self._store = store
        self._schedule = None if store is None else ScheduleStore(engine=store.engine)

    def takes(self, command: Command) -> bool:
        """Without arguments only: with them it is a change."""
        return not command.args

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The planning rules and the days they give, privately."""
        store, schedule = self._store, self._schedule
        if store is None or schedule is None:
            text = describe_planning(team=team, texts=ctx.texts, now=ctx.now)
        else:
            text = describe_planning(
                team=team,
                texts=ctx.texts,
                now=ctx.now,
                quickscan=store.current_round(key=ctx.key),
                known=opening_planned(schedule),
            )
        return [ctx.private(text)]


class PlanningChangeRoute(TeamCommandRoute):
    """``/quickscan planning <naam> <waarde>`` or ``planning standaard`` (coordinator)."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.PLANNING})
    coordinator_only = True
    replans = True

    def __init__(self, *, store: Store, checklists: ChecklistStore | None = None) -> None:
        self._store = store
        self._checklists = checklists or ChecklistStore(engine=store.engine, cipher=store.cipher)

    def takes(self, command: Command) -> bool:
        """With arguments only."""
        return bool(command.args)

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """Change the planning; the new planning is announced (and a moved deadline)."""
        reply = set_planning(
            store=self._store, team=team, args=command.args, texts=ctx.texts, now=ctx.now
        )
        moved = _moved(ctx, reply, store=self._store, checklists=self._checklists)
        return [announce_or_refuse(ctx, reply), *moved]
