"""The private (DM) quickscan walkthrough: one question at a time, then the closing page.

The flow is a small state machine (``ParticipationState``) whose state lives in
the participation row. Every step commits the answer and the new state in one
transaction before the next prompt is returned, so a crash between two messages
loses nothing and a restart resumes at the same place.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from bot.clock import Clock
from bot.i18n import Catalogue
from bot.merge import grade_item_id, open_item_id
from bot.messages import Button, Destination, Inbound, Outbound
from conversations.instrument import Quickscan
from conversations.payloads import Action, Verb, decode
from storage.records import Participation, ParticipationState, RoundNotOpenError, RoundStatus
from storage.store import Store

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
_JUMP_RE = re.compile(r"^(?:wijzig|vraag|edit|question)\s+(\d{1,3})$")
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
        """The intro DM sent when a round starts."""
        texts = self._catalogue(participation)
        instrument = self._instrument(participation)
        return self._dm(
            participation,
            texts.t(
                "dm.intro",
                name=participation.display_name,
                coordinator=opened_by,
                title=instrument.title,
                total=len(instrument.questions),
            ),
            buttons=(
                self._button(texts, "button.start", participation, Verb.GO, 0),
                self._button(texts, "button.later", participation, Verb.PAUSE, 0),
            ),
        )

    # ---------------------------------------------------------------- buttons

    def _handle_button(self, event: Inbound, payload: str) -> list[Outbound]:
        action = decode(payload)
        participation = (
            self._store.participation_for_user(
                platform=event.platform,
                workspace=event.workspace,
                user=event.sender.user,
                participation_id=action.participation_id,
            )
            if action is not None
            else None
        )
        if action is None or participation is None:
            return [self._reply(event, Catalogue().t("dm.invalid_button"))]
        texts = self._catalogue(participation)
        if not self._round_is_open(participation):
            return [self._dm(participation, texts.t("dm.round_closed"))]
        allowed = _VERBS_BY_STATE[participation.state]
        if action.verb not in allowed or action.position != participation.position:
            return [
                self._dm(participation, texts.t("dm.stale")),
                self._prompt(participation, replace=False),
            ]
        return self._apply(participation, action)

    # ------------------------------------------------------------------- text

    def _handle_text(self, event: Inbound) -> list[Outbound]:
        active = self._store.active_participations(
            platform=event.platform, workspace=event.workspace, user=event.sender.user
        )
        if not active:
            return [self._reply(event, Catalogue().t("dm.no_round"))]
        participation = next((p for p in active if p.key.team == event.team), active[0])
        action = self._interpret(participation, event.text)
        if action is not None:
            return self._apply(participation, action)
        if participation.state is S.OPEN_QUESTIONS and event.text.strip():
            return self._write_open_answer(participation, event.text.strip())
        return self._explain(participation)

    def _interpret(self, participation: Participation, text: str) -> Action | None:
        """Turn typed text into the action a button would have carried."""
        word = " ".join(text.strip().lower().translate(_DASHES).split())
        state, position = participation.state, participation.position

        def act(verb: Verb, arg: int | None = None) -> Action:
            return Action(participation_id=participation.id, verb=verb, position=position, arg=arg)

        if state in (S.INVITED, S.PAUSED):
            return (
                act(Verb.PAUSE) if word in _words("later") and state is S.INVITED else act(Verb.GO)
            )
        if (jump := _JUMP_RE.match(word)) and state is not S.INVITED:
            return Action(
                participation_id=participation.id,
                verb=Verb.EDIT,
                position=position,
                arg=int(jump[1]),
            )
        if word in _words("later"):
            return act(Verb.PAUSE) if state is not S.SUBMITTED else None
        if word in _words("back"):
            return act(Verb.BACK) if state is not S.SUBMITTED else None
        if state is S.ANSWERING:
            option = self._option_index(participation, word)
            return act(Verb.ANSWER, option) if option is not None else None
        if state is S.GRADES:
            return act(Verb.GRADE, int(word)) if word.isdigit() and len(word) <= 3 else None
        if state is S.OPEN_QUESTIONS:
            return act(Verb.SKIP) if word in _words("skip") else None
        if state is S.REVIEW:
            return act(Verb.SEND) if word in _words("send") else None
        if state is S.SUBMITTED:
            return act(Verb.EDIT) if word in _words("edit") else None
        return None

    def _option_index(self, participation: Participation, word: str) -> int | None:
        options = self._instrument(participation).scale.options
        compact = word.replace(" ", "")
        for index, option in enumerate(options):
            if compact == option.code or word == option.label.lower():
                return index
        if word.isdigit() and 1 <= int(word) <= len(options):
            return int(word) - 1
        return None

    def _write_open_answer(self, participation: Participation, text: str) -> list[Outbound]:
        """Store a free-text closing answer (optional questions, any text accepted)."""
        instrument = self._instrument(participation)
        question = instrument.closing.open_questions[participation.position]
        step = self._after_open(instrument, participation.position)
        return self._commit(
            participation, step, {open_item_id(question_id=question.id): text}, None
        )

    def _explain(self, participation: Participation) -> list[Outbound]:
        """A clear answer to text that fits no choice; nothing is changed."""
        texts = self._catalogue(participation)
        key = {
            S.ANSWERING: "dm.unknown_answer",
            S.REVIEW: "dm.unknown_review",
            S.SUBMITTED: "dm.submitted_hint",
            S.GRADES: "dm.bad_grade",
        }.get(participation.state, "dm.unknown_answer")
        replies = [self._dm(participation, texts.t(key))]
        if participation.state is not S.SUBMITTED:
            replies.append(self._prompt(participation, replace=False))
        return replies

    # ------------------------------------------------------------ transitions

    def _apply(self, participation: Participation, action: Action) -> list[Outbound]:
        """Validate an action against the instrument, commit it, return the next prompt."""
        instrument = self._instrument(participation)
        texts = self._catalogue(participation)
        position = participation.position
        changes: dict[str, str | None] = {}
        step: _Step | None
        if action.verb is Verb.GO:
            answers = self._store.answers(participation_id=participation.id)
            step = self._resume(instrument, answers)
        elif action.verb is Verb.PAUSE:
            return self._commit(participation, _Step(S.PAUSED, 0), {}, texts.t("dm.paused"))
        elif action.verb is Verb.SEND:
            return self._commit(participation, _Step(S.SUBMITTED, 0), {}, None, submitted=True)
        elif action.verb is Verb.BACK:
            step = self._back(instrument, participation)
        elif action.verb is Verb.ANSWER:
            options = instrument.scale.options
            if action.arg is None or not 0 <= action.arg < len(options):
                return [self._dm(participation, texts.t("dm.invalid_button"))]
            changes[instrument.questions[position].id] = options[action.arg].code
            answers = self._store.answers(participation_id=participation.id)
            step = self._after_question(instrument, {**answers, **changes}, position)
        elif action.verb is Verb.GRADE:
            closing = instrument.closing
            if action.arg is None or not closing.grade_min <= action.arg <= closing.grade_max:
                return [
                    self._dm(participation, texts.t("dm.bad_grade")),
                    self._prompt(participation, replace=False),
                ]
            changes[grade_item_id(cluster_id=instrument.clusters[position].id)] = str(action.arg)
            step = self._after_grade(instrument, position)
        elif action.verb is Verb.SKIP:
            open_question = instrument.closing.open_questions[position]
            changes[open_item_id(question_id=open_question.id)] = ""
            step = self._after_open(instrument, position)
        else:  # Verb.EDIT: reopen, optionally at a question number
            step = self._edit(instrument, action.arg)
            if step is None:
                total = len(instrument.questions)
                return [self._dm(participation, texts.t("dm.no_such_question", total=total))]
        return self._commit(participation, step, changes, None)

    def _commit(
        self,
        participation: Participation,
        step: _Step,
        changes: Mapping[str, str | None],
        notice: str | None,
        *,
        submitted: bool = False,
    ) -> list[Outbound]:
        texts = self._catalogue(participation)
        try:
            updated = self._store.save_progress(
                participation_id=participation.id,
                state=step.state,
                position=step.position,
                now=self._clock.now(),
                answers=changes,
                mark_started=bool(changes) or step.state is S.ANSWERING,
                mark_submitted=submitted,
            )
        except RoundNotOpenError:
            return [self._dm(participation, texts.t("dm.round_closed"))]
        replies = []
        if notice is not None:
            replies.append(self._dm(participation, notice))
        if step.state is not S.PAUSED:
            replies.append(self._prompt(updated, replace=not submitted))
        return replies

    def _resume(self, instrument: Quickscan, answers: Mapping[str, str]) -> _Step:
        """The first unanswered question, else the first open part of the closing page."""
        for index, question in enumerate(instrument.questions):
            if question.id not in answers:
                return _Step(S.ANSWERING, index)
        return self._closing_entry(instrument, answers)

    def _closing_entry(self, instrument: Quickscan, answers: Mapping[str, str]) -> _Step:
        for index, cluster in enumerate(instrument.clusters):
            if grade_item_id(cluster_id=cluster.id) not in answers:
                return _Step(S.GRADES, index)
        for index, question in enumerate(instrument.closing.open_questions):
            if open_item_id(question_id=question.id) not in answers:
                return _Step(S.OPEN_QUESTIONS, index)
        return _Step(S.REVIEW, 0)

    def _after_question(
        self, instrument: Quickscan, answers: Mapping[str, str | None], position: int
    ) -> _Step:
        """Next unanswered question after this one (wrapping), else the closing page."""
        questions = instrument.questions
        order = [*range(position + 1, len(questions)), *range(position)]
        for index in order:
            if questions[index].id not in answers:
                return _Step(S.ANSWERING, index)
        return self._closing_entry(instrument, {k: v for k, v in answers.items() if v is not None})

    def _after_grade(self, instrument: Quickscan, position: int) -> _Step:
        if position + 1 < len(instrument.clusters):
            return _Step(S.GRADES, position + 1)
        if instrument.closing.open_questions:
            return _Step(S.OPEN_QUESTIONS, 0)
        return _Step(S.REVIEW, 0)

    def _after_open(self, instrument: Quickscan, position: int) -> _Step:
        if position + 1 < len(instrument.closing.open_questions):
            return _Step(S.OPEN_QUESTIONS, position + 1)
        return _Step(S.REVIEW, 0)

    def _back(self, instrument: Quickscan, participation: Participation) -> _Step:
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

    def _edit(self, instrument: Quickscan, number: int | None) -> _Step | None:
        """Reopen: to the summary, or straight to question ``number`` (1-based)."""
        if number is None:
            return _Step(S.REVIEW, 0)
        if not 1 <= number <= len(instrument.questions):
            return None
        return _Step(S.ANSWERING, number - 1)

    # ---------------------------------------------------------------- prompts

    def _prompt(self, participation: Participation, *, replace: bool) -> Outbound:
        """The message for the member's current state."""
        state = participation.state
        texts = self._catalogue(participation)
        if state is S.INVITED:
            return self._dm(
                participation,
                texts.t("dm.invited_again"),
                buttons=(self._button(texts, "button.start", participation, Verb.GO, 0),),
            )
        if state is S.ANSWERING:
            return self._question_prompt(participation, texts, replace=replace)
        if state is S.GRADES:
            return self._grade_prompt(participation, texts, replace=replace)
        if state is S.OPEN_QUESTIONS:
            return self._open_prompt(participation, texts, replace=replace)
        if state is S.REVIEW:
            return self._review_prompt(participation, texts, replace=replace)
        if state is S.SUBMITTED:
            return self._dm(
                participation,
                texts.t("dm.submitted"),
                buttons=(self._button(texts, "button.edit", participation, Verb.EDIT, 0),),
            )
        return self._dm(
            participation,
            texts.t("dm.paused"),
            buttons=(self._button(texts, "button.resume", participation, Verb.GO, 0),),
        )

    def _question_prompt(
        self, participation: Participation, texts: Catalogue, *, replace: bool
    ) -> Outbound:
        instrument = self._instrument(participation)
        index = participation.position
        question = instrument.questions[index]
        factor = instrument.factor(question.factor)
        label = factor.short_name.capitalize()
        subtheme = instrument.subtheme_name(question)
        if subtheme:
            label = f"{label} · {subtheme}"
        current = self._store.answers(participation_id=participation.id).get(question.id)
        lines = [
            texts.t("q.header", factor=label, number=index + 1, total=len(instrument.questions)),
            texts.t("q.factor", number=factor.number, sentence=factor.sentence),
            "",
            question.text,
        ]
        if current is not None:
            lines += ["", texts.t("q.current", answer=current)]
        buttons = tuple(
            Button(
                label=option.code,
                payload=Action(
                    participation_id=participation.id,
                    verb=Verb.ANSWER,
                    position=index,
                    arg=option_index,
                ).encode(),
            )
            for option_index, option in enumerate(instrument.scale.options)
        )
        navigation = (
            self._button(texts, "button.back", participation, Verb.BACK, index),
            self._button(texts, "button.later", participation, Verb.PAUSE, index),
        )
        return self._dm(
            participation, "\n".join(lines), buttons=buttons + navigation, replace=replace
        )

    def _grade_prompt(
        self, participation: Participation, texts: Catalogue, *, replace: bool
    ) -> Outbound:
        instrument = self._instrument(participation)
        index = participation.position
        cluster = instrument.clusters[index]
        closing = instrument.closing
        factors = instrument.factors_of(cluster.id)
        current = self._store.answers(participation_id=participation.id).get(
            grade_item_id(cluster_id=cluster.id)
        )
        lines = [
            texts.t("grade.header", number=index + 1, total=len(instrument.clusters)),
            closing.grade_question,
            "",
            texts.t(
                "grade.aspect",
                aspect=cluster.grade_label,
                first=factors[0].number,
                last=factors[-1].number,
                names=", ".join(factor.short_name for factor in factors),
            ),
            texts.t("grade.how", low=closing.grade_min, high=closing.grade_max),
        ]
        if current is not None:
            lines += ["", texts.t("q.current", answer=current)]
        grades = tuple(
            Button(
                label=str(grade),
                payload=Action(
                    participation_id=participation.id, verb=Verb.GRADE, position=index, arg=grade
                ).encode(),
            )
            for grade in range(closing.grade_min, closing.grade_max + 1)
        )
        navigation = (
            self._button(texts, "button.back", participation, Verb.BACK, index),
            self._button(texts, "button.later", participation, Verb.PAUSE, index),
        )
        return self._dm(
            participation, "\n".join(lines), buttons=grades + navigation, replace=replace
        )

    def _open_prompt(
        self, participation: Participation, texts: Catalogue, *, replace: bool
    ) -> Outbound:
        instrument = self._instrument(participation)
        index = participation.position
        question = instrument.closing.open_questions[index]
        current = self._store.answers(participation_id=participation.id).get(
            open_item_id(question_id=question.id)
        )
        lines = [
            texts.t("open.header", number=index + 1, total=len(instrument.closing.open_questions)),
            question.text,
            "",
            texts.t("open.how"),
        ]
        if current:
            lines += ["", texts.t("q.current", answer=current)]
        buttons = (
            self._button(texts, "button.skip", participation, Verb.SKIP, index),
            self._button(texts, "button.back", participation, Verb.BACK, index),
            self._button(texts, "button.later", participation, Verb.PAUSE, index),
        )
        return self._dm(participation, "\n".join(lines), buttons=buttons, replace=replace)

    def _review_prompt(
        self, participation: Participation, texts: Catalogue, *, replace: bool
    ) -> Outbound:
        instrument = self._instrument(participation)
        answers = self._store.answers(participation_id=participation.id)
        counts = Counter(answers[q.id] for q in instrument.questions if q.id in answers)
        answered = sum(counts.values())
        spread = "  ".join(
            f"{option.code}: {counts.get(option.code, 0)}" for option in instrument.scale.options
        )
        lines = [
            texts.t("review.header"),
            texts.t("review.answered", answered=answered, total=len(instrument.questions)),
            spread,
            "",
            texts.t("review.grades"),
        ]
        for cluster in instrument.clusters:
            grade = answers.get(grade_item_id(cluster_id=cluster.id), "–")
            lines.append(f"• {cluster.grade_label}: {grade}")
        for question in instrument.closing.open_questions:
            given = answers.get(open_item_id(question_id=question.id)) or texts.t("review.none")
            lines += ["", f"_{question.text}_", given]
        submitted = participation.submitted_at is not None
        lines += ["", texts.t("review.resubmit" if submitted else "review.send")]
        buttons = (
            self._button(texts, "button.send", participation, Verb.SEND, 0),
            self._button(texts, "button.back", participation, Verb.BACK, 0),
            self._button(texts, "button.later", participation, Verb.PAUSE, 0),
        )
        return self._dm(participation, "\n".join(lines), buttons=buttons, replace=replace)

    # ---------------------------------------------------------------- helpers

    def _instrument(self, participation: Participation) -> Quickscan:
        round_ = self._store.get_round(
            key=participation.key.team_key, round_id=participation.round_id
        )
        if round_ is None:  # pragma: no cover - a participation always has its round
            raise LookupError(participation.round_id)
        return self._instruments[round_.instrument_id]

    def _round_is_open(self, participation: Participation) -> bool:
        round_ = self._store.get_round(
            key=participation.key.team_key, round_id=participation.round_id
        )
        return round_ is not None and round_.status is RoundStatus.OPEN

    def _catalogue(self, participation: Participation) -> Catalogue:
        team = self._store.get_team(key=participation.key.team_key)
        return Catalogue(team.locale if team else "nl")

    @staticmethod
    def _button(
        texts: Catalogue, key: str, participation: Participation, verb: Verb, position: int
    ) -> Button:
        return Button(
            label=texts.t(key),
            payload=Action(
                participation_id=participation.id, verb=verb, position=position
            ).encode(),
        )

    @staticmethod
    def _dm(
        participation: Participation,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        replace: bool = False,
    ) -> Outbound:
        return Outbound(
            destination=Destination.dm(team=participation.key.team, user=participation.key.user),
            text=text,
            buttons=buttons,
            replace_previous=replace,
        )

    @staticmethod
    def _reply(event: Inbound, text: str) -> Outbound:
        return Outbound(
            destination=Destination.dm(team=event.team, user=event.sender.user), text=text
        )


def _words(kind: str) -> frozenset[str]:
    """Typed synonyms of the navigation buttons (Dutch and English)."""
    return _SYNONYMS[kind]


_SYNONYMS: dict[str, frozenset[str]] = {
    "later": frozenset({"later", "pauze", "pause", "stop"}),
    "back": frozenset({"vorige", "« vorige", "terug", "back", "previous", "« back"}),
    "skip": frozenset({"overslaan", "sla over", "skip", "-", "nee", "no"}),
    "send": frozenset({"versturen", "verstuur", "verzenden", "send", "submit", "klaar"}),
    "edit": frozenset({"wijzig", "wijzigen", "aanpassen", "edit", "change"}),
}
