"""The paired survey's result as text: the channel post and its details.

The post is what a team meeting starts from: participation, the suggested priorities
(important, but not yet going well) with the figures behind each, and the rule that
chose them, so a coordinator can repeat why. The details list every statement per
section: the three categories of experience and of importance, and the gap.

Only a :class:`~bot.results.paired.PairedResult` reaches this module, and it carries
no more than its tier allows (bot/results/paired_freeze.py), so nothing here can show a
figure of too small a group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from bot.results.anonymity import (
    EXACT_MINIMUM,
    Tier,
    comparison_minimum,
    participation_only_note,
)
from bot.results.paired import PairedResult, StatementResult
from bot.results.paired_gap import IMPORTANT_SHARE, MIN_GAP, Shares
from bot.results.text import percent
from conversations.core.cldr import format_list
from conversations.core.i18n import Catalogue


def points(texts: Catalogue, share: float) -> str:
    """A difference of shares in whole percentage points, with its sign when negative."""
    return texts.t("survey.points", count=round(share * 100))


def render_paired(*, result: PairedResult, texts: Catalogue) -> tuple[str, str | None]:
    """The headline post and the detailed follow-up (None unless exact)."""
    lines = [
        texts.t("survey.result.title", title=result.title),
        texts.t(
            "survey.result.participation", respondents=result.respondents, count=result.invited
        ),
    ]
    if result.tier is Tier.NONE:
        key, values = participation_only_note(
            labels_withheld=result.labels_withheld,
            respondents=result.respondents,
            min_respondents=result.min_respondents,
            too_few="survey.result.too_few",
        )
        return "\n".join([*lines, "", texts.t(key, **values)]), None
    if result.tier is Tier.COARSE:
        return "\n".join(lines + _coarse(result, texts)), None
    lines += ["", *_priorities(result, texts), "", texts.t("survey.result.see_details")]
    return "\n".join(lines), "\n".join(_details(result, texts))


def _coarse(result: PairedResult, texts: Catalogue) -> list[str]:
    """The coarse tier: per section one label per list, no figure at all."""
    high, low = result.coarse_codes
    lines = [
        "",
        texts.t(
            "survey.coarse.intro",
            exact=EXACT_MINIMUM,
            high=_joined(high, texts),
            low=_joined(low, texts),
        ),
    ]
    if result.compared:
        lines.append(
            texts.t("anonymity.compared", minimum=comparison_minimum(result.min_respondents))
        )
    lines.append("")
    if not result.coarse:
        lines.append(texts.t("survey.coarse.none"))
        return lines
    codes = {"high": _joined(high, texts, style="or"), "low": _joined(low, texts, style="or")}
    for line in result.coarse:
        experience = (
            texts.t(f"survey.coarse.experience.{line.experience.value}", **codes)
            if line.experience is not None
            else "–"
        )
        importance = (
            texts.t(f"survey.coarse.importance.{line.importance.value}", **codes)
            if line.importance is not None
            else "–"
        )
        lines.append(
            texts.t(
                "survey.coarse.line",
                section=line.section,
                experience=experience,
                importance=importance,
            )
        )
    return lines


def _joined(
    codes: Sequence[str], texts: Catalogue, *, style: Literal["standard", "or"] = "standard"
) -> str:
    """Answer codes the reader's way: "3 en 4", or "3 of 4"."""
    return format_list(list(codes), style=style, locale=texts.locale) if codes else "–"


def _priorities(result: PairedResult, texts: Catalogue) -> list[str]:
    """The suggested priorities with their figures, and the rule that chose them."""
    rule = texts.t(
        "survey.result.rule", important=percent(IMPORTANT_SHARE), gap=points(texts, MIN_GAP)
    )
    chosen = result.priorities()
    if not chosen:
        return [texts.t("survey.result.no_priorities"), rule]
    lines = [texts.t("survey.result.priorities_title")]
    for rank, statement in enumerate(chosen, 1):
        lines.append(
            texts.t(
                "survey.result.priority",
                rank=rank,
                number=statement.number,
                name=statement.name,
                important=percent(statement.important),
                good=percent(statement.good),
                gap=points(texts, statement.gap or 0.0),
            )
        )
    lines.append(rule)
    return lines


def _details(result: PairedResult, texts: Catalogue) -> list[str]:
    """Every statement per section: experience, importance, the gap and its change."""
    experience_labels, importance_labels = result.categories
    lines = [texts.t("survey.result.details_title")]
    section = None
    for statement in result.statements:
        if statement.section != section:
            section = statement.section
            lines += ["", texts.t("survey.result.section", section=section)]
        lines += [
            texts.t("survey.result.statement", number=statement.number, name=statement.name),
            texts.t(
                "survey.result.experience",
                shares=_shares(statement.experience, experience_labels),
            ),
            texts.t(
                "survey.result.importance",
                shares=_shares(statement.importance, importance_labels),
            ),
            _gap_line(statement, texts),
        ]
    if result.has_trend:
        lines += ["", texts.t("survey.result.trend_note")]
    return lines


def _shares(shares: Shares, labels: tuple[str, str, str]) -> str:
    """ "goed 17 % · redelijk 50 % · nauwelijks / niet 33 %" (the category labels are data)."""
    return " · ".join(
        f"{label} {percent(shares.share(count))}"
        for label, count in zip(labels, shares.counts, strict=True)
    )


def _gap_line(statement: StatementResult, texts: Catalogue) -> str:
    gap = statement.gap
    if gap is None:
        return texts.t("survey.result.no_gap")
    change = statement.gap_change
    if change is None or statement.before_gap is None:
        return texts.t("survey.result.gap", gap=points(texts, gap))
    return texts.t(
        "survey.result.gap_trend",
        gap=points(texts, gap),
        before=points(texts, statement.before_gap),
        change=_signed(texts, change),
    )


def _signed(texts: Catalogue, change: float) -> str:
    """A change of the gap with its sign: "+10 procentpunten", "-5 …", "0 …"."""
    text = points(texts, change)
    return f"+{text}" if round(change * 100) > 0 else text
