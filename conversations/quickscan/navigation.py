"""Where a member goes next in the walkthrough: the moves of its state machine.

The walkthrough (``conversations.quickscan.walkthrough``) reads an event, checks
it and commits the answer with the new state; *which* state comes next is decided
here, apart, because it depends on the instrument and the answers alone. Pure
functions with no store, texts or clock, so every path through a quickscan or a
paired survey (no closing page, no grades) can be followed without a database.

The order is: the questions (every item, in :meth:`Quickscan.item_ids` order),
then the closing page (a grade per cluster when the instrument asks one, then the
open questions), then the summary (``REVIEW``). A forward move goes to the next
unanswered item, wrapping round to an earlier gap, so after a jump with "wijzig 12"
a member continues with what is still open, not with what they already answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conversations.instrument import Cluster, Quickscan, grade_item_id, open_item_id
from storage.quickscan.records import Participation, ParticipationState

S = ParticipationState


@dataclass(frozen=True, slots=True)
class Step:
    """Where a member goes next: the state and the position within it."""

    state: ParticipationState
    position: int


def resume(instrument: Quickscan, *, answers: Mapping[str, str]) -> Step:
    """The first unanswered question, else the first open part of the closing page."""
    for index, item_id in enumerate(instrument.item_ids()):
        if item_id not in answers:
            return Step(S.ANSWERING, index)
    return _closing_entry(instrument, answers)


def after_question(
    instrument: Quickscan, *, answers: Mapping[str, str | None], position: int
) -> Step:
    """Next unanswered question after this one (wrapping), else the closing page."""
    item_ids = instrument.item_ids()
    for index in (*range(position + 1, len(item_ids)), *range(position)):
        if item_ids[index] not in answers:
            return Step(S.ANSWERING, index)
    return _closing_entry(instrument, answers)


def after_grade(instrument: Quickscan, *, position: int) -> Step:
    """The next cluster's grade, else the first open question, else the summary."""
    if position + 1 < len(_graded(instrument)):
        return Step(S.GRADES, position + 1)
    if instrument.closing.open_questions:
        return Step(S.OPEN_QUESTIONS, 0)
    return Step(S.REVIEW, 0)


def after_open(instrument: Quickscan, *, position: int) -> Step:
    """The next open question, else the summary."""
    if position + 1 < len(instrument.closing.open_questions):
        return Step(S.OPEN_QUESTIONS, position + 1)
    return Step(S.REVIEW, 0)


def back(instrument: Quickscan, *, participation: Participation) -> Step:
    """One step back, across the borders of the closing page's parts."""
    state, position = participation.state, participation.position
    last_question = Step(S.ANSWERING, len(instrument.item_ids()) - 1)
    graded = _graded(instrument)
    last_grade = Step(S.GRADES, len(graded) - 1) if graded else last_question
    if state is S.ANSWERING:
        return Step(S.ANSWERING, max(position - 1, 0))
    if state is S.GRADES:
        return Step(S.GRADES, position - 1) if position > 0 else last_question
    if state is S.OPEN_QUESTIONS:
        return Step(S.OPEN_QUESTIONS, position - 1) if position > 0 else last_grade
    open_questions = instrument.closing.open_questions
    return Step(S.OPEN_QUESTIONS, len(open_questions) - 1) if open_questions else last_grade


def edit(instrument: Quickscan, *, number: int | None) -> Step | None:
    """Reopen: to the summary, or straight to question ``number`` (1-based); None if none."""
    if number is None:
        return Step(S.REVIEW, 0)
    if not 1 <= number <= len(instrument.item_ids()):
        return None
    return Step(S.ANSWERING, number - 1)


def _closing_entry(instrument: Quickscan, answers: Mapping[str, str | None]) -> Step:
    """The first unanswered part of the closing page, else the summary."""
    for index, cluster in enumerate(_graded(instrument)):
        if grade_item_id(cluster_id=cluster.id) not in answers:
            return Step(S.GRADES, index)
    for index, question in enumerate(instrument.closing.open_questions):
        if open_item_id(question_id=question.id) not in answers:
            return Step(S.OPEN_QUESTIONS, index)
    return Step(S.REVIEW, 0)


def _graded(instrument: Quickscan) -> tuple[Cluster, ...]:
    """The clusters the closing page asks a grade for: none without a grade question."""
    return instrument.clusters if instrument.closing.grade_question is not None else ()
