"""``/quickscan start | status | sluit``: a quickscan round's lifecycle in the team channel.

Opening a round invites every member in the same transaction (each invitation
keyed by round and member, so it is queued once); closing it freezes the result
and queues the post in the same transaction too, so neither can be half done.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from bot.calendar.deadline import DeadlineError, looks_like_date, parse_deadline
from bot.commands.common import TeamCommandRoute, format_day
from bot.commands.parse import Command, Sub
from bot.core.context import EventContext
from bot.core.ports import Roster
from bot.results.service import Results
from conversations.core.messages import Destination, Outbound, Sender
from conversations.core.text_input import quote
from conversations.instrument import Quickscan
from conversations.quickscan.walkthrough import Walkthrough
from storage.keys import TeamKey
from storage.quickscan.records import RoundAlreadyOpenError, RoundNotOpenError, Team
from storage.quickscan.store import Store

log = logging.getLogger(__name__)

JOIN_TOKEN_BYTES = 12  # 16 URL-safe characters: unguessable, and fits a deep link


class StartRoute(TeamCommandRoute):
    """``/quickscan start [instrument] [deadline]``: open a round and invite everyone."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.START})
    coordinator_only = True
    replans = True  # a deadline plans its reminders

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan],
        roster: Roster,
        walkthrough: Walkthrough,
        default_instrument: str,
    ) -> None:
        self._store = store
        self._instruments = instruments
        self._roster = roster
        self._walkthrough = walkthrough
        self._default_instrument = default_instrument

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The announcement for the channel, then one invitation per member."""
        texts, key, sender = ctx.texts, ctx.key, ctx.event.sender
        instrument_id = self._default_instrument
        deadline = None
        for arg in command.args:
            if arg.lower() in self._instruments:
                instrument_id = arg.lower()
            elif looks_like_date(arg):
                try:
                    deadline = parse_deadline(arg, now=ctx.now)
                except DeadlineError as error:
                    return [ctx.private(texts.t(f"start.deadline_{error}", text=quote(arg)))]
            else:
                instruments = ", ".join(sorted(self._instruments))
                reply = texts.t("start.bad_argument", text=quote(arg), instruments=instruments)
                return [ctx.private(reply)]
        if self._store.current_round(key=key) is not None:
            return [ctx.private(texts.t("start.already_open"))]
        members = list(self._roster.members(team=key))
        if not any(member.user == sender.user for member in members):
            members.insert(0, sender)
        announce = texts.t(
            "start.announce",
            coordinator=sender.display_name,
            title=self._instruments[instrument_id].title,
            count=len(members),
        )
        if deadline is not None:
            announce += "\n" + texts.t("start.deadline", deadline=format_day(deadline))
            if not team.region:  # no school days to plan on: say so, not silently nothing
                announce += "\n" + texts.t("start.deadline_no_region")
        try:
            return open_round_and_invite(
                store=self._store,
                walkthrough=self._walkthrough,
                key=key,
                instrument_id=instrument_id,
                members=members,
                opened_by=sender,
                deadline=deadline,
                now=ctx.now,
                announcement=announce,
            )
        except RoundAlreadyOpenError:
            return [ctx.private(texts.t("start.already_open"))]


def open_round_and_invite(
    *,
    store: Store,
    walkthrough: Walkthrough,
    key: TeamKey,
    instrument_id: str,
    members: Sequence[Sender],
    opened_by: Sender,
    deadline: datetime | None,
    now: datetime,
    announcement: str,
) -> list[Outbound]:
    """Open a round, invite every member and announce it, in the caller's transaction.

    Shared by ``/quickscan start`` and the round a team's plan opens on its day
    (bot/plans/followup.py), so both invite and announce alike.

    Raises:
        RoundAlreadyOpenError: The team already has an open round (nothing changed).
    """
    round_ = store.open_round(
        key=key,
        instrument_id=instrument_id,
        opened_by=opened_by.user,
        deadline=deadline,
        now=now,
        join_token=secrets.token_urlsafe(JOIN_TOKEN_BYTES),
    )
    invitations: list[Outbound] = []
    for member in members:
        participation, _new = store.invite(
            key=key,
            round_id=round_.id,
            user=member.user,
            display_name=member.display_name,
            now=now,
        )
        invitations.append(
            walkthrough.invitation(participation=participation, opened_by=opened_by.display_name)
        )
    post = Outbound(
        destination=Destination.team_channel(team=key.team),
        text=announcement,
        join_token=round_.join_token,
    )
    log.info(
        "round %d opened on %s/%s/%s: %d invitations queued",
        round_.id,
        key.platform,
        key.workspace,
        key.team,
        len(invitations),
    )
    return [post, *invitations]


class StatusRoute(TeamCommandRoute):
    """``/quickscan status``: counts for everyone; who is unreachable only for coordinators."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.STATUS})

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The counts in the channel; the unreachable members' names privately."""
        texts, key = ctx.texts, ctx.key
        if command.args:
            return [ctx.private(texts.t("input.status_usage"))]
        round_ = self._store.current_round(key=key)
        if round_ is None:
            return [ctx.private(texts.t("status.none"))]
        counts = self._store.round_counts(key=key, round_id=round_.id)
        text = texts.t(
            "status.counts",
            invited=counts.invited,
            started=counts.started,
            finished=counts.finished,
            minimum=team.min_respondents,
        )
        if round_.deadline is not None:
            text += "\n" + texts.t("start.deadline", deadline=format_day(round_.deadline))
        replies = [ctx.to_channel(text)]
        unreachable = [
            p.display_name
            for p in self._store.participations(key=key, round_id=round_.id)
            if p.unreachable_at is not None
        ]
        if unreachable and ctx.is_coordinator:
            names = ", ".join(sorted(unreachable))
            replies.append(ctx.private(texts.t("status.unreachable", names=names)))
        return replies


class CloseRoute(TeamCommandRoute):
    """``/quickscan sluit``: close the round and post the team result, in one transaction."""

    subs: ClassVar[frozenset[Sub]] = frozenset({Sub.SLUIT})
    coordinator_only = True
    replans = True  # a closed round's reminders are no longer due

    def __init__(self, *, store: Store, results: Results) -> None:
        self._store = store
        self._results = results

    def run(self, ctx: EventContext, command: Command, team: Team) -> list[Outbound]:
        """The result post (its chart is drawn at delivery), or why there is nothing to close."""
        round_ = self._store.current_round(key=ctx.key)
        if round_ is None:
            return [ctx.private(ctx.texts.t("close.none"))]
        try:
            closed = self._store.close_round(key=ctx.key, round_id=round_.id, now=ctx.now)
        except RoundNotOpenError:
            return [ctx.private(ctx.texts.t("close.none"))]
        messages = self._results.result_messages(team=team, round_=closed)
        log.info(
            "round %d closed on %s/%s/%s: result queued",
            closed.id,
            ctx.key.platform,
            ctx.key.workspace,
            ctx.key.team,
        )
        return messages
