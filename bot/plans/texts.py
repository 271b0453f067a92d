"""How the plan reads: dates, factor names, the support share and the plan itself.

Every sentence comes from the catalogue (``locale/<locale>.plan.toml``). The
support share follows the result's anonymity tiers (bot/results/anonymity.py):
nothing below the team's minimum, one coarse sentence from the minimum up to 4
votes, exact percentages from 5. The coarse sentence only says whether more than
half back the plan: "twijfel" and "geen steun" are one group there, so nobody's
doubt can be told from a refusal (see docs/plan.md for what remains).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.commands.common import format_day
from bot.results.anonymity import Tier, tier_for
from conversations.core import cldr
from conversations.core.i18n import Catalogue
from conversations.instrument import Quickscan
from storage.plans.records import Plan, Vote


def day_text(texts: Catalogue, day: date) -> str:
    """A date the Dutch way with its full weekday: ``vrijdag 13-03-2026`` (CLDR's name)."""
    return cldr.format_day(day, "EEEE dd-MM-yyyy", locale=texts.locale)


def factor_names(instrument: Quickscan | None, *, factors: Sequence[int]) -> str:
    """``3 Bereikbaarheid, 7 Ouders als partner``: the numbers with their names."""
    names = []
    for number in factors:
        try:
            name = instrument.factor(number).short_name if instrument is not None else ""
        except (KeyError, LookupError, ValueError):
            name = ""
        names.append(f"{number} {name}".strip())
    return ", ".join(names)


def support_share(texts: Catalogue, *, counts: Mapping[Vote, int], minimum: int) -> str:
    """The support share as the tier allows: nothing, one coarse sentence, or exact."""
    votes = sum(counts.values())
    tier = tier_for(respondents=votes, minimum=minimum)
    if tier is Tier.NONE:
        return texts.t("plan.share.too_few", count=votes, minimum=minimum)
    if tier is Tier.COARSE:
        key = "plan.share.most" if counts[Vote.STEUN] * 2 > votes else "plan.share.not_most"
        return texts.t(key, count=votes)
    shares = {vote: round(counts[vote] * 100 / votes) for vote in Vote}
    return texts.t(
        "plan.share.exact",
        count=votes,
        steun=shares[Vote.STEUN],
        twijfel=shares[Vote.TWIJFEL],
        geen=shares[Vote.GEEN],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanView:
    """What a plan's text needs besides the plan itself.

    Attributes:
        instrument: The closed round's instrument (factor names), if installed.
        round_closed: When the answered round closed (shown as its school-time day).
        support: The support line (already tiered), or None to leave it out.
        next_round: The next round's day, and whether the rule made it.
    """

    instrument: Quickscan | None
    round_closed: datetime
    support: str | None
    next_round: tuple[date, bool] | None


def plan_lines(texts: Catalogue, *, plan: Plan, view: PlanView) -> list[str]:
    """The plan's parts, one line each; what is not set yet says so."""
    unset = texts.t("plan.unset")
    factors = factor_names(view.instrument, factors=plan.factors) if plan.factors else unset
    lines = [
        texts.t("plan.line.round", date=format_day(view.round_closed)),
        texts.t("plan.line.factors", factors=factors),
        texts.t("plan.line.step", step=plan.step or unset),
        texts.t("plan.line.owner", owner=plan.owner_name or plan.owner_ref or unset),
        texts.t(
            "plan.line.date",
            date=day_text(texts, plan.due_date) if plan.due_date else unset,
        ),
    ]
    if view.support is not None:
        lines.append(texts.t("plan.line.support", support=view.support))
    if view.next_round is not None:
        day, by_rule = view.next_round
        rule = texts.t("plan.next_rule" if by_rule else "plan.next_chosen")
        lines.append(texts.t("plan.line.next", date=day_text(texts, day), rule=rule))
    return lines
