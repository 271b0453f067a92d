"""The teacher's private checklist conversation: the class, the rounds, the export.

Like the quickscan walkthrough it is a small state machine whose state lives in a
row (``checklist_teachers``); every step is committed before the next prompt is
returned, so a restart resumes where the teacher was.

Which team a DM is about: the binding whose team the DM names (the console and a
Telegram deep link pass it), otherwise the binding the teacher used most recently.
A teacher in two teams switches by typing ``/quickscan checklist`` in the other
team's channel, which makes that binding the most recent.

Quickscan and checklist share the DM. Button presses carry their own prefix
(``qs:``/``cl:``) and ``/checklist ...`` is always the checklist's; other text goes
to the checklist only while a checklist step is under way (class entry, scoring,
verbeterstap, erase confirmation) and the teacher touched the checklist more
recently than a quickscan they are answering. A paused checklist takes plain text
("any message resumes") only when no quickscan is waiting for the teacher.

Pupil labels appear only in replies to the teacher's own DM. Log lines carry row
ids and counts, never text the teacher typed. Every text is hostile input: a code
must pass :func:`conversations.checklist.pupil_codes.pupil_code_problem`, numbers are read as
ASCII digits within bounds (``conversations.core.text_input``), text that cannot be stored (NUL,
control characters) is refused, and unknown words are echoed only bounded; each
refusal is an answer in the teacher's own DM and changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from bot.calendar.deadline import SCHOOL_TZ
from bot.checklist.results import ChecklistResults, round_name
from conversations.checklist.prompts import (
    ClAction,
    ClassView,
    ClVerb,
    decode,
    dm,
    go_buttons,
    scoring_prompt,
    step_prompt,
    wipe_buttons,
)
from conversations.checklist.pupil_codes import CodeProblem, pupil_code_problem
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound
from conversations.core.text_input import is_safe_text, parse_bounded_int, quote
from conversations.instrument import Checklist
from storage.checklist.lifecycle import keep_until_for, school_year_of
from storage.checklist.records import (
    LABEL_MAX_CHARS,
    STEP_MAX_CHARS,
    ChecklistRound,
    ChecklistRoundNotOpenError,
    Pupil,
    Teacher,
    TeacherState,
)
from storage.checklist.store import CLASS_MAX_PUPILS, ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store

_LOG = logging.getLogger(__name__)
T = TeacherState

_COMMAND_RE = re.compile(r"^/checklist(?:@\S+)?(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)
# ASCII digits only: "３:3" or "²:3" is not a statement number someone meant to type.
_SINGLE_RE = re.compile(r"^([0-9]{1,2})\s*[:=]\s*(\S{1,16})$", re.ASCII)
_BULLET_RE = re.compile(r"^(?:[-*\u2022]\s+)")
# Labels stored before codes were limited to 12 characters were up to 40 long; a
# search for a longer or unstorable text cannot match and is not sent to the database.
_SEARCH_MAX_CHARS = 40
# Line numbers named in one reply: a pasted spreadsheet does not become a wall of text.
_LINES_SHOWN = 10
# Plain text claims the DM in these states (PAUSED is decided separately).
_ACTIVE = frozenset({T.REGISTERING, T.SCORING, T.STEP, T.CONFIRM_WIPE})
# Buttons on a pupil's message are fresh while that pupil is the one on screen.
_ON_SCREEN = frozenset({T.SCORING, T.STEP, T.PAUSED})

_WORDS: dict[str, frozenset[str]] = {
    "done": frozenset({"klaar", "done", "gereed", "stop"}),
    "next": frozenset({"klaar", "volgende", "verder", "next", "done", "volgende leerling"}),
    "later": frozenset({"later", "pauze", "pause", "stop"}),
    "back": frozenset({"vorige", "terug", "back", "previous", "vorige leerling"}),
    "step": frozenset({"verbeterstap", "stap", "step", "verbeterstap toevoegen"}),
    "skip": frozenset({"-", "overslaan", "sla over", "skip", "annuleer", "cancel"}),
}
_SUBCOMMANDS: dict[str, str] = {
    "klas": "class",
    "class": "class",
    "leerlingen": "list",
    "lijst": "list",
    "pupils": "list",
    "list": "list",
    "verwijder": "remove",
    "remove": "remove",
    "wis": "wipe",
    "wissen": "wipe",
    "wipe": "wipe",
    "erase": "wipe",
    "export": "export",
    "exporteer": "export",
    "invullen": "fill",
    "vul": "fill",
    "fill": "fill",
    "start": "fill",
    "help": "help",
    "hulp": "help",
    "bewaar": "keep",
    "bewaren": "keep",
    "keep": "keep",
}
_OFF = frozenset({"uit", "off", "nee", "no", "niet"})


def is_checklist_command(text: str) -> bool:
    """Whether a DM text is a ``/checklist ...`` command."""
    return _COMMAND_RE.match(text.strip()) is not None


def _normal(text: str) -> str:
    return " ".join(text.strip().lower().split())


class ChecklistFlow:
    """Handles everything a teacher says or presses about the checklist in their DM."""

    def __init__(
        self,
        *,
        store: Store,
        checklists: ChecklistStore,
        checklist: Checklist,
        results: ChecklistResults,
        clock: Clock,
    ) -> None:
        self._store = store
        self._checklists = checklists
        self._checklist = checklist
        self._results = results
        self._clock = clock

    # ------------------------------------------------------------------ entry

    def claims(self, event: Inbound) -> bool:
        """Whether a DM event is the checklist's rather than the quickscan's (see module doc)."""
        if event.payload is not None:
            return event.payload.startswith("cl:")
        if is_checklist_command(event.text):
            return True
        teacher = self._teacher(event)
        if teacher is None or teacher.state is T.IDLE:
            return False
        pending, busy_since = self._checklists.quickscan_activity(
            platform=event.platform, workspace=event.workspace, user=event.sender.user
        )
        if teacher.state in _ACTIVE:
            return busy_since is None or teacher.updated_at >= busy_since
        return not pending  # T.PAUSED

    def handle(self, event: Inbound) -> list[Outbound]:
        """One DM event in, the replies out (after every change is committed)."""
        if event.payload is not None:
            return self._button(event, event.payload)
        teacher = self._teacher(event)
        command = _COMMAND_RE.match(event.text.strip())
        if teacher is None:
            texts = self._texts_for_team(event)
            return [_reply(event, texts.t("checklist.not_bound"))]
        view = self.view(teacher)
        if command is not None:
            return self._command(view, command["rest"] or "")
        return self._text(view, event.text)

    def view(self, teacher: Teacher) -> ClassView:
        """Load a teacher's class and the open round once for this event."""
        team = self._store.get_team(key=teacher.key.team_key)
        round_ = self._checklists.open_round_of_team(team_id=teacher.team_id)
        return ClassView(
            teacher=teacher,
            checklist=self._checklist,
            texts=Catalogue(team.locale if team else "nl"),
            pupils=self._checklists.pupils(teacher_id=teacher.id),
            round=round_,
            entries=(
                self._checklists.class_round(teacher_id=teacher.id, round_=round_)
                if round_ is not None
                else None
            ),
        )

    def _teacher(self, event: Inbound) -> Teacher | None:
        bindings = self._checklists.teachers_of_user(
            platform=event.platform, workspace=event.workspace, user=event.sender.user
        )
        named = [teacher for teacher in bindings if teacher.key.team == event.team]
        return named[0] if named else (bindings[0] if bindings else None)

    def _texts_for_team(self, event: Inbound) -> Catalogue:
        key = TeamKey(platform=event.platform, workspace=event.workspace, team=event.team)
        team = self._store.get_team(key=key) if event.team else None
        return Catalogue(team.locale if team else "nl")

    # -------------------------------------------------------------- commands

    def _command(self, view: ClassView, rest: str) -> list[Outbound]:
        parts = rest.strip().split(maxsplit=1)
        word = parts[0].lower() if parts else "help"
        tail = parts[1] if len(parts) > 1 else ""
        sub = _SUBCOMMANDS.get(word)
        _LOG.debug("checklist: teacher %d command %s", view.teacher.id, sub or "unknown")
        if sub == "class":
            return self._start_registering(view, tail)
        if sub == "list":
            return [self._pupil_list(view)]
        if sub == "remove":
            return self._remove(view, tail)
        if sub == "wipe":
            return self._ask_wipe(view)
        if sub == "export":
            return self._export(view)
        if sub == "fill":
            return self._resume(view, notice=None)
        if sub == "keep":
            return [self._keep(view, tail)]
        texts = view.texts
        text = texts.t("checklist.help")
        if sub is None:
            text = texts.t("checklist.unknown_command", word=quote(parts[0])) + "\n\n" + text
        return [dm(view.teacher, text, buttons=go_buttons(view))]

    def _start_registering(self, view: ClassView, tail: str) -> list[Outbound]:
        teacher = self._set(view.teacher, T.REGISTERING, None)
        view = replace(view, teacher=teacher)
        texts = view.texts
        intro = texts.t(
            "checklist.class_intro",
            maximum=LABEL_MAX_CHARS,
            count=len(view.pupils),
        )
        if not tail.strip():
            return [dm(teacher, intro)]
        return self._register(view, tail, intro=intro)

    def _pupil_list(self, view: ClassView) -> Outbound:
        texts = view.texts
        if not view.pupils:
            return dm(view.teacher, texts.t("checklist.no_pupils"))
        lines = [texts.t("checklist.pupil_list", count=len(view.pupils))]
        lines += [f"{index}. {pupil.label}" for index, pupil in enumerate(view.pupils, start=1)]
        lines += ["", texts.t("checklist.pupil_list_how")]
        return dm(view.teacher, "\n".join(lines))

    def _remove(self, view: ClassView, tail: str) -> list[Outbound]:
        texts, label = view.texts, " ".join(tail.split())
        if not label:
            return [dm(view.teacher, texts.t("checklist.remove_usage"))]
        pupil = None
        if len(label) <= _SEARCH_MAX_CHARS and is_safe_text(label):
            pupil = self._checklists.find_pupil(teacher_id=view.teacher.id, label=label)
        if pupil is None:  # "/checklist verwijder 3": the number in the list
            number = parse_bounded_int(label, low=1, high=len(view.pupils))
            pupil = view.pupils[number - 1] if number is not None else None
        if pupil is None:
            text = texts.t("checklist.remove_unknown")
            if any(char.isdigit() for char in label):
                text += " " + texts.t("checklist.remove_number_hint")
            return [dm(view.teacher, text)]
        self._checklists.remove_pupil(teacher_id=view.teacher.id, pupil_id=pupil.id)
        return [
            dm(
                view.teacher,
                texts.t("checklist.removed", label=pupil.label, count=len(view.pupils) - 1),
            )
        ]

    def _keep(self, view: ClassView, tail: str) -> Outbound:
        """``/checklist bewaar [uit]``: keep the pupil data one school year longer, or not.

        The default is the AVG's: pupil data ends with the school year (1 August).
        Keeping it is the teacher's explicit choice, for one more school year only.
        """
        texts, word = view.texts, _normal(tail)
        now = self._clock.now()
        if word and word not in _OFF:
            return dm(view.teacher, texts.t("checklist.keep_usage"))
        keep_until = None if word else keep_until_for(now)
        self._checklists.set_keep_until(teacher_id=view.teacher.id, keep_until=keep_until)
        if keep_until is None:
            return dm(view.teacher, texts.t("checklist.keep_off", year=school_year_of(now) + 1))
        year = keep_until.astimezone(SCHOOL_TZ).year
        return dm(view.teacher, texts.t("checklist.keep_on", year=year))

    def _ask_wipe(self, view: ClassView) -> list[Outbound]:
        teacher = self._set(view.teacher, T.CONFIRM_WIPE, None)
        view = replace(view, teacher=teacher)
        text = view.texts.t("checklist.wipe_ask", count=len(view.pupils))
        return [dm(teacher, text, buttons=wipe_buttons(view))]

    def _export(self, view: ClassView) -> list[Outbound]:
        if not view.pupils:
            return [dm(view.teacher, view.texts.t("checklist.no_pupils"))]
        return [
            self._results.export_message(
                teacher=view.teacher, texts=view.texts, now=self._clock.now()
            )
        ]

    # ------------------------------------------------------------------- text

    def _text(self, view: ClassView, text: str) -> list[Outbound]:
        state = view.teacher.state
        if state is T.REGISTERING:
            return self._register(view, text, intro=None)
        if state is T.CONFIRM_WIPE:
            self._set(view.teacher, T.IDLE, None)
            return [dm(view.teacher, view.texts.t("checklist.wipe_cancelled"))]
        if state is T.PAUSED:
            return self._resume(view, notice=None)
        if state is T.IDLE:
            key = "checklist.idle_round" if view.round is not None else "checklist.idle"
            return [dm(view.teacher, view.texts.t(key), buttons=go_buttons(view))]
        pupil = self._on_screen(view)
        if view.round is None or pupil is None:
            return self._lost(view)
        if state is T.STEP:
            return self._step_text(view, view.round, pupil, text)
        return self._score_text(view, view.round, pupil, text)

    def _register(self, view: ClassView, text: str, *, intro: str | None) -> list[Outbound]:
        """Pupil codes, one per line, until "klaar"; refused lines are named by number.

        A refused line is never quoted back (it may be a child's name): the reply
        names its line number and why, and the advice to use initials or a number.
        """
        texts = view.texts
        labels: list[str] = []  # per line: the code to add, or "" (empty or refused)
        refused: dict[CodeProblem, list[int]] = defaultdict(list)
        finished = False
        for raw in text.splitlines():
            line = _BULLET_RE.sub("", raw.strip()).strip()
            if _normal(line) in _WORDS["done"]:
                finished = True
                break
            problem = pupil_code_problem(line) if line else None
            if problem is not None:
                refused[problem].append(len(labels) + 1)
                line = ""
            labels.append(line)
        lines = [intro] if intro else []
        given = sum(1 for label in labels if label) + sum(len(n) for n in refused.values())
        single = given == 1
        total = len(view.pupils)
        if any(labels):
            outcome = self._checklists.add_pupils(
                teacher_id=view.teacher.id, labels=labels, now=self._clock.now()
            )
            lines.append(
                texts.t("checklist.class_added", added=outcome.added, total=outcome.total)
            )
            if single and outcome.duplicate_lines:
                (number,) = outcome.duplicate_lines
                lines.append(texts.t("checklist.class_duplicate_one", label=labels[number - 1]))
            elif outcome.duplicate_lines:
                duplicates = _line_numbers(outcome.duplicate_lines)
                lines.append(texts.t("checklist.class_duplicate", lines=duplicates))
            refused[CodeProblem.TOO_LONG] += outcome.too_long_lines  # the store's own check
            if outcome.over_limit_lines:
                lines.append(texts.t("checklist.class_full", maximum=CLASS_MAX_PUPILS))
            total = outcome.total
        for problem, numbers in refused.items():
            if numbers:
                key = f"checklist.code_{problem.value}" + ("_one" if single else "")
                lines.append(
                    texts.t(key, lines=_line_numbers(sorted(numbers)), maximum=LABEL_MAX_CHARS)
                )
        if any(refused.values()):
            lines.append(texts.t("checklist.code_advice", maximum=LABEL_MAX_CHARS))
            _LOG.info(
                "checklist: teacher %d: %d lines refused as pupil codes",
                view.teacher.id,
                sum(len(numbers) for numbers in refused.values()),
            )
        if not finished:
            if not intro:
                lines.append(texts.t("checklist.class_more"))
            return [dm(view.teacher, "\n".join(lines))]
        teacher = self._set(view.teacher, T.IDLE, None)
        lines.append(texts.t("checklist.class_saved", total=total))
        if view.round is not None and total:
            lines.append(
                texts.t("checklist.class_round_open", round=round_name(view.round, texts))
            )
        fresh = replace(
            view, teacher=teacher, pupils=self._checklists.pupils(teacher_id=teacher.id)
        )
        return [dm(teacher, "\n".join(lines), buttons=go_buttons(fresh))]

    def _score_text(
        self, view: ClassView, round_: ChecklistRound, pupil: Pupil, text: str
    ) -> list[Outbound]:
        texts, word = view.texts, _normal(text)
        statements = self._checklist.statements
        if word in _WORDS["next"]:
            return self._next(view, round_, pupil)
        if word in _WORDS["later"]:
            return self._pause(view, pupil)
        if word in _WORDS["back"]:
            return self._back(view, round_, pupil)
        if word in _WORDS["step"]:
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

    def _step_text(
        self, view: ClassView, round_: ChecklistRound, pupil: Pupil, text: str
    ) -> list[Outbound]:
        texts = view.texts
        step = text.strip()
        if not step:  # a photo, a sticker, an empty message: ask again
            return [dm(view.teacher, texts.t("checklist.step_empty"))]
        if not is_safe_text(step):
            return [dm(view.teacher, texts.t("checklist.step_characters"))]
        if _normal(step) in _WORDS["skip"]:
            teacher = self._set(view.teacher, T.SCORING, pupil.id)
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

    # ---------------------------------------------------------------- buttons

    def _button(self, event: Inbound, payload: str) -> list[Outbound]:
        action = decode(payload)
        teacher = (
            self._checklists.teacher_for_user(
                platform=event.platform,
                workspace=event.workspace,
                user=event.sender.user,
                teacher_id=action.teacher_id,
            )
            if action is not None
            else None
        )
        if action is None or teacher is None:
            _LOG.info("checklist: refused a forged or foreign button")
            return [_reply(event, self._texts_for_team(event).t("checklist.invalid_button"))]
        view = self.view(teacher)
        _LOG.debug("checklist: teacher %d pressed %s", teacher.id, action.verb.value)
        if action.verb in (ClVerb.WIPE, ClVerb.KEEP):
            if teacher.state is not T.CONFIRM_WIPE:
                return self._stale(view)
            if action.verb is ClVerb.KEEP:
                self._set(teacher, T.IDLE, None)
                return [dm(teacher, view.texts.t("checklist.wipe_cancelled"))]
            return self._wipe(view)
        if view.round is None or view.round.id != action.round_id:
            return [dm(teacher, view.texts.t("checklist.round_closed"))]
        if action.verb is ClVerb.GO:
            return self._resume(view, notice=None)
        pupil = self._on_screen(view)
        if teacher.state not in _ON_SCREEN or pupil is None or pupil.id != action.pupil_id:
            return self._stale(view)
        return self._apply(view, view.round, pupil, action)

    def _apply(
        self, view: ClassView, round_: ChecklistRound, pupil: Pupil, action: ClAction
    ) -> list[Outbound]:
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
            self._set(view.teacher, T.IDLE, None)
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
            teacher = self._set(view.teacher, T.IDLE, None)
            return [self._all_done(replace(view, teacher=teacher), round_, notice=None)]
        teacher = self._set(view.teacher, T.SCORING, target.id)
        return [
            scoring_prompt(replace(view, teacher=teacher), target, round_=round_, replace=True)
        ]

    def _back(self, view: ClassView, round_: ChecklistRound, pupil: Pupil) -> list[Outbound]:
        index = view.index_of(pupil.id) or 0
        if index == 0:
            notice = view.texts.t("checklist.first_pupil")
            return [scoring_prompt(view, pupil, round_=round_, replace=False, notice=notice)]
        target = view.pupils[index - 1]
        teacher = self._set(view.teacher, T.SCORING, target.id)
        return [
            scoring_prompt(replace(view, teacher=teacher), target, round_=round_, replace=True)
        ]

    def _pause(self, view: ClassView, pupil: Pupil) -> list[Outbound]:
        self._set(view.teacher, T.PAUSED, pupil.id)
        text = view.texts.t("checklist.paused", done=view.done, total=len(view.pupils))
        return [dm(view.teacher, text)]

    def _ask_step(self, view: ClassView, pupil: Pupil) -> list[Outbound]:
        teacher = self._set(view.teacher, T.STEP, pupil.id)
        return [step_prompt(replace(view, teacher=teacher), pupil)]

    def _resume(self, view: ClassView, *, notice: str | None) -> list[Outbound]:
        """Start or resume scoring at the first unfinished pupil of the open round."""
        texts = view.texts
        if view.round is None:
            if view.teacher.state is not T.IDLE:
                self._set(view.teacher, T.IDLE, None)
            return [dm(view.teacher, texts.t("checklist.no_round"))]
        if not view.pupils:
            return [dm(view.teacher, texts.t("checklist.register_first"))]
        target = view.first_unfinished()
        if target is None:
            target = view.pupils[0]
            notice = texts.t("checklist.all_done_review", total=len(view.pupils))
        teacher = self._set(view.teacher, T.SCORING, target.id)
        return [
            scoring_prompt(
                replace(view, teacher=teacher),
                target,
                round_=view.round,
                replace=False,
                notice=notice,
            )
        ]

    def _wipe(self, view: ClassView) -> list[Outbound]:
        erased = self._checklists.wipe_teacher(teacher_id=view.teacher.id)
        self._results.export_path(teacher=view.teacher).unlink(missing_ok=True)
        return [dm(view.teacher, view.texts.t("checklist.wiped", count=erased))]

    # ---------------------------------------------------------------- helpers

    def _all_done(
        self, view: ClassView, round_: ChecklistRound, *, notice: str | None
    ) -> Outbound:
        text = view.texts.t(
            "checklist.all_done",
            total=len(view.pupils),
            round=round_name(round_, view.texts),
            deadline=deadline_text(round_, view.texts),
        )
        if notice:
            text = notice + "\n\n" + text
        return dm(view.teacher, text, replace=True)

    def _explain(self, view: ClassView, round_: ChecklistRound, pupil: Pupil) -> list[Outbound]:
        notice = view.texts.t("checklist.not_understood", count=len(self._checklist.statements))
        return [scoring_prompt(view, pupil, round_=round_, replace=False, notice=notice)]

    def _stale(self, view: ClassView) -> list[Outbound]:
        replies = [dm(view.teacher, view.texts.t("checklist.stale"))]
        pupil = self._on_screen(view)
        if view.teacher.state in _ON_SCREEN and view.round is not None and pupil is not None:
            replies.append(scoring_prompt(view, pupil, round_=view.round, replace=False))
        return replies

    def _lost(self, view: ClassView) -> list[Outbound]:
        """The pupil on screen was removed or the round closed: back to idle, say so."""
        self._set(view.teacher, T.IDLE, None)
        key = "checklist.round_closed" if view.round is None else "checklist.pupil_gone"
        return [dm(view.teacher, view.texts.t(key), buttons=go_buttons(view))]

    @staticmethod
    def _on_screen(view: ClassView) -> Pupil | None:
        pupil_id = view.teacher.pupil_id
        return next((p for p in view.pupils if p.id == pupil_id), None)

    def _set(self, teacher: Teacher, state: TeacherState, pupil_id: int | None) -> Teacher:
        return self._checklists.set_state(
            teacher_id=teacher.id, state=state, pupil_id=pupil_id, now=self._clock.now()
        )


def _reply(event: Inbound, text: str) -> Outbound:
    """A DM reply to someone whose binding could not be identified."""
    return Outbound(destination=Destination.dm(team=event.team, user=event.sender.user), text=text)


def deadline_text(round_: ChecklistRound, texts: Catalogue) -> str:
    """ " Deadline: 16-10-2026." or "" when the round has none."""
    if round_.deadline is None:
        return ""
    day = round_.deadline.astimezone(SCHOOL_TZ).strftime("%d-%m-%Y")
    return " " + texts.t("checklist.deadline", deadline=day)


def _line_numbers(numbers: Sequence[int]) -> str:
    """ "2, 5, 9", at most ``_LINES_SHOWN`` of them and then "…"."""
    shown = ", ".join(str(number) for number in numbers[:_LINES_SHOWN])
    return shown + (" …" if len(numbers) > _LINES_SHOWN else "")
