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

This module routes a DM event to its part: the class list
(``conversations.checklist.class_list``) or the scoring of pupils
(``conversations.checklist.scoring``). What it needs of the results (the class
export) is the :class:`~conversations.checklist.class_list.ClassExports` protocol,
so the conversation never imports the layer above it.
"""

from __future__ import annotations

import logging
import re

from conversations.checklist.class_list import ClassExports, ClassList
from conversations.checklist.part import on_screen
from conversations.checklist.prompts import ClassView, ClVerb, decode, dm, go_buttons
from conversations.checklist.scoring import ON_SCREEN, Scoring
from conversations.checklist.words import Sub, subcommand
from conversations.core.clock import Clock
from conversations.core.i18n import Catalogue
from conversations.core.messages import Destination, Inbound, Outbound
from conversations.core.text_input import quote
from conversations.instrument import Checklist
from storage.checklist.records import Teacher
from storage.checklist.records import TeacherState as T
from storage.checklist.store import ChecklistStore
from storage.keys import TeamKey
from storage.quickscan.store import Store

_LOG = logging.getLogger(__name__)

_COMMAND_RE = re.compile(r"^/checklist(?:@\S+)?(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)
# Plain text claims the DM in these states (PAUSED is decided separately).
_ACTIVE = frozenset({T.REGISTERING, T.SCORING, T.STEP, T.CONFIRM_WIPE})


def is_checklist_command(text: str) -> bool:
    """Whether a DM text is a ``/checklist ...`` command."""
    return _COMMAND_RE.match(text.strip()) is not None


class ChecklistFlow:
    """Handles everything a teacher says or presses about the checklist in their DM."""

    def __init__(
        self,
        *,
        store: Store,
        checklists: ChecklistStore,
        checklist: Checklist,
        exports: ClassExports,
        clock: Clock,
    ) -> None:
        self._store = store
        self._checklists = checklists
        self._checklist = checklist
        self._class = ClassList(
            checklists=checklists, checklist=checklist, clock=clock, exports=exports
        )
        self._scoring = Scoring(checklists=checklists, checklist=checklist, clock=clock)

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
        sub = subcommand(parts[0]) if parts else Sub.HELP
        tail = parts[1] if len(parts) > 1 else ""
        _LOG.debug("checklist: teacher %d command %s", view.teacher.id, sub or "unknown")
        if sub is Sub.CLASS:
            return self._class.start_registering(view, tail)
        if sub is Sub.LIST:
            return [self._class.pupil_list(view)]
        if sub is Sub.REMOVE:
            return self._class.remove(view, tail)
        if sub is Sub.WIPE:
            return self._class.ask_wipe(view)
        if sub is Sub.EXPORT:
            return self._class.export(view)
        if sub is Sub.FILL:
            return self._scoring.resume(view)
        if sub is Sub.KEEP:
            return [self._class.keep(view, tail)]
        texts = view.texts
        text = texts.t("checklist.help")
        if sub is None:
            text = texts.t("checklist.unknown_command", word=quote(parts[0])) + "\n\n" + text
        return [dm(view.teacher, text, buttons=go_buttons(view))]

    # ------------------------------------------------------------------- text

    def _text(self, view: ClassView, text: str) -> list[Outbound]:
        state = view.teacher.state
        if state is T.REGISTERING:
            return self._class.register(view, text, intro=None)
        if state is T.CONFIRM_WIPE:
            return self._class.cancel_wipe(view)
        if state is T.PAUSED:
            return self._scoring.resume(view)
        if state is T.IDLE:
            key = "checklist.idle_round" if view.round is not None else "checklist.idle"
            return [dm(view.teacher, view.texts.t(key), buttons=go_buttons(view))]
        pupil = on_screen(view)
        if view.round is None or pupil is None:
            return self._scoring.lost(view)
        if state is T.STEP:
            return self._scoring.step_text(view, view.round, pupil, text)
        return self._scoring.score_text(view, view.round, pupil, text)

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
                return self._scoring.stale(view)
            if action.verb is ClVerb.KEEP:
                return self._class.cancel_wipe(view)
            return self._class.wipe(view)
        if view.round is None or view.round.id != action.round_id:
            return [dm(teacher, view.texts.t("checklist.round_closed"))]
        if action.verb is ClVerb.GO:
            return self._scoring.resume(view)
        pupil = on_screen(view)
        if teacher.state not in ON_SCREEN or pupil is None or pupil.id != action.pupil_id:
            return self._scoring.stale(view)
        return self._scoring.apply(view, view.round, pupil, action)


def _reply(event: Inbound, text: str) -> Outbound:
    """A DM reply to someone whose binding could not be identified."""
    return Outbound(destination=Destination.dm(team=event.team, user=event.sender.user), text=text)
