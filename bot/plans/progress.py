"""How the planned success factors changed since the team agreed its plan.

When a round closes and the team agreed a plan after an earlier round of the
same instrument, one more channel message follows the result: per planned
factor, the two rounds' frozen snapshots side by side (bot/results/snapshot.py),
showing only what both snapshots' tiers allow. Exact means only when both rounds
have exact figures; else the coarse labels before and after (an exact round's
coarse label is computed from its figures, which it published anyway); else
"te weinig ingevulde quickscans". Both results are already public, so this
message shows nothing the two result posts did not.

The same call, in the round's close transaction, drops the open support
questions of the older plans (and their votes): the closed round makes a new
plan the current one, and a superseded question has nothing left to decide.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands.common import format_day
from bot.plans.texts import factor_names
from bot.results.anonymity import Tier, coarse_label, scale_groups
from bot.results.labels import Label
from bot.results.snapshot import RoundSnapshot
from bot.results.text import number
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Outbound
from conversations.instrument import Quickscan
from storage.plans.records import Plan
from storage.plans.store import PlanStore
from storage.quickscan.records import Round, Team
from storage.quickscan.store import Store
from storage.results.store import ResultStore


def progress_key(round_id: int) -> str:
    """The outbox key of the message: once per closed round."""
    return f"plan-progress:{round_id}"


def _means(snapshot: RoundSnapshot, instrument: Quickscan) -> dict[int, float | None]:
    result = snapshot.result(instrument=instrument)
    return {factor.number: factor.distribution.mean for factor in result.factors()}


def _coarse(snapshot: RoundSnapshot, instrument: Quickscan, factor: int) -> Label | None:
    """The factor's coarse label in this snapshot, or None when it may show none."""
    if snapshot.labels_withheld or snapshot.tier is Tier.NONE:
        return None
    if snapshot.tier is Tier.COARSE:
        return snapshot.coarse_labels.get(factor)
    pooled: dict[str, int] = {}
    for question in instrument.questions_of(factor):
        for code, count in snapshot.item_counts.get(question.id, {}).items():
            pooled[code] = pooled.get(code, 0) + count
    groups = scale_groups(instrument.scale.options)
    return coarse_label(counts=pooled, groups=groups, rules=snapshot.rules)


def _delta(before: float | None, after: float | None, locale: str) -> str:
    if before is None or after is None:
        return "–"
    change = round(after - before, 1)
    sign = "+" if change > 0 else ("±" if change == 0 else "−")
    return sign + number(abs(change), locale=locale)


class PlanProgress:
    """The change on the planned factors, for the message after a round's result."""

    def __init__(self, *, store: Store, instruments: Mapping[str, Quickscan]) -> None:
        self._store = store
        self._plans = PlanStore(engine=store.engine)
        self._snapshots = ResultStore(engine=store.engine)
        self._instruments = instruments

    def messages(self, *, team: Team, round_: Round, after: RoundSnapshot) -> list[Outbound]:
        """The message, or none when no agreed plan of an earlier round can be compared.

        Called when ``round_`` closed, in its transaction: a round with success
        factors supersedes the older plans, so their open questions are dropped.
        """
        instrument = self._instruments.get(round_.instrument_id)
        if instrument is None or instrument.paired is not None:
            return []  # a paired survey has no success factors to plan
        closed = round_.closed_at or round_.opened_at
        self._plans.drop_support(key=team.key, keep_round_id=round_.id, now=closed)
        found = self._earlier_plan(team=team, round_=round_)
        if found is None:
            return []
        plan, before = found
        texts = Catalogue(team.locale)
        lines = [
            texts.t(
                "plan.progress.title",
                date=format_day(plan.agreed_at) if plan.agreed_at else "",
                factors=factor_names(instrument, factors=plan.factors),
            )
        ]
        exact = before.tier is Tier.EXACT and after.tier is Tier.EXACT
        means = (_means(before, instrument), _means(after, instrument)) if exact else None
        for factor in plan.factors:
            name = factor_names(instrument, factors=(factor,))
            if means is not None:
                then, now = means[0].get(factor), means[1].get(factor)
                line = texts.t(
                    "plan.progress.exact",
                    factor=name,
                    before=number(then, locale=texts.locale),
                    after=number(now, locale=texts.locale),
                    delta=_delta(then, now, texts.locale),
                )
            else:
                then_label = _coarse(before, instrument, factor)
                now_label = _coarse(after, instrument, factor)
                if then_label is None or now_label is None:
                    line = texts.t("plan.progress.too_few", factor=name)
                else:
                    line = texts.t(
                        "plan.progress.coarse",
                        factor=name,
                        before=texts.t(f"label.{then_label.value}"),
                        after=texts.t(f"label.{now_label.value}"),
                    )
            lines.append(line)
        return [
            Outbound(
                destination=Destination.team_channel(team=team.key.team),
                text="\n".join(lines),
                key=progress_key(round_.id),
            )
        ]

    def _earlier_plan(self, *, team: Team, round_: Round) -> tuple[Plan, RoundSnapshot] | None:
        """The latest agreed plan of an earlier round of the same instrument, with its result."""
        for plan in self._plans.plans(key=team.key):
            if plan.round_id == round_.id or not plan.agreed or not plan.factors:
                continue
            earlier = self._store.get_round(key=team.key, round_id=plan.round_id)
            if earlier is None or earlier.instrument_id != round_.instrument_id:
                continue
            if earlier.opened_at >= round_.opened_at:
                continue
            stored = self._snapshots.load(key=team.key, round_id=earlier.id)
            return None if stored is None else (plan, RoundSnapshot.from_json(stored))
        return None
