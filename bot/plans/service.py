"""The team's plan: which plan is current, what it is made of, and how it reads.

A plan answers the team's latest closed round (seed 000, last page: priority,
support in the team, first step). The coordinator records it part by part with
``/quickscan plan ...`` (bot/commands/plan.py); this service finds the plan and
the round it answers, checks the parts, and renders the plan for the channel and
for ``/quickscan plan``. A newer closed round makes a new plan the current one:
the older plan's open support question is dropped when that round closes, its
votes deleted (bot/plans/progress.py, in the round's close transaction).

A paired survey (the mentor survey ``ervaring-belang``) has no success factors,
so its rounds are never planned: the plan answers the latest closed round of an
instrument with success factors, whatever closed after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.calendar.team_calendar import days_for
from bot.core.ports import Roster, RosterUnavailableError
from bot.plans import days as school
from bot.plans.texts import PlanView, plan_lines, support_share
from bot.results.priorities import suggest
from bot.results.service import Results
from bot.results.snapshot import RoundSnapshot
from conversations.core.i18n import Catalogue
from conversations.core.messages import Sender
from conversations.instrument import Quickscan
from storage.checklist.lifecycle import ERASED_USER
from storage.keys import TeamKey
from storage.plans.records import Plan
from storage.plans.store import PlanStore
from storage.quickscan.records import Round, Team
from storage.quickscan.store import Store
from storage.results.store import ResultStore


@dataclass(frozen=True, slots=True, kw_only=True)
class Current:
    """The team's latest closed round and its plan (None until a part is recorded)."""

    round_: Round
    plan: Plan | None


class PlanService:
    """Finds, checks and renders the team's plan; the routes and pings share it."""

    def __init__(
        self,
        *,
        store: Store,
        plans: PlanStore,
        snapshots: ResultStore,
        results: Results,
        instruments: Mapping[str, Quickscan],
        roster: Roster,
    ) -> None:
        self.store = store
        self.plans = plans
        self._results = results
        self._snapshots = snapshots
        self._instruments = instruments
        self._roster = roster

    # ----------------------------------------------------------------- lookups

    def current(self, *, key: TeamKey) -> Current | None:
        """The latest closed round with success factors and its plan; None before one closed.

        A paired survey's round (no success factors, ``paired`` set) closing later
        leaves the plan where it is: its pings and ``/quickscan plan`` go on.
        """
        closed = [
            round_
            for instrument_id, instrument in self._instruments.items()
            if instrument.paired is None
            for round_ in self.store.closed_rounds(key=key, instrument_id=instrument_id)
        ]
        round_ = max(closed, key=lambda r: (r.closed_at or r.opened_at, r.id), default=None)
        if round_ is None:
            return None
        return Current(round_=round_, plan=self.plans.for_round(key=key, round_id=round_.id))

    def is_current(self, *, plan: Plan) -> bool:
        """Whether ``plan`` answers the team's latest closed round (older plans get nothing)."""
        current = self.current(key=plan.team)
        return current is not None and current.plan is not None and current.plan.id == plan.id

    def ensure(self, *, key: TeamKey, round_: Round, now: datetime) -> Plan:
        """The plan of ``round_``, started now if needed (only on a change's write path)."""
        return self.plans.ensure(key=key, round_id=round_.id, now=now)

    def instrument(self, *, round_: Round) -> Quickscan | None:
        """The round's instrument, if it is still installed."""
        return self._instruments.get(round_.instrument_id)

    def snapshot(self, *, team: Team, round_: Round) -> RoundSnapshot | None:
        """The round's frozen result (frozen now if it closed before snapshots existed)."""
        stored = self._snapshots.load(key=team.key, round_id=round_.id)
        if stored is None and round_.instrument_id in self._instruments:
            self._results.ensure_snapshot(team=team, round_=round_)
            stored = self._snapshots.load(key=team.key, round_id=round_.id)
        return None if stored is None else RoundSnapshot.from_json(stored)

    def suggested(self, *, team: Team, round_: Round) -> tuple[int, ...]:
        """The result's suggested priorities (factor numbers), the default to offer."""
        instrument = self.instrument(round_=round_)
        snapshot = self.snapshot(team=team, round_=round_)
        if instrument is None or snapshot is None:
            return ()
        suggestions = suggest(instrument=instrument, result=snapshot.result(instrument=instrument))
        return tuple(priority.factor.number for priority in suggestions.priorities)

    def members(self, *, key: TeamKey, round_: Round) -> list[Sender]:
        """Who the team is: the channel's members, plus whoever took part in ``round_``.

        The engine asked the roster before the transaction (the commands that need
        it, and the next round's ping). Only the ping gets here with a platform
        that cannot list the channel (a command is refused privately before, in
        the platform's words): the round then goes to the last round's
        participants, who are members too.
        """
        try:
            found = list(self._roster.members(team=key))
        except RosterUnavailableError:
            found = []
        known = {member.user for member in found}
        for participation in self.store.participations(key=key, round_id=round_.id):
            if participation.key.user not in known:
                known.add(participation.key.user)
                found.append(
                    Sender(user=participation.key.user, display_name=participation.display_name)
                )
        return found

    def find_member(self, *, key: TeamKey, round_: Round, typed: str) -> Sender | None:
        """The member ``@naam`` names: by platform id, else by name (case ignored)."""
        members = self.members(key=key, round_=round_)
        for member in members:
            if member.user == typed:
                return member
        wanted = typed.casefold()
        named = [member for member in members if member.display_name.casefold() == wanted]
        return named[0] if len(named) == 1 else None

    def coordinators(self, *, key: TeamKey, plan: Plan) -> list[str]:
        """Who is told privately: the coordinators, or who agreed the plan (Telegram admins)."""
        named = list(self.store.coordinators(key=key))
        if not named and plan.agreed_by and plan.agreed_by != ERASED_USER:
            named.append(plan.agreed_by)  # an erased coordinator is nobody to tell
        return named

    # ----------------------------------------------------------------- days

    def next_round(self, *, team: Team, plan: Plan, round_: Round) -> tuple[date, bool]:
        """The next round's day and whether the rule chose it (else the coordinator)."""
        if plan.next_round_date is not None:
            return plan.next_round_date, not plan.next_round_chosen
        closed = school.local_day(round_.closed_at or round_.opened_at)
        return school.default_next_round(days_for(team), closed=closed), True

    # ----------------------------------------------------------------- text

    def lines(
        self,
        *,
        team: Team,
        plan: Plan,
        round_: Round,
        texts: Catalogue,
        with_support: bool,
        public: bool = False,
    ) -> list[str]:
        """The plan's parts as lines, the support share as the tiers allow.

        ``public``: for the channel, where an open question never shows its count.
        """
        support = None
        if with_support:
            support = self.support_line(team=team, plan=plan, texts=texts, public=public)
        view = PlanView(
            instrument=self.instrument(round_=round_),
            round_closed=round_.closed_at or round_.opened_at,
            support=support,
            next_round=self.next_round(team=team, plan=plan, round_=round_),
        )
        return plan_lines(texts, plan=plan, view=view)

    def support_line(self, *, team: Team, plan: Plan, texts: Catalogue, public: bool) -> str:
        """What the support question shows: never a share while it is open.

        The channel sees the count of an open question only once, at the minimum
        (bot/plans/support.py), so a ``public`` line leaves it out.
        """
        if plan.support_counts is not None:
            return support_share(texts, counts=plan.support_counts, minimum=team.min_respondents)
        if plan.support_open:
            if public:
                return texts.t("plan.support_open_public", minimum=team.min_respondents)
            tally = self.plans.tally(plan_id=plan.id)
            return texts.t(
                "plan.support_open",
                count=tally.votes,
                asked=tally.asked,
                minimum=team.min_respondents,
            )
        return texts.t("plan.support_none")


def valid_factors(*, instrument: Quickscan | None) -> Sequence[int]:
    """The success-factor numbers a priority may name."""
    return sorted(factor.number for factor in instrument.factors) if instrument else ()
