"""Renders the merged team result as text (the console and fallback rendering).

Only aggregates reach this module: ``TeamResult`` carries no respondent
identities, and below the team's minimum it carries nothing item-level at all.
"""

from __future__ import annotations

from bot.i18n import Catalogue
from bot.merge import Distribution, TeamResult
from conversations.instrument import Quickscan


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


def render_result(
    *, result: TeamResult, instrument: Quickscan, texts: Catalogue
) -> tuple[str, str | None]:
    """The short headline post and the detailed follow-up (None below the minimum)."""
    locale = texts.locale
    lines = [
        texts.t("result.title", title=instrument.title),
        texts.t("result.participation", respondents=result.respondents, invited=result.invited),
    ]
    if not result.itemised:
        lines += ["", texts.t("result.too_few", minimum=result.min_respondents)]
        return "\n".join(lines), None
    lines += ["", texts.t("result.grades")]
    for cluster in result.clusters:
        lines.append(
            texts.t(
                "result.grade_line",
                label=cluster.grade_label,
                mean=number(cluster.grade.mean, locale=locale),
                count=cluster.grade.count,
            )
        )
    lines += ["", texts.t("result.clusters")]
    for cluster in result.clusters:
        lines.append(_line(texts, cluster.name, cluster.distribution, locale))
    details = [texts.t("result.factors_title")]
    for factor in result.factors():
        details.append(
            _line(texts, f"{factor.number}. {factor.short_name}", factor.distribution, locale)
        )
    details += ["", texts.t("result.items_title")]
    for item in result.items():
        details.append(f"{item.number}. {item.text}")
        details.append(f"   {_figures(texts, item.distribution, locale)}")
    open_texts = _open_answers(result, instrument, texts)
    if open_texts:
        details += ["", *open_texts]
    return "\n".join(lines), "\n".join(details)


def _line(texts: Catalogue, name: str, distribution: Distribution, locale: str) -> str:
    return f"• {name}: {_figures(texts, distribution, locale)}"


def _figures(texts: Catalogue, distribution: Distribution, locale: str) -> str:
    return texts.t(
        "result.figures",
        mean=number(distribution.mean, locale=locale),
        unknown=percent(distribution.unknown_share),
        spread=spread(distribution),
    )


def _open_answers(result: TeamResult, instrument: Quickscan, texts: Catalogue) -> list[str]:
    lines: list[str] = []
    for question in instrument.closing.open_questions:
        answers = result.open_answers.get(question.id, ())
        if answers:
            lines.append(f"_{question.text}_")
            lines.extend(f"  – {answer}" for answer in answers)
    return [texts.t("result.open_title"), *lines] if lines else []
