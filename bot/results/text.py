"""Renders the team report as text: the console's rendering and every adapter's fallback.

The post is short (participation, grades, top priorities, counts per label);
the details (per factor and per item, the discuss / investigate lists, open
answers and the questions for the team meeting) go in a follow-up message or
thread. Only aggregates reach this module: ``TeamResult`` carries no respondent
identities, and below the exact tier it carries no figure at all (bot/anonymity.py):
the coarse tier renders one label per success factor, the lowest participation only.
"""

from __future__ import annotations

from collections import Counter

from bot.results.anonymity import EXACT_MINIMUM, Tier, comparison_minimum
from bot.results.distribution import Distribution
from bot.results.labels import Label
from bot.results.priorities import Priority
from bot.results.report import TeamReport
from bot.results.trend import FactorChange
from conversations.core.i18n import Catalogue


def number(value: float | None, *, digits: int = 1, locale: str = "nl") -> str:
    """A figure the way the reader writes it (Dutch decimal comma)."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if locale == "nl" else text


def percent(share: float) -> str:
    """A share as a whole percentage."""
    return f"{round(share * 100)} %"


def spread(distribution: Distribution) -> str:
    """Counts per answer in scale order, e.g. ``++ 2 · + 3 · +/- 1 · - 0 · -- 0 · ? 1``."""
    return " · ".join(f"{code} {count}" for code, count in distribution.counts.items())


def render_report(*, report: TeamReport, texts: Catalogue) -> tuple[str, str | None]:
    """The short headline post and the detailed follow-up (None unless exact)."""
    result = report.result
    lines = [
        texts.t("result.title", title=report.instrument.title),
        texts.t("result.participation", respondents=result.respondents, invited=result.invited),
    ]
    if result.tier is Tier.NONE:
        if result.labels_withheld and result.respondents >= result.min_respondents:
            compared = comparison_minimum(result.min_respondents)
            lines += ["", texts.t("anonymity.withheld", minimum=compared)]
        else:
            lines += ["", texts.t("result.too_few", minimum=result.min_respondents)]
        return "\n".join(lines), None
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
    lines += ["", _label_counts(report, texts), "", *_priorities(report, texts)]
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
        lines += [
            texts.t(
                "anonymity.coarse_line",
                number=factor.number,
                name=factor.short_name,
                label=texts.t(f"label.{result.coarse_labels[factor.number]}"),
            )
            for factor in report.instrument.factors
            if factor.number in result.coarse_labels
        ]
    else:
        lines.append(texts.t("anonymity.coarse_none"))
    lines += ["", texts.t("result.follow_up_title")]
    lines += [f"• {question}" for question in report.suggestions.follow_up]
    return lines


def _label_counts(report: TeamReport, texts: Catalogue) -> str:
    counts = Counter(item.label for item in report.result.items())
    parts = " · ".join(f"{counts.get(label, 0)} {texts.t(f'label.{label}')}" for label in Label)
    return texts.t("result.label_counts", counts=parts)


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
    factor, answers = priority.factor, priority.result.distribution
    evidence = priority.evidence.distribution
    lines = [
        texts.t(
            "result.priority",
            rank=rank,
            name=factor.short_name,
            number=factor.number,
            sentence=factor.sentence,
        )
    ]
    if evidence.negative:
        lines.append(
            "   "
            + texts.t(
                "result.reason_negative",
                negative=evidence.negative,
                respondents=evidence.respondents,
                question=priority.evidence.text,
            )
        )
    lines.append(
        "   "
        + texts.t(
            "result.reason_factor",
            mean=number(answers.mean, locale=texts.locale),
            stdev=number(answers.stdev, locale=texts.locale),
            negative=percent(answers.negative_share),
        )
    )
    if priority.mentions:
        lines.append("   " + texts.t("result.reason_mentions", count=priority.mentions))
    if factor.tool:
        lines.append("   " + texts.t("result.tool", tool=factor.tool))
    if factor.first_step:
        lines.append("   " + texts.t("result.first_step", step=factor.first_step))
    return lines


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
    if suggestions.investigate:
        lines += ["", texts.t("result.investigate_title")]
        lines += [
            texts.t(
                "result.investigate_line",
                number=item.number,
                text=item.text,
                unknown=item.distribution.respondents - item.distribution.scored,
                respondents=item.distribution.respondents,
            )
            for item in suggestions.investigate
        ]
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
