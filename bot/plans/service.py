"""The team's plan: which plan is current, what it is made of, and how it reads.

A plan answers the team's latest closed round (seed 000, last page: priority,
support in the team, first step). The coordinator records it part by part with
``/quickscan plan ...`` (bot/commands/plan.py); this service finds the plan and
the round it answers, checks the parts, and renders the plan for the channel and
for ``/quickscan plan``. A newer closed round makes a new plan the current one:
the older plan's open support question is dropped then, its votes deleted.
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
        results: Results,
        instruments: Mapping[str, Quickscan],
        roster: Roster,
    ) -> None:
        self.store = store
        self.plans = plans
        self._results = results
        self._snapshots = ResultStore(engine=store.engine)
        self._instruments = instruments
        self._roster = roster

    # ----------------------------------------------------------------- lookups

    def current(self, *, key: TeamKey) -> Current | None:
        """The latest closed round and its plan; None before any round closed."""
        round_ = self._results.latest_closed(key=key)
        if round_ is None:
            return None
        return Current(round_=round_, plan=self.plans.for_round(key=key, round_id=round_.id))

    def ensure(self, *, key: TeamKey, round_: Round, now: datetime) -> Plan:
        """The plan of ``round_``, started now if needed; older plans' questions close."""
        plan = self.plans.ensure(key=key, round_id=round_.id, now=now)
        older = [p.id for p in self.plans.plans(key=key) if p.id != plan.id and p.support_open]
        self.plans.drop_support(plan_ids=older, now=now)
        return plan

    def instrument(self, round_: Round) -> Quickscan | None:
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
        instrument = self.instrument(round_)
        snapshot = self.snapshot(team=team, round_=round_)
        if instrument is None or snapshot is None:
            return ()
        suggestions = suggest(instrument=instrument, result=snapshot.result(instrument=instrument))
        return tuple(priority.factor.number for priority in suggestions.priorities)

    def members(self, *, key: TeamKey, round_: Round) -> list[Sender]:
        """Who the team is: the channel's members, plus whoever took part in ``round_``.

        The roster is asked first (the engine prefetched it outside the transaction
        for the commands that need it); a platform that cannot list the channel
        leaves the round's participants, who are members too.
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
        if not named and plan.agreed_by:
            named.append(plan.agreed_by)
        return named

    # ----------------------------------------------------------------- days

    def next_round(self, *, team: Team, plan: Plan, round_: Round) -> tuple[date, bool]:
        """The next round's day and whether the rule chose it (else the coordinator)."""
        if plan.next_round_date is not None:
            return plan.next_round_date, not plan.next_round_chosen
        closed = school.local_day(round_.closed_at or round_.opened_at)
        return school.default_next_round(days_for(team), closed), True

    # ----------------------------------------------------------------- text

    def lines(
        self, *, team: Team, plan: Plan, round_: Round, texts: Catalogue, with_support: bool
    ) -> list[str]:
        """The plan's parts as lines, the support share as the tiers allow."""
        support = None
        if with_support:
            support = self.support_line(team=team, plan=plan, texts=texts)
        view = PlanView(
            instrument=self.instrument(round_),
            round_closed=school.local_day(round_.closed_at or round_.opened_at),
            support=support,
            next_round=self.next_round(team=team, plan=plan, round_=round_),
        )
        return plan_lines(texts, plan, view)

    def support_line(self, *, team: Team, plan: Plan, texts: Catalogue) -> str:
        """What the support question shows: never a share while it is open."""
        if plan.support_counts is not None:
            return support_share(texts, counts=plan.support_counts, minimum=team.min_respondents)
        if plan.support_open:
            tally = self.plans.tally(plan_id=plan.id)
            return texts.t(
                "plan.support_open",
                count=tally.votes,
                asked=tally.asked,
                minimum=team.min_respondents,
            )
        return texts.t("plan.support_none")


def valid_factors(instrument: Quickscan | None) -> Sequence[int]:
    """The success-factor numbers a priority may name."""
    return sorted(factor.number for factor in instrument.factors) if instrument else ()
