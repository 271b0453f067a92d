"""The teacher's class list in the DM: registering pupil codes, removing, keeping, erasing.

Pupil codes are hostile input: each line must pass
:func:`conversations.checklist.pupil_codes.pupil_code_problem`, and a refused line
is never quoted back (it may be a child's name); the reply names its line number
and why. Labels appear only in the teacher's own DM; log lines carry row ids and
counts only.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from conversations.checklist.naming import round_name
from conversations.checklist.part import FlowPart
from conversations.checklist.prompts import ClassView, dm, go_buttons, wipe_buttons
from conversations.checklist.pupil_codes import CodeProblem, pupil_code_problem
from conversations.checklist.words import Nav, is_word
from conversations.core.clock import SCHOOL_TZ, Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Outbound
from conversations.core.text_input import is_safe_text, parse_bounded_int
from conversations.instrument import Checklist
from storage.checklist.lifecycle import keep_until_for, school_year_of
from storage.checklist.records import LABEL_MAX_CHARS, Teacher
from storage.checklist.records import TeacherState as T
from storage.checklist.store import CLASS_MAX_PUPILS, ChecklistStore

_LOG = logging.getLogger(__name__)

_BULLET_RE = re.compile(r"^(?:[-*\u2022]\s+)")
# Labels stored before codes were limited to 12 characters were up to 40 long; a
# search for a longer or unstorable text cannot match and is not sent to the database.
_SEARCH_MAX_CHARS = 40
# Line numbers named in one reply: a pasted spreadsheet does not become a wall of text.
_LINES_SHOWN = 10


class ClassExports(Protocol):
    """What the flow needs of the checklist results: the class export, queued and discarded.

    The results live a layer above the conversation (``bot.checklist``); the flow
    names only what it uses, so it never imports them.
    """

    def export_message(self, *, teacher: Teacher, texts: Catalogue, now: datetime) -> Outbound:
        """The teacher's class list as a file to their own DM (rendered at delivery)."""
        ...

    def discard_export(self, *, teacher: Teacher) -> None:
        """Remove the teacher's exported file, if any (their data is being erased)."""
        ...


class ClassList(FlowPart):
    """Keeps a teacher's class: pupil codes in, the list out, removal, retention, erasure."""

    def __init__(
        self,
        *,
        checklists: ChecklistStore,
        checklist: Checklist,
        clock: Clock,
        exports: ClassExports,
    ) -> None:
        super().__init__(checklists=checklists, checklist=checklist, clock=clock)
        self._exports = exports

    def start_registering(self, view: ClassView, tail: str) -> list[Outbound]:
        """``/checklist klas [codes]``: from now on every line is a pupil code."""
        teacher = self.set_state(view.teacher, T.REGISTERING, None)
        view = replace(view, teacher=teacher)
        intro = view.texts.t(
            "checklist.class_intro", maximum=LABEL_MAX_CHARS, count=len(view.pupils)
        )
        if not tail.strip():
            return [dm(teacher, intro)]
        return self.register(view, tail, intro=intro)

    def register(self, view: ClassView, text: str, *, intro: str | None) -> list[Outbound]:
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
            if is_word(line, nav=Nav.DONE):
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
                texts.t("checklist.class_added", added=outcome.added, count=outcome.total)
            )
            if single and outcome.duplicate_lines:
                (number,) = outcome.duplicate_lines
                lines.append(texts.t("checklist.class_duplicate_one", label=labels[number - 1]))
            elif outcome.duplicate_lines:
                duplicates = _line_numbers(outcome.duplicate_lines)
                lines.append(
                    texts.t(
                        "checklist.class_duplicate",
                        lines=duplicates,
                        count=len(outcome.duplicate_lines),
                    )
                )
            refused[CodeProblem.TOO_LONG] += outcome.too_long_lines  # the store's own check
            if outcome.over_limit_lines:
                lines.append(texts.t("checklist.class_full", maximum=CLASS_MAX_PUPILS))
            total = outcome.total
        for problem, numbers in refused.items():
            if numbers:
                key = f"checklist.code_{problem.value}" + ("_one" if single else "")
                lines.append(
                    texts.t(
                        key,
                        lines=_line_numbers(sorted(numbers)),
                        maximum=LABEL_MAX_CHARS,
                        count=len(numbers),
                    )
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
        teacher = self.set_state(view.teacher, T.IDLE, None)
        lines.append(texts.t("checklist.class_saved", count=total))
        if view.round is not None and total:
            lines.append(
                texts.t("checklist.class_round_open", round=round_name(view.round, texts))
            )
        fresh = replace(
            view, teacher=teacher, pupils=self._checklists.pupils(teacher_id=teacher.id)
        )
        return [dm(teacher, "\n".join(lines), buttons=go_buttons(fresh))]

    def pupil_list(self, view: ClassView) -> Outbound:
        """``/checklist leerlingen``: the class, numbered as ``verwijder <n>`` reads it."""
        texts = view.texts
        if not view.pupils:
            return dm(view.teacher, texts.t("checklist.no_pupils"))
        lines = [texts.t("checklist.pupil_list", count=len(view.pupils))]
        lines += [f"{index}. {pupil.label}" for index, pupil in enumerate(view.pupils, start=1)]
        lines += ["", texts.t("checklist.pupil_list_how")]
        return dm(view.teacher, "\n".join(lines))

    def remove(self, view: ClassView, tail: str) -> list[Outbound]:
        """``/checklist verwijder <code or number>``: the pupil and all their scores."""
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

    def keep(self, view: ClassView, tail: str) -> Outbound:
        """``/checklist bewaar [uit]``: keep the pupil data one school year longer, or not.

        The default is the AVG's: pupil data ends with the school year (1 August).
        Keeping it is the teacher's explicit choice, for one more school year only.
        """
        texts = view.texts
        now = self._clock.now()
        turned_off = is_word(tail, nav=Nav.OFF)
        if tail.strip() and not turned_off:
            return dm(view.teacher, texts.t("checklist.keep_usage"))
        keep_until = None if turned_off else keep_until_for(now)
        self._checklists.set_keep_until(teacher_id=view.teacher.id, keep_until=keep_until)
        if keep_until is None:
            return dm(view.teacher, texts.t("checklist.keep_off", year=school_year_of(now) + 1))
        year = keep_until.astimezone(SCHOOL_TZ).year
        return dm(view.teacher, texts.t("checklist.keep_on", year=year))

    def ask_wipe(self, view: ClassView) -> list[Outbound]:
        """``/checklist wis``: ask to confirm with a button (any text cancels)."""
        teacher = self.set_state(view.teacher, T.CONFIRM_WIPE, None)
        view = replace(view, teacher=teacher)
        text = view.texts.t("checklist.wipe_ask", count=len(view.pupils))
        return [dm(teacher, text, buttons=wipe_buttons(view))]

    def cancel_wipe(self, view: ClassView) -> list[Outbound]:
        """The teacher said no (a button or any text): nothing is erased."""
        self.set_state(view.teacher, T.IDLE, None)
        return [dm(view.teacher, view.texts.t("checklist.wipe_cancelled"))]

    def wipe(self, view: ClassView) -> list[Outbound]:
        """Erase the teacher's binding, class, scores and exported file."""
        erased = self._checklists.wipe_teacher(teacher_id=view.teacher.id)
        self._exports.discard_export(teacher=view.teacher)
        return [dm(view.teacher, view.texts.t("checklist.wiped", count=erased))]

    def export(self, view: ClassView) -> list[Outbound]:
        """``/checklist export``: the class list as .xlsx, to the teacher's own DM."""
        if not view.pupils:
            return [dm(view.teacher, view.texts.t("checklist.no_pupils"))]
        return [
            self._exports.export_message(
                teacher=view.teacher, texts=view.texts, now=self._clock.now()
            )
        ]


def _line_numbers(numbers: Sequence[int]) -> str:
    """ "2, 5, 9", at most ``_LINES_SHOWN`` of them and then "…"."""
    shown = ", ".join(str(number) for number in numbers[:_LINES_SHOWN])
    return shown + (" …" if len(numbers) > _LINES_SHOWN else "")
