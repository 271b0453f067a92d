"""What every part of the checklist DM flow shares: the store, the instrument, the clock.

The flow is split by what a teacher is doing (keeping their class list, scoring
pupils); each part moves the teacher's state the same way, committed at once, so
a restart resumes exactly where the teacher was.
"""

from __future__ import annotations

from conversations.checklist.prompts import ClassView
from conversations.core.clock import Clock
from conversations.instrument import Checklist
from storage.checklist.records import Pupil, Teacher, TeacherState
from storage.checklist.store import ChecklistStore


class FlowPart:
    """Base of the flow's parts: the shared collaborators and the state change."""

    def __init__(self, *, checklists: ChecklistStore, checklist: Checklist, clock: Clock) -> None:
        self._checklists = checklists
        self._checklist = checklist
        self._clock = clock

    def set_state(self, teacher: Teacher, state: TeacherState, pupil_id: int | None) -> Teacher:
        """Commit the teacher's next state (and the pupil on screen) and return the row."""
        return self._checklists.set_state(
            teacher_id=teacher.id, state=state, pupil_id=pupil_id, now=self._clock.now()
        )


def on_screen(view: ClassView) -> Pupil | None:
    """The pupil whose message the teacher has in front of them, if still in the class."""
    pupil_id = view.teacher.pupil_id
    return next((p for p in view.pupils if p.id == pupil_id), None)
