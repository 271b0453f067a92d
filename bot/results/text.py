"""Renders the team report as text: the console's rendering and every adapter's fallback.

The post is short (participation, grades, the success factors grouped by label,
top priorities with their reasons); the details (per factor and per item, the
discuss / investigate lists, open answers and the questions for the team
meeting) go in a follow-up message or
thread. Only aggregates reach this module: ``TeamResult`` carries no respondent
identities, and below the exact tier it carries no figure at all (bot/anonymity.py):
the coarse tier renders one label per success factor, the lowest participation only.

Every sentence that states a reason or a next step is rendered from numbers the
report carries (bot/results/priorities.py), so it is true by construction; the
scale's codes ("- of --", "+/-") come from the instrument, not from this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.results.anonymity import (
    EXACT_MINIMUM,
    Tier,
    comparison_minimum,
    participation_only_note,
)
from bot.results.distribution import Distribution
from bot.results.labels import Label
from bot.results.priorities import MEAN_DIGITS, Priority, Reason, ReasonKind, scale_midpoint
from bot.results.report import TeamReport
from bot.results.team_result import ItemResult
from bot.results.trend import FactorChange
from conversations.core.cldr import format_list
from conversations.core.i18n import Catalogue
from conversations.instrument import Quickscan

HEADLINE_ORDER = (
    Label.GAAT_GOED,
    Label.WERKPUNT,
    Label.VERDEELD,
    Label.EENS_REDELIJK,
    Label.WEINIG_ZICHT,
    Label.GEMENGD,
)
"""The groups of the headline: what goes well first, then what asks for attention."""


def number(value: float | None, *, digits: int = 1, locale: str = "nl") -> str:
    """A figure the way the reader writes it (Dutch decimal comma)."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if locale == "nl" else text


def percent(share: float) -> str:
    """A share as a whole percentage, the way the seeds print it ("31 %")."""
    return f"{round(share * 100)} %"


def spread(distribution: Distribution) -> str:
    """Counts per answer in scale order, e.g. ``++ 2 · + 3 · +/- 1 · - 0 · -- 0 · ? 1``."""
    return " · ".join(f"{code} {count}" for code, count in distribution.counts.items())


def render_report(*, report: TeamReport, texts: Catalogue) -> tuple[str, str | None]:
    """The short headline post and the detailed follow-up (None unless exact)."""
    result = report.result
    lines = [
        texts.t("result.title", title=report.instrument.title),
        texts.t("result.participation", respondents=result.respondents, count=result.invited),
    ]
    if result.tier is Tier.NONE:
        key, values = participation_only_note(
            labels_withheld=result.labels_withheld,
            respondents=result.respondents,
            min_respondents=result.min_respondents,
            too_few="result.too_few",
        )
        return "\n".join([*lines, "", texts.t(key, **values)]), None
    if result.tier is Tier.COARSE:
        return "\n".join(lines + _coarse(report, texts)), None
    lines += ["", texts.t("result.grades")]
    for cluster in result.clusters:
        lines.append(
            texts.t(
                "result.grade_line",
                label=cluster.grade_label,
                mean=number(cluster.grade.mean, locale=texts.locale),
                count=cluster.grade.count,
            )
        )
    labels = {factor.number: factor.label for factor in result.factors()}
    lines += ["", *headline(report.instrument, labels, texts), "", *_priorities(report, texts)]
    lines += ["", texts.t("result.see_details")]
    return "\n".join(lines), "\n".join(_details(report, texts))


def _coarse(report: TeamReport, texts: Catalogue) -> list[str]:
    """The coarse tier: one label per success factor, no figure at all."""
    result = report.result
    lines = ["", texts.t("anonymity.coarse_intro", exact=EXACT_MINIMUM)]
    if result.compared:
        compared = comparison_minimum(result.min_respondents)
        lines.append(texts.t("anonymity.compared", minimum=compared))
    lines.append("")
    if result.coarse_labels:
        lines += headline(report.instrument, result.coarse_labels, texts)
    else:
        lines.append(texts.t("anonymity.coarse_none"))
    lines += ["", texts.t("result.follow_up_title")]
    lines += [f"• {question}" for question in report.suggestions.follow_up]
    return lines


def headline(instrument: Quickscan, labels: Mapping[int, Label], texts: Catalogue) -> list[str]:
    """The success factors by name, grouped by label: what goes well, what needs work.

    One line per label that occurs, in :data:`HEADLINE_ORDER`, factors in instrument
    order. ``labels`` are the exact labels or the coarse ones: the headline shows
    no more than the tier's own per-factor labels do.
    """
    lines = [texts.t("result.headline_title")]
    for label in HEADLINE_ORDER:
        named = [
            texts.t("result.headline_factor", number=factor.number, name=factor.short_name)
            for factor in instrument.factors
            if labels.get(factor.number) is label
        ]
        if named:
            group = texts.t(f"result.headline.{label.value}")
            lines.append(texts.t("result.headline_line", group=group, factors=", ".join(named)))
    return lines


def _priorities(report: TeamReport, texts: Catalogue) -> list[str]:
    priorities = report.suggestions.priorities
    if not priorities:
        return [texts.t("result.no_priorities")]
    lines = [texts.t("result.priorities_title")]
    for rank, priority in enumerate(priorities, start=1):
        lines += _priority_lines(rank, priority, report, texts)
    return lines


def _priority_lines(
    rank: int, priority: Priority, report: TeamReport, texts: Catalogue
) -> list[str]:
    factor = priority.factor
    evidence = priority.evidence.distribution
    codes = ScaleCodes.of(report.instrument, texts)
    lines = [
        texts.t(
            "result.priority",
            rank=rank,
            name=factor.short_name,
            number=factor.number,
            sentence=factor.sentence,
        ),
        "   "
        + texts.t(
            "result.why",
            reasons="; ".join(
                reason_text(reason, codes=codes, texts=texts) for reason in priority.reasons
            ),
        ),
    ]
    if evidence.negative:
        lines.append(
            "   "
            + texts.t(
                "result.evidence",
                negative=evidence.negative,
                count=evidence.respondents,
                codes=codes.negative,
                question=priority.evidence.text,
            )
        )
    if factor.tool:
        lines.append("   " + texts.t("result.tool", tool=factor.tool))
    if factor.first_step:
        lines.append("   " + texts.t("result.first_step", step=factor.first_step))
    return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleCodes:
    """The scale's codes as the reason sentences name them ("- of --", "+/-")."""

    negative: str
    middle: str

    @classmethod
    def of(cls, instrument: Quickscan, texts: Catalogue) -> ScaleCodes:
        """Codes below and at the scale's midpoint, joined the reader's way."""
        midpoint = scale_midpoint(instrument)
        scores = [(option.code, option.score) for option in instrument.scale.options]
        below = [code for code, score in scores if score is not None and score < midpoint]
        at = [code for code, score in scores if score is not None and score == midpoint]
        return cls(negative=_joined(below, texts, style="or"), middle=_joined(at, texts))


def _joined(
    words: Sequence[str], texts: Catalogue, *, style: Literal["standard", "or"] = "standard"
) -> str:
    return format_list(list(words), style=style, locale=texts.locale) if words else "–"


def reason_text(reason: Reason, *, codes: ScaleCodes, texts: Catalogue) -> str:
    """The sentence of one reason, with the numbers it carries (see ``ReasonKind``)."""
    kind = reason.kind
    if kind is ReasonKind.MOSTLY_NEGATIVE or kind is ReasonKind.NEGATIVE:
        return texts.t(
            f"result.reason.{kind.value}",
            negative=reason.count,
            count=reason.total,
            codes=codes.negative,
            share=percent(reason.count / reason.scored) if reason.scored else percent(0.0),
        )
    if kind is ReasonKind.DIVIDED:
        return texts.t(
            "result.reason.divided",
            positive=reason.positive,
            negative=reason.count,
            count=reason.total,
            codes=codes.negative,
        )
    if kind is ReasonKind.AGREED_FAIR:
        if reason.count == reason.total:
            return texts.t("result.reason.agreed_fair_all", code=codes.middle)
        return texts.t(
            "result.reason.agreed_fair",
            middle=reason.count,
            positive=reason.positive,
            count=reason.total,
            code=codes.middle,
        )
    mean = number(reason.mean, digits=MEAN_DIGITS, locale=texts.locale)
    if kind is ReasonKind.PRECONDITION:
        return texts.t(
            "result.reason.precondition",
            aspect=_lowered(reason.aspect),
            later=_joined([_lowered(label) for label in reason.later], texts),
            mean=mean,
            code=codes.middle,
        )
    if kind is ReasonKind.LOW_MEAN:
        return texts.t("result.reason.low_mean", mean=mean, code=codes.middle)
    return texts.t("result.reason.mentioned", count=reason.count)


def _lowered(name: str) -> str:
    """A label mid-sentence: "Attitude en organisatie" -> "attitude en organisatie"."""
    return name[:1].lower() + name[1:]


def _investigate(report: TeamReport, texts: Catalogue) -> list[str]:
    """The "zoek uit" list with a next step: who to ask, per item with true numbers."""
    items = report.suggestions.investigate
    if not items:
        return []
    lines = ["", texts.t("result.investigate_title"), texts.t("result.investigate_step")]
    lines += [_investigate_line(item, report.instrument, texts) for item in items]
    return lines


def _investigate_line(item: ItemResult, instrument: Quickscan, texts: Catalogue) -> str:
    answers = item.distribution
    if answers.scored:
        step = texts.t("result.investigate_ask", count=answers.scored)
    else:
        step = texts.t("result.investigate_parents")
    tool = instrument.factor(item.factor).tool
    if tool:
        step += texts.t("result.investigate_tool", tool=tool)
    return texts.t(
        "result.investigate_line",
        number=item.number,
        text=item.text,
        unknown=answers.respondents - answers.scored,
        count=answers.respondents,
        step=step,
    )


def _details(report: TeamReport, texts: Catalogue) -> list[str]:
    locale = texts.locale
    result, suggestions = report.result, report.suggestions
    trend = {change.number: change for change in report.trend}
    lines = [texts.t("result.factors_title")]
    for factor in result.factors():
        line = texts.t(
            "result.factor_line",
            number=factor.number,
            name=factor.short_name,
            figures=_figures(factor.distribution, locale),
            label=texts.t(f"label.{factor.label}"),
        )
        change = trend.get(factor.number)
        if change is not None:
            line += " " + _trend(change, texts)
        lines.append(line)
    if suggestions.discuss:
        lines += ["", texts.t("result.discuss_title")]
        lines += [
            texts.t(
                "result.discuss_line",
                number=item.number,
                text=item.text,
                positive=item.distribution.positive,
                negative=item.distribution.negative,
            )
            for item in suggestions.discuss
        ]
    lines += _investigate(report, texts)
    lines += ["", texts.t("result.items_title")]
    for item in result.items():
        lines.append(f"{item.number}. {item.text}")
        lines.append(
            "   "
            + texts.t(
                "result.item_figures",
                figures=_figures(item.distribution, locale),
                spread=spread(item.distribution),
                label=texts.t(f"label.{item.label}"),
            )
        )
    lines += _open_answers(report, texts)
    lines += ["", texts.t("result.follow_up_title")]
    lines += [f"• {question}" for question in suggestions.follow_up]
    return lines


def _figures(distribution: Distribution, locale: str) -> str:
    mean = number(distribution.mean, locale=locale)
    stdev = number(distribution.stdev, locale=locale)
    return f"{mean} ± {stdev} · ? {percent(distribution.unknown_share)}"


def _trend(change: FactorChange, texts: Catalogue) -> str:
    delta = change.delta
    shown = (
        "–"
        if delta is None
        else f"{'+' if delta >= 0 else '−'}{number(abs(delta), locale=texts.locale)}"
    )
    if change.label_changed:
        return texts.t(
            "result.trend_label", delta=shown, before=texts.t(f"label.{change.before_label}")
        )
    return texts.t("result.trend", delta=shown)


def _open_answers(report: TeamReport, texts: Catalogue) -> list[str]:
    lines: list[str] = []
    for question in report.instrument.closing.open_questions:
        answers = report.result.open_answers.get(question.id, ())
        if answers:
            lines.append(f"_{question.text}_")
            lines.extend(f"  – {answer}" for answer in answers)
    return ["", texts.t("result.open_title"), *lines] if lines else []
