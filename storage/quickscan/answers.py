"""Reading answers, and re-sealing open answers with a new key (part of ``Store``)."""

from __future__ import annotations

from itertools import groupby

from sqlalchemy import bindparam, select, tuple_, update

from storage.keys import TeamKey
from storage.models.quickscan import AnswerRow, ParticipationRow, RoundRow
from storage.quickscan.shared import OPEN_ANSWER_PREFIX, RepositoryBase, team_id_of

_ANSWERS = (  # built once: it runs for every answer (see shared.py)
    select(AnswerRow.item_id, AnswerRow.value)
    .where(AnswerRow.participation_id == bindparam("participation_id"))
    .order_by(AnswerRow.item_id)
)
ROTATE_BATCH = 500
"""Answers re-sealed per transaction by ``rotate_keys`` (short locks on a live database)."""


class AnswerRepository(RepositoryBase):
    """Answers of one participation, a round's anonymous answers, key rotation."""

    def answers(self, *, participation_id: int) -> dict[str, str]:
        """The answers of one participation (caller checked ownership), by item id."""
        with self._sessions.begin() as session:
            rows = session.execute(_ANSWERS, {"participation_id": participation_id}).all()
            return {item_id: self._open(item_id, value) for item_id, value in rows}

    def submitted_answers(self, *, key: TeamKey, round_id: int) -> list[dict[str, str]]:
        """The answers of every submitted participation, without who gave them.

        One query for the whole round; the report only needs values, so user ids
        never leave the database here.

        Returns:
            One item-id-to-value dict per submitted participation, by participation id.
        """
        with self._sessions.begin() as session:
            rows = session.execute(
                select(ParticipationRow.id, AnswerRow.item_id, AnswerRow.value)
                .join(RoundRow, RoundRow.id == ParticipationRow.round_id)
                .outerjoin(AnswerRow, AnswerRow.participation_id == ParticipationRow.id)
                .where(
                    ParticipationRow.round_id == round_id,
                    ParticipationRow.submitted_at.is_not(None),
                    RoundRow.team_id == team_id_of(key),
                )
                .order_by(ParticipationRow.id, AnswerRow.item_id)
            ).all()
        result: list[dict[str, str]] = []
        # Outer join: a submitted participation without answers gives one NULL row.
        for _, group in groupby(rows, key=lambda row: row.id):
            result.append(
                {
                    row.item_id: self._open(row.item_id, row.value)
                    for row in group
                    if row.item_id is not None
                }
            )
        return result

    def rotate_keys(self) -> int:
        """Re-seal every open answer with the newest key (``quickscan sleutel-roteren``).

        Plain answers stored before a key was set are sealed too, so after this
        the oldest key can be dropped from ``QUICKSCAN_ENCRYPTION_KEY``. Works in
        batches of short transactions, and only rewrites what needs it, so it can
        run beside a live bot and be repeated after an interruption.

        Returns:
            How many answers were rewritten.
        """
        if not self.cipher.enabled:
            return 0
        rewritten = 0
        after: tuple[int, str] = (0, "")
        while True:
            with self._sessions.begin() as session:
                rows = session.execute(
                    select(AnswerRow.participation_id, AnswerRow.item_id, AnswerRow.value)
                    .where(
                        AnswerRow.item_id.startswith(OPEN_ANSWER_PREFIX, autoescape=True),
                        tuple_(AnswerRow.participation_id, AnswerRow.item_id) > tuple_(*after),
                    )
                    .order_by(AnswerRow.participation_id, AnswerRow.item_id)
                    .limit(ROTATE_BATCH)
                ).all()
                for participation_id, item_id, stored in rows:
                    if not self.cipher.needs_rotation(stored):
                        continue
                    session.execute(
                        update(AnswerRow)
                        .where(
                            AnswerRow.participation_id == participation_id,
                            AnswerRow.item_id == item_id,
                            AnswerRow.value == stored,
                        )
                        .values(value=self.cipher.rotate(stored))
                        .execution_options(synchronize_session=False)
                    )
                    rewritten += 1
            if len(rows) < ROTATE_BATCH:
                return rewritten
            after = (rows[-1].participation_id, rows[-1].item_id)
