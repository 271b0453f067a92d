"""Scoring pupils in the DM: one pupil on screen, buttons or typed scores, then the next.

Every step commits the scores and the teacher's next state in one transaction
before the next prompt is returned, so a restart resumes on the same pupil. A
button press re-renders the pupil's message in place; the fast path ("3 3 4 2 1 4
bel oma") saves and moves on to the next unfinished pupil.
"""

from __future__ import annotations

import re
from dataclasses import replace

from conversations.checklist.naming import deadline_text, round_name
from conversations.checklist.part import FlowPart, on_screen
from conversations.checklist.prompts import (
    ClAction,
    ClassView,
    ClVerb,
    dm,
    go_buttons,
    scoring_prompt,
    step_prompt,
)
from conversations.checklist.words import Nav, is_word
from conversations.core.messages import Outbound
from conversations.core.text_input import is_safe_text
from conversations.quickscan.words import normalise
from storage.checklist.records import (
    STEP_MAX_CHARS,
    ChecklistRound,
    ChecklistRoundNotOpenError,
    Pupil,
)
from storage.checklist.records import TeacherState as T

# ASCII digits only: "３:3" or "²:3" is not a statement number someone meant to type.
_SINGLE_RE = re.compile(r"^([0-9]{1,2})\s*[:=]\s*(\S{1,16})$", re.ASCII)
# Buttons on a pupil's message are fresh while that pupil is the one on screen.
ON_SCREEN = frozenset({T.SCORING, T.STEP, T.PAUSED})


class Scoring(FlowPart):
    """Moves a teacher through their class in the open round, one pupil at a time."""

    # ------------------------------------------------------------------ typed

    def score_text(
        self, view: ClassView, round_: ChecklistRound, pupil: Pupil, text: str
    ) -> list[Outbound]:
        """Text while a pupil is on screen: a navigation word, "2: 3", or all scores."""
        texts, word = view.texts, normalise(text)
        statements = self._checklist.statements
        if is_word(word, nav=Nav.NEXT):
            return self._next(view, round_, pupil)
        if is_word(word, nav=Nav.LATER):
            return self._pause(view, pupil)
        if is_word(word, nav=Nav.BACK):
            return self._back(view, round_, pupil)
        if is_word(word, nav=Nav.STEP):
            return self._ask_step(view, pupil)
        single = _SINGLE_RE.match(word)
        if single is not None:
            number, code = int(single[1]), single[2]
            codes = self._checklist.scale.codes()
            if not 1 <= number <= len(statements) or code not in codes:
                return self._explain(view, round_, pupil)
            return self._save(
                view, round_, pupil, {statements[number - 1].id: code}, step=None, advance=False
            )
        fast = self._fast_path(text)
        if fast is None:
            return self._explain(view, round_, pupil)
        scores, step = fast
        if len(step) > STEP_MAX_CHARS or not is_safe_text(step):
            key = "checklist.step_too_long" if is_safe_text(step) else "checklist.step_characters"
            notice = texts.t(key, maximum=STEP_MAX_CHARS)
            return [scoring_prompt(view, pupil, round_=round_, replace=False, notice=notice)]
        return self._save(view, round_, pupil, scores, step=step or None, advance=True)

    def step_text(
        self, view: ClassView, round_: ChecklistRound, pupil: Pupil, text: str
    ) -> list[Outbound]:
        """Text after "verbeterstap": the step for the pupil on screen (or "-" for none)."""
        texts = view.texts
        step = text.strip()
        if not step:  # a photo, a sticker, an empty message: ask again
            return [dm(view.teacher, texts.t("checklist.step_empty"))]
        if not is_safe_text(step):
            return [dm(view.teacher, texts.t("checklist.step_characters"))]
        if is_word(step, nav=Nav.SKIP):
            teacher = self.set_state(view.teacher, T.SCORING, pupil.id)
            notice = texts.t("checklist.step_skipped")
            return [
                scoring_prompt(
                    replace(view, teacher=teacher),
                    pupil,
                    round_=round_,
                    replace=False,
                    notice=notice,
                )
            ]
        if len(step) > STEP_MAX_CHARS:
            return [dm(view.teacher, texts.t("checklist.step_too_long", maximum=STEP_MAX_CHARS))]
        return self._save(view, round_, pupil, {}, step=step, advance=True)

    def _fast_path(self, text: str) -> tuple[dict[str, str], str] | None:
        """ "3 3 4 2 1 4" (or "334214"), optionally followed by the verbeterstap."""
        statements = self._checklist.statements
        codes = set(self._checklist.scale.codes())
        pattern = r"(\S)" + r"[\s,;]*(\S)" * (len(statements) - 1)
        match = re.match(pattern + r"(?:\s+(.*))?$", text.strip(), re.DOTALL)
        if match is None:
            return None
        given = [match[index] for index in range(1, len(statements) + 1)]
        step = (match[len(statements) + 1] or "").strip()
        if any(code not in codes for code in given):
            return None
        if step and not any(char.isalpha() for char in step):
            return None  # "3 3 4 2 1 4 4": a typo, not a verbeterstap
        return {s.id: code for s, code in zip(statements, given, strict=True)}, step

    # ---------------------------------------------------------------- buttons

    def apply(
        self, view: ClassView, round_: ChecklistRound, pupil: Pupil, action: ClAction
    ) -> list[Outbound]:
        """A (checked, fresh) button press on the pupil on screen."""
        if action.verb is ClVerb.SCORE:
            statements, options = self._checklist.statements, self._checklist.scale.options
            number, option = action.statement or 0, action.option or 0
            if not 1 <= number <= len(statements) or not 0 <= option < len(options):
                return [dm(view.teacher, view.texts.t("checklist.invalid_button"))]
            scores = {statements[number - 1].id: options[option].code}
            return self._save(view, round_, pupil, scores, step=None, advance=False)
        if action.verb is ClVerb.NEXT:
            return self._next(view, round_, pupil)
        if action.verb is ClVerb.BACK:
            return self._back(view, round_, pupil)
        if action.verb is ClVerb.STEP:
            return self._ask_step(view, pupil)
        return self._pause(view, pupil)  # ClVerb.LATER

    # ------------------------------------------------------------ transitions

    def _save(
        self,
        view: ClassView,
        round_: ChecklistRound,
        pupil: Pupil,
        scores: dict[str, str],
        *,
        step: str | None,
        advance: bool,
    ) -> list[Outbound]:
        """Commit scores/step and the next state in one transaction, then prompt.

        ``advance`` (fast path, verbeterstap) moves on to the next unfinished pupil;
        a button press re-renders the same pupil's message in place.
        """
        entries = view.entries
        merged = {**view.scores_of(pupil.id), **scores}
        steps = dict(entries.steps) if entries is not None else {}
        if step is not None:
            steps[pupil.id] = step
        all_scores = dict(entries.scores) if entries is not None else {}
        all_scores[pupil.id] = merged
        after = replace(
            view,
            entries=(
                replace(entries, scores=all_scores, steps=steps) if entries is not None else None
            ),
        )
        target: Pupil | None = pupil
        if advance:
            target = after.next_unfinished(pupil.id)
        state = T.SCORING if target is not None else T.IDLE
        try:
            teacher = self._checklists.save_entry(
                teacher_id=view.teacher.id,
                round_id=round_.id,
                pupil_id=pupil.id,
                scores=scores,
                step=step,
                state=state,
                on_screen=target.id if target is not None else None,
                now=self._clock.now(),
            )
        except ChecklistRoundNotOpenError:
            self.set_state(view.teacher, T.IDLE, None)
            return [dm(view.teacher, view.texts.t("checklist.round_closed"))]
        after = replace(after, teacher=teacher)
        texts = view.texts
        if not advance:
            return [scoring_prompt(after, pupil, round_=round_, replace=True)]
        if scores:
            notice = texts.t(
                "checklist.saved_fast",
                label=pupil.label,
                scores=" ".join(merged[s.id] for s in self._checklist.statements),
            )
            if step:
                notice += " " + texts.t("checklist.saved_with_step")
        else:
            notice = texts.t("checklist.saved_step", label=pupil.label)
        if target is None:
            return [self._all_done(after, round_, notice=notice)]
        return [scoring_prompt(after, target, round_=round_, replace=True, notice=notice)]

    def _next(self, view: ClassView, round_: ChecklistRound, pupil: Pupil) -> list[Outbound]:
        if not view.complete(pupil.id):
            scores = view.scores_of(pupil.id)
            missing = ", ".join(
                str(number)
                for number, statement in enumerate(self._checklist.statements, start=1)
                if statement.id not in scores
            )
            notice = view.texts.t("checklist.missing", numbers=missing)
            return [scoring_prompt(view, pupil, round_=round_, replace=False, notice=notice)]
        target = view.next_unfinished(pupil.id)
        if target is None:
            teacher = self.set_state(view.teacher, T.IDLE, None)
            return [self._all_done(replace(view, teacher=teacher), round_, notice=None)]
        teacher = self.set_state(view.teacher, T.SCORING, target.id)
        return [
            scoring_prompt(replace(view, teacher=teacher), target, round_=round_, replace=True)
        ]

    def _back(self, view: ClassView, round_: ChecklistRound, pupil: Pupil) -> list[Outbound]:
        index = view.index_of(pupil.id) or 0
        if index == 0:
            notice = view.texts.t("checklist.first_pupil")
            return [scoring_prompt(view, pupil, round_=round_, replace=False, notice=notice)]
        target = view.pupils[index - 1]
        teacher = self.set_state(view.teacher, T.SCORING, target.id)
        return [
            scoring_prompt(replace(view, teacher=teacher), target, round_=round_, replace=True)
        ]

    def _pause(self, view: ClassView, pupil: Pupil) -> list[Outbound]:
        self.set_state(view.teacher, T.PAUSED, pupil.id)
        text = view.texts.t("checklist.paused", done=view.done, count=len(view.pupils))
        return [dm(view.teacher, text)]

    def _ask_step(self, view: ClassView, pupil: Pupil) -> list[Outbound]:
        teacher = self.set_state(view.teacher, T.STEP, pupil.id)
        return [step_prompt(replace(view, teacher=teacher), pupil)]

    def resume(self, view: ClassView, *, notice: str | None = None) -> list[Outbound]:
        """Start or resume scoring at the first unfinished pupil of the open round."""
        texts = view.texts
        if view.round is None:
            if view.teacher.state is not T.IDLE:
                self.set_state(view.teacher, T.IDLE, None)
            return [dm(view.teacher, texts.t("checklist.no_round"))]
        if not view.pupils:
            return [dm(view.teacher, texts.t("checklist.register_first"))]
        target = view.first_unfinished()
        if target is None:
            target = view.pupils[0]
            notice = texts.t("checklist.all_done_review", count=len(view.pupils))
        teacher = self.set_state(view.teacher, T.SCORING, target.id)
        return [
            scoring_prompt(
                replace(view, teacher=teacher),
                target,
                round_=view.round,
                replace=False,
                notice=notice,
            )
        ]

    # ---------------------------------------------------------------- replies

    def _all_done(
        self, view: ClassView, round_: ChecklistRound, *, notice: str | None
    ) -> Outbound:
        text = view.texts.t(
            "checklist.all_done",
            count=len(view.pupils),
            round=round_name(round_, view.texts),
            deadline=deadline_text(round_, view.texts),
        )
        if notice:
            text = notice + "\n\n" + text
        return dm(view.teacher, text, replace=True)

    def _explain(self, view: ClassView, round_: ChecklistRound, pupil: Pupil) -> list[Outbound]:
        notice = view.texts.t("checklist.not_understood", count=len(self._checklist.statements))
        return [scoring_prompt(view, pupil, round_=round_, replace=False, notice=notice)]

    def stale(self, view: ClassView) -> list[Outbound]:
        """A button of an earlier message: say so, and show the pupil on screen again."""
        replies = [dm(view.teacher, view.texts.t("checklist.stale"))]
        pupil = on_screen(view)
        if view.teacher.state in ON_SCREEN and view.round is not None and pupil is not None:
            replies.append(scoring_prompt(view, pupil, round_=view.round, replace=False))
        return replies

    def lost(self, view: ClassView) -> list[Outbound]:
        """The pupil on screen was removed or the round closed: back to idle, say so."""
        self.set_state(view.teacher, T.IDLE, None)
        key = "checklist.round_closed" if view.round is None else "checklist.pupil_gone"
        return [dm(view.teacher, view.texts.t(key), buttons=go_buttons(view))]
