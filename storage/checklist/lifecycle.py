"""The life cycle of checklist pupil data: the school year it lives in, export, erasure, keys.

Pupil codes, scores and verbeterstappen are personal data of children; the AVG asks
that they are kept no longer than needed. The checklist is a school-year instrument
(round 1 before the herfstvakantie, round 2 after the kerstvakantie), so a pupil's
data ends with the school year it was entered in, on 1 August (Europe/Amsterdam),
unless the teacher explicitly keeps it for one more school year
(``checklist_teachers.keep_until``).

These functions work inside a session that ``ChecklistStore`` opens, so each of its
public methods stays one transaction; they never log or raise a pupil code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.checklist.records import TeacherState
from storage.crypto import FieldCipher
from storage.models.checklist import (
    ChecklistPupilRow,
    ChecklistRoundRow,
    ChecklistScoreRow,
    ChecklistStepRow,
    ChecklistTeacherRow,
)
from storage.models.quickscan import TeamRow
from storage.quickscan.queries import rowcount

SCHOOL_TZ = ZoneInfo("Europe/Amsterdam")
"""School years and their end are Dutch dates, whatever the server's time zone."""

SCHOOL_YEAR_START_MONTH = 8
"""School years run from 1 August: January 2027 belongs to school year 2026/27."""

_CHUNK = 500
"""Ids per DELETE: a school's year-end purge stays far below any bound-parameter limit."""

ERASED_USER = "erased"
"""What replaces a forgotten member's id where a row must stay (who opened a round)."""


def school_year_of(moment: datetime) -> int:
    """The school year (its starting calendar year) of a moment, in school time."""
    day = moment.astimezone(SCHOOL_TZ).date()
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_start(year: int) -> datetime:
    """1 August 00:00 Europe/Amsterdam of school year ``year``, in UTC."""
    return datetime(year, SCHOOL_YEAR_START_MONTH, 1, tzinfo=SCHOOL_TZ).astimezone(UTC)


def keep_until_for(now: datetime) -> datetime:
    """Until when "keep my data" keeps it: the end of the next school year (1 August).

    Chosen in school year 2026/27, the data stays through 2027/28 and goes on
    1 August 2028: one school year more, never open-ended.
    """
    return school_year_start(school_year_of(now) + 2)


def _pupils_of(teacher_ids: Any) -> Any:
    return select(ChecklistPupilRow.id).where(ChecklistPupilRow.teacher_id.in_(teacher_ids))


def delete_pupils(session: Session, pupil_ids: Sequence[int]) -> int:
    """Delete pupils with their scores and steps; reset teachers who had one on screen.

    Explicit deletes rather than relying on the cascade, which a SQLite connection
    without the foreign-keys pragma would not run.
    """
    for start in range(0, len(pupil_ids), _CHUNK):
        chunk = pupil_ids[start : start + _CHUNK]
        for table in (ChecklistScoreRow, ChecklistStepRow):
            session.execute(
                delete(table)
                .where(table.pupil_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
        session.execute(
            delete(ChecklistPupilRow)
            .where(ChecklistPupilRow.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(ChecklistTeacherRow)
            .where(ChecklistTeacherRow.pupil_id.in_(chunk))
            .values(pupil_id=None, state=TeacherState.IDLE.value)
            .execution_options(synchronize_session=False)
        )
    return len(pupil_ids)


def delete_teachers(session: Session, teacher_ids: Sequence[int]) -> int:
    """Delete teachers' bindings with their classes, scores and steps; returns pupils deleted."""
    if not teacher_ids:
        return 0
    erased = delete_pupils(session, list(session.scalars(_pupils_of(teacher_ids))))
    session.execute(
        delete(ChecklistTeacherRow)
        .where(ChecklistTeacherRow.id.in_(teacher_ids))
        .execution_options(synchronize_session=False)
    )
    return erased


def purge_expired(session: Session, *, now: datetime) -> int:
    """Delete the pupils entered in an earlier school year, unless their teacher keeps them.

    A pupil entered before 1 August of the current school year belongs to a school
    year that is over. A teacher's ``keep_until`` in the future protects their whole
    class for one school year more, never longer: choosing "keep" again in that
    extra year moves ``keep_until`` on for the class entered then, but a pupil
    entered two school years ago goes all the same. A ``keep_until`` that has passed
    is cleared with the data.

    Returns:
        How many pupils were deleted.
    """
    year = school_year_of(now)
    threshold = school_year_start(year)
    expiring = select(ChecklistTeacherRow.id).where(
        or_(ChecklistTeacherRow.keep_until.is_(None), ChecklistTeacherRow.keep_until <= now)
    )
    pupil_ids = list(
        session.scalars(
            select(ChecklistPupilRow.id).where(
                or_(
                    and_(
                        ChecklistPupilRow.teacher_id.in_(expiring),
                        ChecklistPupilRow.created_at < threshold,
                    ),
                    ChecklistPupilRow.created_at < school_year_start(year - 1),
                )
            )
        )
    )
    deleted = delete_pupils(session, pupil_ids)
    session.execute(
        update(ChecklistTeacherRow)
        .where(ChecklistTeacherRow.keep_until <= now)
        .values(keep_until=None)
        .execution_options(synchronize_session=False)
    )
    return deleted


def forget_user(session: Session, *, platform: str, workspace: str, user: str) -> int:
    """Erase every checklist binding of a member in a workspace, with their classes.

    The rounds the member opened stay (they belong to the team), without the
    member's id.

    Returns:
        How many pupils were erased.
    """
    teams = select(TeamRow.id).where(TeamRow.platform == platform, TeamRow.workspace == workspace)
    teacher_ids = list(
        session.scalars(
            select(ChecklistTeacherRow.id).where(
                ChecklistTeacherRow.user_ref == user, ChecklistTeacherRow.team_id.in_(teams)
            )
        )
    )
    erased = delete_teachers(session, teacher_ids)
    session.execute(
        update(ChecklistRoundRow)
        .where(ChecklistRoundRow.opened_by == user, ChecklistRoundRow.team_id.in_(teams))
        .values(opened_by=ERASED_USER)
        .execution_options(synchronize_session=False)
    )
    return erased


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def user_data(
    session: Session, *, platform: str, workspace: str, user: str, cipher: FieldCipher
) -> list[dict[str, object]]:
    """Everything the checklist holds about a member, per team, as JSON-ready dicts.

    For the member's own data export (AVG right of access): their bindings, and per
    pupil the code, the scores per round and the verbeterstappen, opened (readable)
    whatever the encryption at rest.
    """
    bindings = session.execute(
        select(ChecklistTeacherRow, TeamRow)
        .join(TeamRow, TeamRow.id == ChecklistTeacherRow.team_id)
        .where(
            ChecklistTeacherRow.user_ref == user,
            TeamRow.platform == platform,
            TeamRow.workspace == workspace,
        )
        .order_by(ChecklistTeacherRow.id)
    ).all()
    result: list[dict[str, object]] = []
    for teacher, team in bindings:
        rounds = {
            row.id: row
            for row in session.scalars(
                select(ChecklistRoundRow).where(ChecklistRoundRow.team_id == team.id)
            )
        }
        pupils = list(
            session.scalars(
                select(ChecklistPupilRow)
                .where(ChecklistPupilRow.teacher_id == teacher.id)
                .order_by(ChecklistPupilRow.position, ChecklistPupilRow.id)
            )
        )
        owned = [pupil.id for pupil in pupils]
        scores: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
        for score in session.scalars(
            select(ChecklistScoreRow).where(ChecklistScoreRow.pupil_id.in_(owned))
        ):
            scores[score.pupil_id, score.round_id][score.statement_id] = score.value
        steps = {
            (step.pupil_id, step.round_id): cipher.open(step.text)
            for step in session.scalars(
                select(ChecklistStepRow).where(ChecklistStepRow.pupil_id.in_(owned))
            )
        }
        pupil_entries: list[dict[str, object]] = []
        for pupil in pupils:
            per_round = []
            for round_id in sorted({r for p, r in (*scores, *steps) if p == pupil.id}):
                round_row = rounds.get(round_id)
                per_round.append(
                    {
                        "school_year": round_row.school_year if round_row else None,
                        "round": round_row.number if round_row else None,
                        "scores": dict(sorted(scores.get((pupil.id, round_id), {}).items())),
                        "verbeterstap": steps.get((pupil.id, round_id)),
                    }
                )
            pupil_entries.append(
                {
                    "code": cipher.open(pupil.label),
                    "position": pupil.position,
                    "created_at": _iso(pupil.created_at),
                    "rounds": per_round,
                }
            )
        result.append(
            {
                "kind": "checklist_teacher",
                "team": team.team_ref,
                "display_name": teacher.display_name,
                "bound_at": _iso(teacher.bound_at),
                "keep_until": _iso(teacher.keep_until),
                "pupils": pupil_entries,
            }
        )
    return result


def rotate(session: Session, *, cipher: FieldCipher, key_of: Any) -> int:
    """Re-seal every pupil code and step with the newest key and recompute lookup keys.

    Also seals values stored before encryption was switched on. ``key_of`` maps a
    plain label to its lookup key (the store's rule), so the unique constraint keeps
    working after the key changed.

    The bot keeps running meanwhile: every new value is computed first, then written
    with an UPDATE that only applies if the row still holds what was read. A step a
    teacher changed (or a pupil removed) in between is left alone, never overwritten
    with the re-sealed old text; running the rotation again picks it up.

    Returns:
        How many rows changed.
    """
    if not cipher.enabled:
        return 0
    pupils = []
    for pupil_id, stored, stored_key in session.execute(
        select(ChecklistPupilRow.id, ChecklistPupilRow.label, ChecklistPupilRow.label_key)
    ).all():
        label = cipher.rotate(stored) if cipher.needs_rotation(stored) else stored
        lookup = key_of(cipher.open(label))
        if label != stored or lookup != stored_key:
            pupils.append((pupil_id, stored, stored_key, label, lookup))
    steps = [
        (round_id, pupil_id, stored, cipher.rotate(stored))
        for round_id, pupil_id, stored in session.execute(
            select(ChecklistStepRow.round_id, ChecklistStepRow.pupil_id, ChecklistStepRow.text)
        ).all()
        if cipher.needs_rotation(stored)
    ]
    changed = 0
    for pupil_id, stored, stored_key, label, lookup in pupils:
        changed += rowcount(
            session.execute(
                update(ChecklistPupilRow)
                .where(
                    ChecklistPupilRow.id == pupil_id,
                    ChecklistPupilRow.label == stored,
                    ChecklistPupilRow.label_key == stored_key,
                )
                .values(label=label, label_key=lookup)
                .execution_options(synchronize_session=False)
            )
        )
    for round_id, pupil_id, stored, text in steps:
        changed += rowcount(
            session.execute(
                update(ChecklistStepRow)
                .where(
                    ChecklistStepRow.round_id == round_id,
                    ChecklistStepRow.pupil_id == pupil_id,
                    ChecklistStepRow.text == stored,
                )
                .values(text=text)
                .execution_options(synchronize_session=False)
            )
        )
    return changed
