"""The private (DM) quickscan walkthrough: one question at a time, then the closing page.

The flow is a small state machine (``ParticipationState``) whose state lives in
the participation row. Every step commits the answer and the new state in one
transaction before the next prompt is returned, so a crash between two messages
loses nothing and a restart resumes at the same place. This module reads the
event (a button, or typed text turned into the action a button would carry),
checks it and commits it; which state comes next is decided in
``conversations.quickscan.navigation``, from the instrument and the answers alone.

A paired survey (experience and importance per statement, seed 003) is walked the
same way: its items are asked one at a time in :meth:`Quickscan.item_ids` order, each
on its own scale, and it has no closing page, so the last item leads straight to the
summary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound
from conversations.core.text_input import OPEN_ANSWER_MAX_CHARS, parse_bounded_int
from conversations.instrument import Quickscan, Scale, grade_item_id, open_item_id
from conversations.quickscan import navigation
from conversations.quickscan.navigation import Step
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
            step = navigation.after_open(turn.instrument, position=participation.position)
            changes = {open_item_id(question_id=question.id): answer}
            return self._commit(turn, step, changes)
        return _explain(turn)

    # ------------------------------------------------------------ transitions

    def _apply(self, turn: Turn, action: Action) -> list[Outbound]:
        """Validate an action against the instrument, commit it, return the next prompt."""
        instrument, texts = turn.instrument, turn.texts
        position = turn.participation.position
        changes: dict[str, str | None] = {}
        step: Step | None
        if action.verb is Verb.GO:
            step = navigation.resume(instrument, answers=turn.answers)
        elif action.verb is Verb.PAUSE:
            # The paused prompt ("gepauzeerd" + "verder") replaces the question in place.
            return self._commit(turn, Step(S.PAUSED, 0), {})
        elif action.verb is Verb.SEND:
            return self._commit(turn, Step(S.SUBMITTED, 0), {}, submitted=True)
        elif action.verb is Verb.BACK:
            step = navigation.back(instrument, participation=turn.participation)
        elif action.verb is Verb.ANSWER:
            options = instrument.scale_at(position).options
            if action.arg is None or not 0 <= action.arg < len(options):
                return [dm(turn.participation, texts.t("dm.invalid_button"))]
            changes[instrument.item_ids()[position]] = options[action.arg].code
            answers = {**turn.answers, **changes}
            step = navigation.after_question(instrument, answers=answers, position=position)
        elif action.verb is Verb.GRADE:
            closing = instrument.closing
            if action.arg is None or not closing.grade_min <= action.arg <= closing.grade_max:
                return [
                    dm(turn.participation, texts.t("dm.bad_grade")),
                    prompt(turn, replace=False),
                ]
            changes[grade_item_id(cluster_id=instrument.clusters[position].id)] = str(action.arg)
            step = navigation.after_grade(instrument, position=position)
        elif action.verb is Verb.SKIP:
            open_question = instrument.closing.open_questions[position]
            changes[open_item_id(question_id=open_question.id)] = ""
            step = navigation.after_open(instrument, position=position)
        else:  # Verb.EDIT: reopen, optionally at a question number
            step = navigation.edit(instrument, number=action.arg)
            if step is None:
                total = len(instrument.item_ids())
                return [dm(turn.participation, texts.t("dm.no_such_question", total=total))]
        return self._commit(turn, step, changes)

    def _commit(
        self,
        turn: Turn,
        step: Step,
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
        option = _option_index(turn.instrument.scale_at(position), word)
        return act(Verb.ANSWER, option) if option is not None else None
    if state is S.GRADES:
        closing = turn.instrument.closing
        grade = parse_bounded_int(word, low=closing.grade_min, high=closing.grade_max)
        return act(Verb.GRADE, grade) if grade is not None else None
    if state is S.OPEN_QUESTIONS:
        return act(Verb.SKIP) if word in _words("skip") else None
    return act(Verb.SEND) if word in _words("send") else None  # S.REVIEW


def _option_index(scale: Scale, word: str) -> int | None:
    """The option typed as its code, its label or its 1-based number, else None."""
    options = scale.options
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
    if key == "dm.unknown_answer" and turn.instrument.paired is not None:
        # The quickscan's text lists ++ … ?; a paired survey's scale differs per section.
        scale = turn.instrument.scale_at(turn.participation.position)
        choices = ", ".join(f"{option.code} ({option.label})" for option in scale.options)
        text = turn.texts.t("survey.unknown_answer", choices=choices)
    else:
        text = turn.texts.t(key)
    replies = [dm(turn.participation, text)]
    if state is not S.SUBMITTED:
        replies.append(prompt(turn, replace=False))
    return replies


def _words(kind: str) -> frozenset[str]:
    """Typed synonyms of a navigation button, in every locale (catalogue ``words.nav``)."""
    return words_of(f"words.nav.{kind}")
