"""Button payloads and DM prompts of the checklist, rendered from one loaded ``ClassView``.

Payloads look like ``cl:7:s:3:41:2-3`` = "teacher 7, score, round 3, pupil 41,
statement 2 gets option 3". They carry row ids only, never a pupil label, so a
payload that is logged, forwarded or shown by a platform reveals nothing; and they
are never trusted: the flow checks that the sender owns teacher 7, that pupil 41 is
in that class and on screen, and that round 3 is the open round, before acting.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as replace_fields

from conversations.checklist.naming import round_name
from conversations.checklist.scale import is_complete
from conversations.core.i18n import Catalogue
from conversations.core.limits import check_payload
from conversations.core.messages import Button, Destination, Outbound
from conversations.instrument import Checklist
from storage.checklist.records import ChecklistRound, ClassRound, Pupil, Teacher

PREFIX = "cl"
# Only the canonical ASCII form: ``fullmatch`` (``$`` would allow a trailing newline)
# and ``[0-9]`` (``\d`` would take "７" or "٣", which ``int`` reads as digits).
_PAYLOAD_RE = re.compile(
    r"cl:([0-9]{1,12}):([a-z]{1,2}):([0-9]{1,12}):([0-9]{1,12})(?::([0-9]{1,2})-([0-9]{1,2}))?",
    re.ASCII,
)
CHOSEN_MARK = " \u2713"  # ✓ on the score button that is set


class ClVerb(enum.StrEnum):
    """What a checklist button does."""

    SCORE = "s"  # arg: statement number (1-based) and option index (0-based)
    NEXT = "n"  # next unfinished pupil
    BACK = "b"  # previous pupil in class order
    LATER = "p"  # pause
    STEP = "v"  # the next text is this pupil's verbeterstap
    GO = "go"  # start or resume scoring in this round
    WIPE = "w"  # confirm: erase all my checklist data
    KEEP = "k"  # cancel the erasure


@dataclass(frozen=True, slots=True)
class ClAction:
    """A decoded checklist button press (or a typed text interpreted as one)."""

    teacher_id: int
    verb: ClVerb
    round_id: int = 0
    pupil_id: int = 0
    statement: int | None = None
    option: int | None = None

    def encode(self) -> str:
        """The payload, checked against the 64-byte platform limit."""
        tail = "" if self.statement is None else f":{self.statement}-{self.option or 0}"
        return check_payload(
            f"{PREFIX}:{self.teacher_id}:{self.verb.value}:{self.round_id}:{self.pupil_id}{tail}"
        )


def decode(payload: str) -> ClAction | None:
    """The action of a payload, or None when it is malformed (forged or foreign)."""
    match = _PAYLOAD_RE.fullmatch(payload)
    if match is None:
        return None
    try:
        verb = ClVerb(match[2])
    except ValueError:
        return None
    if (verb is ClVerb.SCORE) != (match[5] is not None):
        return None
    return ClAction(
        teacher_id=int(match[1]),
        verb=verb,
        round_id=int(match[3]),
        pupil_id=int(match[4]),
        statement=int(match[5]) if match[5] is not None else None,
        option=int(match[6]) if match[6] is not None else None,
    )


@dataclass(frozen=True, slots=True)
class ClassView:
    """Everything one event needs about a teacher's class in a round, loaded once."""

    teacher: Teacher
    checklist: Checklist
    texts: Catalogue
    pupils: Sequence[Pupil]
    round: ChecklistRound | None
    entries: ClassRound | None

    def scores_of(self, pupil_id: int) -> Mapping[str, str]:
        """The pupil's scores in the open round ({} when none)."""
        return self.entries.scores.get(pupil_id, {}) if self.entries is not None else {}

    def step_of(self, pupil_id: int) -> str | None:
        """The pupil's verbeterstap in the open round."""
        return self.entries.steps.get(pupil_id) if self.entries is not None else None

    def complete(self, pupil_id: int) -> bool:
        """All statements scored for this pupil in the open round."""
        return is_complete(self.checklist, self.scores_of(pupil_id))

    @property
    def done(self) -> int:
        """Pupils fully scored."""
        return sum(1 for pupil in self.pupils if self.complete(pupil.id))

    def index_of(self, pupil_id: int) -> int | None:
        """0-based place of the pupil in the class, None if not in it."""
        return next((i for i, pupil in enumerate(self.pupils) if pupil.id == pupil_id), None)

    def first_unfinished(self) -> Pupil | None:
        """The first pupil in class order without all scores."""
        return next((p for p in self.pupils if not self.complete(p.id)), None)

    def next_unfinished(self, pupil_id: int) -> Pupil | None:
        """The next unfinished pupil after this one, wrapping round; None when all done."""
        start = self.index_of(pupil_id)
        start = -1 if start is None else start
        ordered = [*self.pupils[start + 1 :], *self.pupils[: start + 1]]
        return next((p for p in ordered if p.id != pupil_id and not self.complete(p.id)), None)


def dm(
    teacher: Teacher, text: str, *, buttons: tuple[Button, ...] = (), replace: bool = False
) -> Outbound:
    """A message to the teacher's own DM: the only place a label may appear."""
    return Outbound(
        destination=Destination.dm(team=teacher.key.team, user=teacher.key.user),
        text=text,
        buttons=buttons,
        replace_previous=replace,
    )


def _button(view: ClassView, key: str, verb: ClVerb, pupil_id: int = 0) -> Button:
    round_id = view.round.id if view.round is not None else 0
    action = ClAction(teacher_id=view.teacher.id, verb=verb, round_id=round_id, pupil_id=pupil_id)
    return Button(label=view.texts.t(key), payload=action.encode())


def go_buttons(view: ClassView) -> tuple[Button, ...]:
    """ "Nu invullen" for announcements and reminders (only while a round is open)."""
    if view.round is None or not view.round.is_open or not view.pupils:
        return ()
    return (_button(view, "checklist.button_go", ClVerb.GO),)


def wipe_buttons(view: ClassView) -> tuple[Button, ...]:
    """Confirm or cancel erasing everything."""
    return (
        _button(view, "checklist.button_wipe", ClVerb.WIPE),
        _button(view, "checklist.button_keep", ClVerb.KEEP),
    )


def scoring_prompt(
    view: ClassView,
    pupil: Pupil,
    *,
    round_: ChecklistRound,
    replace: bool,
    notice: str | None = None,
) -> Outbound:
    """One pupil: the six statements with their current score, and six rows of buttons.

    The statements are numbered in the text and the buttons are labelled
    ``<statement>: <score>`` in statement order, four per statement, so an adapter
    that lays buttons out in rows of four shows one row per statement.
    """
    checklist, texts = view.checklist, view.texts
    index = view.index_of(pupil.id) or 0
    scores = view.scores_of(pupil.id)
    lines = []
    if notice:
        lines += [notice, ""]
    lines += [
        texts.t(
            "checklist.pupil_header",
            round=round_name(round_, texts),
            number=index + 1,
            total=len(view.pupils),
            label=pupil.label,
        ),
        texts.t("checklist.pupil_done", done=view.done, count=len(view.pupils)),
        "",
    ]
    for number, statement in enumerate(checklist.statements, start=1):
        code = scores.get(statement.id)
        chosen = "·"
        if code is not None:
            option = checklist.scale.by_code(code)
            chosen = f"*{option.code}* ({option.label})"
        lines.append(f"{number}. {statement.text} → {chosen}")
    step = view.step_of(pupil.id)
    if step:
        lines += ["", texts.t("checklist.pupil_step", step=step)]
    lines += [
        "",
        " · ".join(f"{option.code} {option.label}" for option in checklist.scale.options),
        texts.t("checklist.pupil_fast", count=len(checklist.statements)),
    ]
    buttons: list[Button] = []
    for number, statement in enumerate(checklist.statements, start=1):
        code = scores.get(statement.id)
        for option_index, option in enumerate(checklist.scale.options):
            action = ClAction(
                teacher_id=view.teacher.id,
                verb=ClVerb.SCORE,
                round_id=round_.id,
                pupil_id=pupil.id,
                statement=number,
                option=option_index,
            )
            label = f"{number}: {option.code}" + (CHOSEN_MARK if code == option.code else "")
            buttons.append(Button(label=label, payload=action.encode()))
    if view.complete(pupil.id):
        buttons.append(_button(view, "checklist.button_next", ClVerb.NEXT, pupil.id))
        buttons.append(_button(view, "checklist.button_step", ClVerb.STEP, pupil.id))
    if index > 0:
        buttons.append(_button(view, "checklist.button_back", ClVerb.BACK, pupil.id))
    buttons.append(_button(view, "checklist.button_later", ClVerb.LATER, pupil.id))
    message = dm(view.teacher, "\n".join(lines), buttons=tuple(buttons), replace=replace)
    # Four scores per statement: one row per statement where the adapter lays out rows.
    return replace_fields(message, columns=len(view.checklist.scale.options))


def step_prompt(view: ClassView, pupil: Pupil) -> Outbound:
    """Ask for the verbeterstap of one pupil (the next text message is the step)."""
    current = view.step_of(pupil.id)
    text = view.texts.t("checklist.step_ask", label=pupil.label)
    if current:
        text += "\n" + view.texts.t("checklist.step_current", step=current)
    return Outbound(
        destination=Destination.dm(team=view.teacher.key.team, user=view.teacher.key.user),
        text=text,
        free_text=True,
    )
