"""A teacher's private comparison after round 2: their own class, pupil by pupil.

Only the teacher's own DM gets it: round 1 against round 2 per statement, who
improved and who still needs attention, by pupil label. Nothing of it is logged,
and the labels are kept out of ``repr`` so a stray debug line cannot show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from conversations.checklist.naming import school_year_text
from conversations.checklist.scale import low_options, score_of
from conversations.core.i18n import Catalogue
from conversations.instrument import Checklist
from storage.checklist.records import ChecklistRound, ClassRound, Pupil


@dataclass(frozen=True, slots=True)
class PupilChange:
    """One pupil's scores in round 1 and round 2 (None = not scored).

    ``step`` is the verbeterstap noted in round 1: the comparison is where the
    teacher checks whether it worked.
    """

    position: int
    before: tuple[int | None, ...]
    after: tuple[int | None, ...]
    label: str = field(repr=False)
    step: str | None = field(default=None, repr=False)

    @property
    def before_total(self) -> int | None:
        """Sum over the statements, when all were scored in round 1."""
        return None if None in self.before else sum(s for s in self.before if s is not None)

    @property
    def after_total(self) -> int | None:
        """Sum over the statements, when all were scored in round 2."""
        return None if None in self.after else sum(s for s in self.after if s is not None)

    @property
    def difference(self) -> int | None:
        """Round 2 total minus round 1 total, when both rounds are complete."""
        if self.before_total is None or self.after_total is None:
            return None
        return self.after_total - self.before_total


@dataclass(frozen=True, slots=True)
class ClassComparison:
    """A teacher's class after round 2.

    Attributes:
        pupils: Every pupil, in class order.
        improved: Pupils whose total went up.
        attention: Pupils scored in round 2 with any statement in the lower half of
            the scale, lowest total first.
    """

    pupils: tuple[PupilChange, ...]
    improved: tuple[PupilChange, ...]
    attention: tuple[PupilChange, ...]


def compare_class(
    *,
    checklist: Checklist,
    pupils: Sequence[Pupil],
    first: ClassRound | None,
    second: ClassRound,
) -> ClassComparison:
    """Round 1 against round 2 for each pupil of one class."""
    low = {option.score for option in low_options(checklist)}

    def scores(round_: ClassRound | None, pupil: Pupil) -> tuple[int | None, ...]:
        given = round_.scores.get(pupil.id, {}) if round_ is not None else {}
        return tuple(score_of(checklist, given.get(s.id)) for s in checklist.statements)

    changes = tuple(
        PupilChange(
            position=pupil.position,
            before=scores(first, pupil),
            after=scores(second, pupil),
            label=pupil.label,
            step=first.steps.get(pupil.id) if first is not None else None,
        )
        for pupil in pupils
    )
    improved = tuple(c for c in changes if (c.difference or 0) > 0)
    attention = tuple(
        sorted(
            (c for c in changes if c.after_total is not None and low & set(c.after)),
            key=lambda c: (c.after_total or 0, c.position),
        )
    )
    return ClassComparison(pupils=changes, improved=improved, attention=attention)


def render_comparison(
    *, comparison: ClassComparison, checklist: Checklist, round_: ChecklistRound, texts: Catalogue
) -> tuple[str, str]:
    """The private summary (improved, attention) and the per-pupil table as details."""
    lines = [
        texts.t(
            "checklist.compare_title",
            title=checklist.title,
            year=school_year_text(round_.school_year),
        ),
        texts.t("checklist.compare_private"),
        "",
    ]
    if comparison.improved:
        names = ", ".join(f"{c.label} ({_signed(c.difference or 0)})" for c in comparison.improved)
        lines.append(
            texts.t("checklist.compare_improved", count=len(comparison.improved), names=names)
        )
    else:
        lines.append(texts.t("checklist.compare_none_improved"))
    low = texts.t("checklist.or").join(option.code for option in low_options(checklist))
    if comparison.attention:
        names = ", ".join(f"{c.label} ({c.after_total})" for c in comparison.attention)
        lines.append(texts.t("checklist.compare_attention", codes=low, names=names))
    else:
        lines.append(texts.t("checklist.compare_no_attention", codes=low))
    lines += ["", texts.t("checklist.compare_next")]
    details = [texts.t("checklist.compare_table", count=len(checklist.statements))]
    for change in comparison.pupils:
        before = _row(change.before)
        after = _row(change.after)
        difference = change.difference
        tail = f" ({_signed(difference)})" if difference is not None else ""
        line = f"• {change.label}: {before} → {after}{tail}"
        if change.step:
            line += " · " + texts.t("checklist.compare_step", step=change.step)
        details.append(line)
    return "\n".join(lines), "\n".join(details)


def _row(scores: Sequence[int | None]) -> str:
    return " ".join("–" if score is None else str(score) for score in scores)


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"\u2212{-value}")
