"""``/quickscan`` in the team channel: roles and the round lifecycle.

Errors and help go back only to the person who typed the command (ephemeral),
so a mistake never clutters the team channel; results and announcements go to
the channel.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from bot.calendar.deadline import SCHOOL_TZ, DeadlineError, looks_like_date, parse_deadline
from bot.commands.calendar import (
    Reply,
    describe,
    describe_planning,
    set_holiday,
    set_municipality,
    set_planning,
    set_region,
)
from bot.commands.parse import Command, Sub, parse_command
from bot.core.ports import Roster
from bot.core.roles import ensure_team_for
from bot.privacy.policy import RetentionPolicy
from bot.results.labels import LabelRules
from bot.results.service import Results
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue, available_locales
from conversations.core.messages import Destination, Inbound, Outbound
from conversations.core.text_input import parse_bounded_decimal, parse_bounded_int, quote, user_ref
from conversations.instrument import Quickscan
from conversations.quickscan.walkthrough import Walkthrough
from storage.keys import TeamKey
from storage.quickscan.records import (
    MIN_RESPONDENTS_FLOOR,
    RoundAlreadyOpenError,
    RoundNotOpenError,
    Team,
)
from storage.quickscan.store import Store
from storage.schedule.store import ScheduleStore

# The largest "minimum respondents" a team can set: beyond any school team, and
# far inside every integer column.
MAX_MIN_RESPONDENTS = 500
# ``/quickscan coordinator verwijder @naam`` (or ``remove``).
REMOVE_WORDS = frozenset({"verwijder", "verwijderen", "remove"})
JOIN_TOKEN_BYTES = 12  # 16 URL-safe characters: unguessable, and fits a deep link
COORDINATOR_ONLY = frozenset(
    {
        Sub.START,
        Sub.SLUIT,
        Sub.COORDINATOR,
        Sub.MINIMUM,
        Sub.TAAL,
        Sub.EXPORT,
        Sub.REGIO,
        Sub.GEMEENTE,
        Sub.VAKANTIE,
    }
)


class TeamCommands:
    """Executes team-channel commands against the store."""

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan],
        roster: Roster,
        clock: Clock,
        walkthrough: Walkthrough,
        results: Results,
        default_instrument: str,
        retention: RetentionPolicy | None = None,
    ) -> None:
        self._retention = retention or RetentionPolicy()
        self._results = results
        self._store = store
        self._instruments = instruments
        self._roster = roster
        self._clock = clock
        self._walkthrough = walkthrough
        self._default_instrument = default_instrument

    def handle(self, event: Inbound) -> list[Outbound]:
        """One ``/quickscan ...`` message in, replies out."""
        key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
        team = ensure_team_for(store=self._store, event=event, now=self._clock.now())
        texts = Catalogue(team.locale)
        command = parse_command(event.text)
        if command.sub is None:
            return [self._private(event, texts.t("cmd.unknown", word=quote(command.word)))]
        if command.sub in COORDINATOR_ONLY and not self._may_manage(event, key):
            return [self._refuse_manage(event, key, texts)]
        handlers: dict[Sub, Callable[[Inbound, TeamKey, Team, Command, Catalogue], list[Outbound]]]
        handlers = {
            Sub.START: self._start,
            Sub.STATUS: self._status,
            Sub.SLUIT: self._close,
            Sub.HELP: self._help,
            Sub.COORDINATOR: self._add_coordinator,
            Sub.MINIMUM: self._minimum,
            Sub.TAAL: self._language,
            Sub.EXPORT: self._export,
            Sub.GRAFIEK: self._chart,
            Sub.DREMPEL: self._thresholds,
            Sub.REGIO: self._calendar,
            Sub.GEMEENTE: self._calendar,
            Sub.VAKANTIE: self._calendar,
            Sub.KALENDER: self._calendar,
            Sub.PLANNING: self._planning,
        }
        handler = handlers.get(command.sub)
        if handler is None:  # a subcommand routed elsewhere (checklist, privacy)
            return [self._private(event, texts.t("cmd.unknown", word=quote(command.word)))]
        return handler(event, key, team, command, texts)

    # --------------------------------------------------------------- commands

    def _start(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        instrument_id = self._default_instrument
        deadline = None
        now = self._clock.now()
        for arg in command.args:
            if arg.lower() in self._instruments:
                instrument_id = arg.lower()
            elif looks_like_date(arg):
                try:
                    deadline = parse_deadline(arg, now=now)
                except DeadlineError as error:
                    reason = f"start.deadline_{error}"
                    return [self._private(event, texts.t(reason, text=quote(arg)))]
            else:
                return [
                    self._private(
                        event,
                        texts.t(
                            "start.bad_argument",
                            text=quote(arg),
                            instruments=", ".join(sorted(self._instruments)),
                        ),
                    )
                ]
        open_round = self._store.current_round(key=key)
        if open_round is not None:
            return [self._private(event, texts.t("start.already_open"))]
        members = list(self._roster.members(team=key))
        if not any(member.user == event.sender.user for member in members):
            members.insert(0, event.sender)
        try:
            round_ = self._store.open_round(
                key=key,
                instrument_id=instrument_id,
                opened_by=event.sender.user,
                deadline=deadline,
                now=now,
                join_token=secrets.token_urlsafe(JOIN_TOKEN_BYTES),
            )
        except RoundAlreadyOpenError:
            return [self._private(event, texts.t("start.already_open"))]
        replies: list[Outbound] = []
        for member in members:
            participation, _new = self._store.invite(
                key=key,
                round_id=round_.id,
                user=member.user,
                display_name=member.display_name,
                now=now,
            )
            replies.append(
                self._walkthrough.invitation(
                    participation=participation, opened_by=event.sender.display_name
                )
            )
        instrument = self._instruments[instrument_id]
        announce = texts.t(
            "start.announce",
            coordinator=event.sender.display_name,
            title=instrument.title,
            invited=len(members),
        )
        if deadline is not None:
            announce += "\n" + texts.t("start.deadline", deadline=_format_day(deadline))
        announcement = replace(self._channel(key, announce), join_token=round_.join_token)
        return [announcement, *replies]

    def _status(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        if command.args:
            return [self._private(event, texts.t("input.status_usage"))]
        round_ = self._store.current_round(key=key)
        if round_ is None:
            return [self._private(event, texts.t("status.none"))]
        counts = self._store.round_counts(key=key, round_id=round_.id)
        text = texts.t(
            "status.counts",
            invited=counts.invited,
            started=counts.started,
            finished=counts.finished,
            minimum=team.min_respondents,
        )
        if round_.deadline is not None:
            text += "\n" + texts.t("start.deadline", deadline=_format_day(round_.deadline))
        replies = [self._channel(key, text)]
        unreachable = [
            p.display_name
            for p in self._store.participations(key=key, round_id=round_.id)
            if p.unreachable_at is not None
        ]
        if unreachable and self._may_manage(event, key):
            names = ", ".join(sorted(unreachable))
            replies.append(self._private(event, texts.t("status.unreachable", names=names)))
        return replies

    def _close(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        round_ = self._store.current_round(key=key)
        if round_ is None:
            return [self._private(event, texts.t("close.none"))]
        try:
            closed = self._store.close_round(key=key, round_id=round_.id, now=self._clock.now())
        except RoundNotOpenError:
            return [self._private(event, texts.t("close.none"))]
        return self._results.result_messages(team=team, round_=closed)

    def _export(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        round_ = self._results.latest_closed(key=key)
        if round_ is None:
            return [self._private(event, texts.t("export.none"))]
        message = self._results.export_message(team=team, round_=round_, user=event.sender.user)
        if message is None:
            return [self._private(event, texts.t("export.too_few"))]
        return [self._private(event, texts.t("export.sending")), message]

    def _chart(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        per_item = bool(command.args) and command.args[0].lower() in {"vragen", "questions"}
        if command.args and not per_item:
            return [self._private(event, texts.t("chart.usage"))]
        round_ = self._results.latest_closed(key=key)
        if round_ is None:
            return [self._private(event, texts.t("export.none"))]
        message = self._results.chart_message(team=team, round_=round_, per_item=per_item)
        if message is None:
            return [self._private(event, texts.t("export.too_few"))]
        return [message]

    def _thresholds(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        if not command.args:
            return [self._private(event, _describe_rules(team, texts))]
        if not self._may_manage(event, key):
            return [self._refuse_manage(event, key, texts)]
        if command.args[0].lower() in {"standaard", "default"} and len(command.args) == 1:
            updated = self._store.update_team(key=key, label_rules={})
            return [self._channel(key, _describe_rules(updated, texts))]
        if len(command.args) != 2 or command.args[0] not in LabelRules.names():
            return [
                self._private(
                    event, texts.t("threshold.usage", names=", ".join(LabelRules.names()))
                )
            ]
        name, raw = command.args
        value = _parse_threshold(name, raw)
        if value is None:
            reply = texts.t("threshold.bad_value", name=name, text=quote(raw))
            return [self._private(event, reply)]
        updated = self._store.update_team(key=key, label_rules={**team.label_rules, name: value})
        return [self._channel(key, _describe_rules(updated, texts))]

    def _calendar(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        """Region, municipality, own holiday dates, or the calendar overview."""
        if command.sub is Sub.KALENDER:
            pings = ScheduleStore(engine=self._store.engine).pings(key=key)
            overview = describe(team=team, pings=pings, now=self._clock.now(), texts=texts)
            return [self._private(event, overview)]
        if not command.args:
            return [self._private(event, texts.t(f"calendar.usage_{command.sub}"))]
        text = " ".join(command.args)
        if command.sub is Sub.REGIO:
            reply = set_region(store=self._store, team=team, text=text, texts=texts)
        elif command.sub is Sub.GEMEENTE:
            reply = set_municipality(store=self._store, team=team, text=text, texts=texts)
        else:
            reply = set_holiday(store=self._store, team=team, args=command.args, texts=texts)
        return [self._announce_or_refuse(event, key, reply)]

    def _planning(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        """Show (anyone) or change (coordinator) when the checklist rounds are planned."""
        if not command.args:
            return [self._private(event, describe_planning(team=team, texts=texts))]
        if not self._may_manage(event, key):
            return [self._refuse_manage(event, key, texts)]
        reply = set_planning(store=self._store, team=team, args=command.args, texts=texts)
        return [self._announce_or_refuse(event, key, reply)]

    def _help(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        named = ", ".join(self._store.coordinators(key=key))
        # Nobody named yet: on Telegram the group's admins manage the team; elsewhere
        # whoever first starts a round becomes coordinator (there are no admins to name).
        nobody = "help.admins_only" if event.admins_known else "input.help_no_coordinator"
        coordinators = named or texts.t(nobody)
        # The retention policy is part of the help, so every member can see it.
        privacy = texts.t(
            "privacy.help",
            months=self._retention.answer_months,
            days=self._retention.event_days,
        )
        text = texts.t("help.text", coordinators=coordinators) + "\n\n" + privacy
        return [self._private(event, text)]

    def _add_coordinator(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        if command.args and command.args[0].lower() in REMOVE_WORDS:
            return self._remove_coordinator(event, key, command, texts)
        if len(command.args) != 1:
            return [self._private(event, texts.t("coordinator.usage"))]
        user = user_ref(command.args[0])
        if user is None:
            return [self._bad_name(event, command.args[0], texts)]
        added = self._store.add_coordinator(
            key=key, user=user, added_by=event.sender.user, now=self._clock.now()
        )
        text_key = "coordinator.added" if added else "coordinator.already"
        return [self._channel(key, texts.t(text_key, user=user))]

    def _remove_coordinator(
        self, event: Inbound, key: TeamKey, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        """``coordinator verwijder @naam``: one fewer coordinator, never none."""
        if len(command.args) != 2:
            return [self._private(event, texts.t("input.coordinator_remove_usage"))]
        user = user_ref(command.args[1])
        if user is None:
            return [self._bad_name(event, command.args[1], texts)]
        if self._store.remove_coordinator(key=key, user=user):
            return [self._channel(key, texts.t("input.coordinator_removed", user=user))]
        still = self._store.is_coordinator(key=key, user=user)
        reason = "input.coordinator_last" if still else "input.coordinator_not_one"
        return [self._private(event, texts.t(reason, user=quote(user)))]

    def _minimum(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        if len(command.args) != 1:
            return [self._private(event, texts.t("minimum.usage", floor=MIN_RESPONDENTS_FLOOR))]
        value = parse_bounded_int(command.args[0], low=0, high=MAX_MIN_RESPONDENTS)
        if value is None:
            reply = texts.t(
                "input.minimum_range", floor=MIN_RESPONDENTS_FLOOR, max=MAX_MIN_RESPONDENTS
            )
            return [self._private(event, reply)]
        if value < MIN_RESPONDENTS_FLOOR:
            return [self._private(event, texts.t("minimum.too_low", floor=MIN_RESPONDENTS_FLOOR))]
        self._store.update_team(key=key, min_respondents=value)
        return [self._channel(key, texts.t("minimum.set", value=value))]

    def _language(
        self, event: Inbound, key: TeamKey, team: Team, command: Command, texts: Catalogue
    ) -> list[Outbound]:
        locales = available_locales()
        if len(command.args) != 1 or command.args[0].lower() not in locales:
            return [self._private(event, texts.t("language.usage", locales=", ".join(locales)))]
        locale = command.args[0].lower()
        self._store.update_team(key=key, locale=locale)
        return [self._channel(key, Catalogue(locale).t("language.set"))]

    # ---------------------------------------------------------------- helpers

    def _may_manage(self, event: Inbound, key: TeamKey) -> bool:
        """Coordinators, and the platform's own channel administrators."""
        return event.sender_is_admin or self._store.is_coordinator(key=key, user=event.sender.user)

    def _bad_name(self, event: Inbound, typed: str, texts: Catalogue) -> Outbound:
        """``@naam`` that cannot name anyone: said privately, quoted bounded."""
        return self._private(event, texts.t("input.coordinator_bad_name", text=quote(typed)))

    def _refuse_manage(self, event: Inbound, key: TeamKey, texts: Catalogue) -> Outbound:
        """The private "coordinators only" answer; in a team without any, how to become one."""
        if not event.admins_known and not self._store.coordinators(key=key):
            return self._private(event, texts.t("input.no_coordinator_yet"))
        return self._private(event, texts.t("cmd.not_coordinator"))

    def _announce_or_refuse(self, event: Inbound, key: TeamKey, reply: Reply) -> Outbound:
        """A change is announced in the channel; a refusal goes only to the sender."""
        if reply.changed:
            return self._channel(key, reply.text)
        return self._private(event, reply.text)

    @staticmethod
    def _private(event: Inbound, text: str) -> Outbound:
        return Outbound(
            destination=Destination.ephemeral(team=event.team, user=event.sender.user), text=text
        )

    @staticmethod
    def _channel(key: TeamKey, text: str) -> Outbound:
        return Outbound(destination=Destination.team_channel(team=key.team), text=text)


def _format_day(moment: datetime) -> str:
    """A deadline as the Dutch date people write (``15-12-2026``)."""
    return moment.astimezone(SCHOOL_TZ).strftime("%d-%m-%Y")


MEAN_RULE = "werkpunt_gemiddelde"


def _parse_threshold(name: str, raw: str) -> float | None:
    """A percentage (0-100) for the share rules, a score for the mean rule; None if invalid.

    Plain digits only: ``float`` would also take ``nan``, ``1e2`` or Arabic-Indic digits.
    """
    if name == MEAN_RULE:
        return parse_bounded_decimal(raw, low=1, high=5)
    percentage = parse_bounded_decimal(raw.removesuffix("%"), low=0, high=100)
    return None if percentage is None else percentage / 100


def _describe_rules(team: Team, texts: Catalogue) -> str:
    rules = LabelRules.from_mapping(team.label_rules)
    lines = [texts.t("threshold.title")]
    for name, value in rules.as_mapping().items():
        shown = f"{value:g}".replace(".", ",") if name == MEAN_RULE else f"{round(value * 100)} %"
        lines.append(texts.t(f"threshold.{name}", value=shown))
    lines.append(texts.t("threshold.how"))
    return "\n".join(lines)
