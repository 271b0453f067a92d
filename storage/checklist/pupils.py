"""A teacher's class: pupils entered by label, found and removed by label.

Labels are the most sensitive values the bot stores: duplicates are found before
inserting and reported by line number, never by the label itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.checklist import lifecycle
from storage.checklist.records import LABEL_MAX_CHARS, AddPupilsOutcome, Pupil
from storage.checklist.shared import CLASS_MAX_PUPILS, LOG, ChecklistRepositoryBase, label_key
from storage.models.checklist import ChecklistPupilRow
from storage.quickscan.queries import dialect_insert


class PupilRepository(ChecklistRepositoryBase):
    """A teacher's pupils."""

    def add_pupils(
        self, *, teacher_id: int, labels: Sequence[str], now: datetime
    ) -> AddPupilsOutcome:
        """Add pupils in the order given; duplicates and over-long labels are skipped.

        Nothing about a skipped label is raised or logged: the outcome names line
        numbers (1-based positions in ``labels``), which the DM reply can turn back
        into the teacher's own text.

        Args:
            teacher_id: The class owner (already checked to be the sender's).
            labels: The labels as typed, already stripped; empty ones are ignored.
            now: Current time (aware UTC).
        """
        duplicates: list[int] = []
        too_long: list[int] = []
        over_limit: list[int] = []
        with self._sessions.begin() as session:
            # Compared on the opened labels, not on the stored keys: a class entered
            # before a key change (and not yet rotated) still finds its duplicates.
            existing = {
                label_key(self._cipher.open(stored)): pupil_id
                for stored, pupil_id in session.execute(
                    select(ChecklistPupilRow.label, ChecklistPupilRow.id).where(
                        ChecklistPupilRow.teacher_id == teacher_id
                    )
                ).all()
            }
            position = (
                session.scalar(
                    select(func.max(ChecklistPupilRow.position)).where(
                        ChecklistPupilRow.teacher_id == teacher_id
                    )
                )
                or 0
            )
            rows: list[dict[str, Any]] = []
            for line, label in enumerate(labels, start=1):
                if not label:
                    continue
                key = label_key(label)
                if len(label) > LABEL_MAX_CHARS:
                    too_long.append(line)
                elif key in existing:
                    duplicates.append(line)
                elif len(existing) >= CLASS_MAX_PUPILS:
                    over_limit.append(line)
                else:
                    position += 1
                    existing[key] = 0
                    rows.append(
                        {
                            "teacher_id": teacher_id,
                            "label": self._cipher.seal(label),
                            "label_key": self._cipher.lookup_key(key),
                            "position": position,
                            "created_at": now,
                        }
                    )
            if rows:
                try:
                    with session.begin_nested():
                        session.execute(
                            dialect_insert(self.engine, ChecklistPupilRow).values(rows)
                        )
                except IntegrityError:
                    # A concurrent insert of the same label; hide_parameters keeps the
                    # label out of the original error, and it is not chained here.
                    msg = f"class of checklist teacher {teacher_id} changed concurrently"
                    raise RuntimeError(msg) from None
            total = len(existing)
        LOG.info(
            "checklist: teacher %d added %d pupils (%d duplicate, %d too long, %d over limit)",
            teacher_id,
            len(rows),
            len(duplicates),
            len(too_long),
            len(over_limit),
        )
        return AddPupilsOutcome(
            added=len(rows),
            duplicate_lines=tuple(duplicates),
            too_long_lines=tuple(too_long),
            over_limit_lines=tuple(over_limit),
            total=total,
        )

    def pupils(self, *, teacher_id: int) -> list[Pupil]:
        """A teacher's class in the order it was entered."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(ChecklistPupilRow)
                .where(ChecklistPupilRow.teacher_id == teacher_id)
                .order_by(ChecklistPupilRow.position, ChecklistPupilRow.id)
            )
            return [self._pupil_record(row) for row in rows]

    def find_pupil(self, *, teacher_id: int, label: str) -> Pupil | None:
        """The teacher's pupil with this label (compared like the unique constraint).

        The stored key is tried first; a class keyed under an older encryption key
        (not yet rotated) is searched on its opened labels.
        """
        with self._sessions.begin() as session:
            row = session.scalars(
                select(ChecklistPupilRow).where(
                    ChecklistPupilRow.teacher_id == teacher_id,
                    ChecklistPupilRow.label_key == self._lookup(label),
                )
            ).one_or_none()
            if row is not None:
                return self._pupil_record(row)
            wanted = label_key(label)
            for candidate in session.scalars(
                select(ChecklistPupilRow).where(ChecklistPupilRow.teacher_id == teacher_id)
            ):
                pupil = self._pupil_record(candidate)
                if label_key(pupil.label) == wanted:
                    return pupil
            return None

    def remove_pupil(self, *, teacher_id: int, pupil_id: int) -> bool:
        """Remove one pupil of this teacher with all their scores and steps.

        Returns:
            False when the pupil is not (or no longer) the teacher's.
        """
        with self._sessions.begin() as session:
            owned = session.scalar(
                select(ChecklistPupilRow.id).where(
                    ChecklistPupilRow.id == pupil_id, ChecklistPupilRow.teacher_id == teacher_id
                )
            )
            if owned is None:
                return False
            # Also sends the teacher back to idle if this pupil was on screen.
            lifecycle.delete_pupils(session, [pupil_id])
        self._erased()
        LOG.info("checklist: teacher %d removed pupil %d", teacher_id, pupil_id)
        return True
