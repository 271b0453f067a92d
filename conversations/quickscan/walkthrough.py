"""The private (DM) quickscan walkthrough: one question at a time, then the closing page.

The flow is a small state machine (``ParticipationState``) whose state lives in
the participation row. Every step commits the answer and the new state in one
transaction before the next prompt is returned, so a crash between two messages
loses nothing and a restart resumes at the same place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound
from conversations.core.text_input import OPEN_ANSWER_MAX_CHARS, parse_bounded_int
from conversations.instrument import Quickscan, grade_item_id, open_item_id
from conversations.quickscan.payloads import Action, Verb, decode
from conversations.quickscan.prompts import Turn, dm, invitation, prompt
from conversations.quickscan.words import normalise, words_of
from storage.quickscan.records import (
    Participation,
    ParticipationState,
    RoundNotOpenError,
    RoundStatus,
)
from storage.quickscan.store import Enrolment, Store

S = ParticipationState

# Which verbs a button may carry in which state; anything else is stale.
_VERBS_BY_STATE: dict[ParticipationState, frozenset[Verb]] = {
    S.INVITED: frozenset({Verb.GO, Verb.PAUSE}),
    S.PAUSED: frozenset({Verb.GO}),
    S.ANSWERING: frozenset({Verb.ANSWER, Verb.BACK, Verb.PAUSE}),
    S.GRADES: frozenset({Verb.GRADE, Verb.BACK, Verb.PAUSE}),
    S.OPEN_QUESTIONS: frozenset({Verb.SKIP, Verb.BACK, Verb.PAUSE}),
    S.REVIEW: frozenset({Verb.SEND, Verb.BACK, Verb.PAUSE}),
    S.SUBMITTED: frozenset({Verb.EDIT}),
}
# "wijzig 12": a jump word of any locale, then ASCII digits only ("wijzig ３" or
# "wijzig ²" is no jump). The typed text is normalised (words.normalise) first.
_JUMP_RE = re.compile(
    "(?:" + "|".join(re.escape(word) for word in sorted(words_of("words.nav.jump"))) + ")"
    r" ([0-9]{1,3})",
    re.ASCII,
)
_DASHES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})


@dataclass(frozen=True, slots=True)
class _Step:
    """Where a member goes next."""

    state: ParticipationState
    position: int


class Walkthrough:
    """Handles everything a member says or presses in their DM."""

    def __init__(
        self,
        *,
        store: Store,
        instruments: Mapping[str, Quickscan],
        clock: Clock,
    ) -> None:
        self._store = store
        self._instruments = instruments
        self._clock = clock

    # ------------------------------------------------------------------ entry

    def handle(self, event: Inbound) -> list[Outbound]:
        """One DM event in, the replies out (after the change is committed)."""
        if event.payload is not None:
            return self._handle_button(event, event.payload)
        return self._handle_text(event)

    def invitation(self, *, participation: Participation, opened_by: str) -> Outbound:
        """The intro DM sent when a round starts, keyed so it is queued once per member.

        The key (round and member) makes the outbox skip a second copy, whatever
        path would queue it again (a retried start, a restart mid fan-out).
        """
        message = invitation(self._turn(participation), opened_by=opened_by)
        return replace(message, key=invitation_key(participation))

    def prompt_for(self, *, participation: Participation) -> Outbound:
        """What a member sees on (re)joining: the intro, or where they left off."""
        turn = self._turn(participation)
        if participation.state is S.INVITED:
            return invitation(turn, opened_by=turn.texts.t("dm.a_coordinator"))
        return prompt(turn, replace=False)

    def _turn(self, participation: Participation) -> Turn:
        """Load the round, team and answers of a participation once for this event."""
        return self._turn_of(self._store.enrolment(participation=participation), participation)

    def _turn_of(self, enrolment: Enrolment, participation: Participation | None = None) -> Turn:
        """The turn of a participation read with its round and team (one query, no cache)."""
        participation = participation or enrolment.participation
        return Turn(
            participation=participation,
            instrument=self._instruments[enrolment.round.instrument_id],
            texts=Catalogue(enrolment.team.locale),
            answers=self._store.answers(participation_id=participation.id),
            round_open=enrolment.round.status is RoundStatus.OPEN,
        )

    # ---------------------------------------------------------------- buttons

    def _handle_button(self, event: Inbound, payload: str) -> list[Outbound]:
        action = decode(payload)
        enrolment = (
            self._store.enrolment_for_user(
                platform=event.platform,
                workspace=event.workspace,
                user=event.sender.user,
                participation_id=action.participation_id,
            )
            if action is not None
            else None
        )
        if action is None or enrolment is None:
            return [_reply(event, Catalogue().t("dm.invalid_button"))]
        participation = enrolment.participation
        turn = self._turn_of(enrolment)
        if not turn.round_open:
            return [dm(participation, turn.texts.t("dm.round_closed"))]
        allowed = _VERBS_BY_STATE[participation.state]
        if action.verb not in allowed or action.position != participation.position:
            return [dm(participation, turn.texts.t("dm.stale")), prompt(turn, replace=False)]
        return self._apply(turn, action)

    # ------------------------------------------------------------------- text

    def _handle_text(self, event: Inbound) -> list[Outbound]:
        active = self._store.active_enrolments(
            platform=event.platform, workspace=event.workspace, user=event.sender.user
        )
        if not active:
            return [_reply(event, Catalogue().t("dm.no_round"))]
        turn = self._turn_of(
            next((e for e in active if e.participation.key.team == event.team), active[0])
        )
        participation = turn.participation
        action = _interpret(turn, event.text)
        if action is not None:
            return self._apply(turn, action)
        answer = event.text.strip()
        if participation.state is S.OPEN_QUESTIONS and answer:
            refused = _refuse_open_answer(turn, answer)
            if refused is not None:
                return refused
            question = turn.instrument.closing.open_questions[participation.position]
            step = _after_open(turn.instrument, participation.position)
            changes = {open_item_id(question_id=question.id): answer}
            return self._commit(turn, step, changes)
        return _explain(turn)

    # ------------------------------------------------------------ transitions

    def _apply(self, turn: Turn, action: Action) -> list[Outbound]:
        """Validate an action against the instrument, commit it, return the next prompt."""
        instrument, texts = turn.instrument, turn.texts
        position = turn.participation.position
        changes: dict[str, str | None] = {}
        step: _Step | None
        if action.verb is Verb.GO:
            step = _resume(instrument, turn.answers)
        elif action.verb is Verb.PAUSE:
            # The paused prompt ("gepauzeerd" + "verder") replaces the question in place.
            return self._commit(turn, _Step(S.PAUSED, 0), {})
        elif action.verb is Verb.SEND:
            return self._commit(turn, _Step(S.SUBMITTED, 0), {}, submitted=True)
        elif action.verb is Verb.BACK:
            step = _back(instrument, turn.participation)
        elif action.verb is Verb.ANSWER:
            options = instrument.scale.options
            if action.arg is None or not 0 <= action.arg < len(options):
                return [dm(turn.participation, texts.t("dm.invalid_button"))]
            changes[instrument.questions[position].id] = options[action.arg].code
            step = _after_question(instrument, {**turn.answers, **changes}, position)
        elif action.verb is Verb.GRADE:
            closing = instrument.closing
            if action.arg is None or not closing.grade_min <= action.arg <= closing.grade_max:
                return [
                    dm(turn.participation, texts.t("dm.bad_grade")),
                    prompt(turn, replace=False),
                ]
            changes[grade_item_id(cluster_id=instrument.clusters[position].id)] = str(action.arg)
            step = _after_grade(instrument, position)
        elif action.verb is Verb.SKIP:
            open_question = instrument.closing.open_questions[position]
            changes[open_item_id(question_id=open_question.id)] = ""
            step = _after_open(instrument, position)
        else:  # Verb.EDIT: reopen, optionally at a question number
            step = _edit(instrument, action.arg)
            if step is None:
                total = len(instrument.questions)
                return [dm(turn.participation, texts.t("dm.no_such_question", total=total))]
        return self._commit(turn, step, changes)

    def _commit(
        self,
        turn: Turn,
        step: _Step,
        changes: Mapping[str, str | None],
        *,
        submitted: bool = False,
    ) -> list[Outbound]:
        """Save the step in one transaction, then (and only then) build the next prompt."""
        participation = turn.participation
        try:
            updated = self._store.save_progress(
                participation_id=participation.id,
                state=step.state,
                position=step.position,
                now=self._clock.now(),
                answers=changes,
                mark_started=bool(changes) or step.state is S.ANSWERING,
                mark_submitted=submitted,
                expected_version=participation.version,
            )
        except RoundNotOpenError:
            return [dm(participation, turn.texts.t("dm.round_closed"))]
        replies: list[Outbound] = []
        answers = {**turn.answers, **changes}
        after = replace(
            turn,
            participation=updated,
            answers={key: value for key, value in answers.items() if value is not None},
        )
        replies.append(prompt(after, replace=not submitted))
        return replies


# -------------------------------------------------------------------- helpers


def invitation_key(participation: Participation) -> str:
    """The outbox de-duplication key of a member's invitation to a round.

    One participation per round and member, so its id names the pair as well as
    the user id would, without putting a user id in a column that outlives the
    message (``vergeet-mij`` must leave no trace of the member).
    """
    return f"invite:{participation.round_id}:{participation.id}"


def _reply(event: Inbound, text: str) -> Outbound:
    """A DM reply to someone whose participation could not be identified."""
    return Outbound(destination=Destination.dm(team=event.team, user=event.sender.user), text=text)


def _refuse_open_answer(turn: Turn, answer: str) -> list[Outbound] | None:
    """Why an open answer is too long to store, or None.

    Nothing is stored then: a cut-off answer would say something the member did
    not write. (NUL and control characters never get this far: the engine's
    ``bot.core.input_guard`` refuses them for every message.)
    """
    if len(answer) <= OPEN_ANSWER_MAX_CHARS:
        return None
    text = turn.texts.t("input.open_too_long", length=len(answer), max=OPEN_ANSWER_MAX_CHARS)
    return [dm(turn.participation, text)]


def _interpret(turn: Turn, text: str) -> Action | None:
    """Turn typed text into the action a button would have carried."""
    participation = turn.participation
    word = normalise(text.translate(_DASHES))
    state, position = participation.state, participation.position

    def act(verb: Verb, arg: int | None = None) -> Action:
        return Action(participation_id=participation.id, verb=verb, position=position, arg=arg)

    if state in (S.INVITED, S.PAUSED):
        pause = word in _words("later") and state is S.INVITED
        return act(Verb.PAUSE) if pause else act(Verb.GO)
    if (jump := _JUMP_RE.fullmatch(word)) is not None:
        return act(Verb.EDIT, int(jump[1]))
    if state is S.SUBMITTED:
        return act(Verb.EDIT) if word in _words("edit") else None
    if word in _words("later"):
        return act(Verb.PAUSE)
    if word in _words("back"):
        return act(Verb.BACK)
    if state is S.ANSWERING:
        option = _option_index(turn.instrument, word)
        return act(Verb.ANSWER, option) if option is not None else None
    if state is S.GRADES:
        closing = turn.instrument.closing
        grade = parse_bounded_int(word, low=closing.grade_min, high=closing.grade_max)
        return act(Verb.GRADE, grade) if grade is not None else None
    if state is S.OPEN_QUESTIONS:
        return act(Verb.SKIP) if word in _words("skip") else None
    return act(Verb.SEND) if word in _words("send") else None  # S.REVIEW


def _option_index(instrument: Quickscan, word: str) -> int | None:
    options = instrument.scale.options
    compact = word.replace(" ", "")
    for index, option in enumerate(options):
        if compact == option.code or word == option.label.lower():
            return index
    number = parse_bounded_int(word, low=1, high=len(options))
    return None if number is None else number - 1


def _explain(turn: Turn) -> list[Outbound]:
    """A clear answer to text that fits no choice; nothing is changed."""
    state = turn.participation.state
    key = {
        S.REVIEW: "dm.unknown_review",
        S.SUBMITTED: "dm.submitted_hint",
        S.GRADES: "dm.bad_grade",
        S.OPEN_QUESTIONS: "open.how",  # an empty or non-text message: type, or skip
    }.get(state, "dm.unknown_answer")
    replies = [dm(turn.participation, turn.texts.t(key))]
    if state is not S.SUBMITTED:
        replies.append(prompt(turn, replace=False))
    return replies


def _resume(instrument: Quickscan, answers: Mapping[str, str]) -> _Step:
    """The first unanswered question, else the first open part of the closing page."""
    for index, question in enumerate(instrument.questions):
        if question.id not in answers:
            return _Step(S.ANSWERING, index)
    return _closing_entry(instrument, answers)


def _closing_entry(instrument: Quickscan, answers: Mapping[str, str | None]) -> _Step:
    for index, cluster in enumerate(instrument.clusters):
        if grade_item_id(cluster_id=cluster.id) not in answers:
            return _Step(S.GRADES, index)
    for index, question in enumerate(instrument.closing.open_questions):
        if open_item_id(question_id=question.id) not in answers:
            return _Step(S.OPEN_QUESTIONS, index)
    return _Step(S.REVIEW, 0)


def _after_question(
    instrument: Quickscan, answers: Mapping[str, str | None], position: int
) -> _Step:
    """Next unanswered question after this one (wrapping), else the closing page."""
    questions = instrument.questions
    for index in (*range(position + 1, len(questions)), *range(position)):
        if questions[index].id not in answers:
            return _Step(S.ANSWERING, index)
    return _closing_entry(instrument, answers)


def _after_grade(instrument: Quickscan, position: int) -> _Step:
    if position + 1 < len(instrument.clusters):
        return _Step(S.GRADES, position + 1)
    if instrument.closing.open_questions:
        return _Step(S.OPEN_QUESTIONS, 0)
    return _Step(S.REVIEW, 0)


def _after_open(instrument: Quickscan, position: int) -> _Step:
    if position + 1 < len(instrument.closing.open_questions):
        return _Step(S.OPEN_QUESTIONS, position + 1)
    return _Step(S.REVIEW, 0)


def _back(instrument: Quickscan, participation: Participation) -> _Step:
    state, position = participation.state, participation.position
    last_question = _Step(S.ANSWERING, len(instrument.questions) - 1)
    last_grade = _Step(S.GRADES, len(instrument.clusters) - 1)
    if state is S.ANSWERING:
        return _Step(S.ANSWERING, max(position - 1, 0))
    if state is S.GRADES:
        return _Step(S.GRADES, position - 1) if position > 0 else last_question
    if state is S.OPEN_QUESTIONS:
        return _Step(S.OPEN_QUESTIONS, position - 1) if position > 0 else last_grade
    open_questions = instrument.closing.open_questions
    return _Step(S.OPEN_QUESTIONS, len(open_questions) - 1) if open_questions else last_grade


def _edit(instrument: Quickscan, number: int | None) -> _Step | None:
    """Reopen: to the summary, or straight to question ``number`` (1-based)."""
    if number is None:
        return _Step(S.REVIEW, 0)
    if not 1 <= number <= len(instrument.questions):
        return None
    return _Step(S.ANSWERING, number - 1)


def _words(kind: str) -> frozenset[str]:
    """Typed synonyms of a navigation button, in every locale (catalogue ``words.nav``)."""
    return words_of(f"words.nav.{kind}")
