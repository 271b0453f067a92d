"""The repository of the checklist oudercontact: bound teachers, classes, rounds, scores.

Like ``storage.quickscan.store.Store``: each public method is one short transaction,
returns frozen records, and scopes every read by the team key or by the owning user, so a
forged id in a button payload can never reach another teacher's class.

Pupil labels are the most sensitive thing the bot stores. This repository talks to
the database through its own view of the engine with ``hide_parameters`` set, so
neither SQLAlchemy's statement log (at INFO/DEBUG) nor the text of a database error
ever contains a label; duplicates are found before inserting and reported by line
number. With a ``FieldCipher`` that has keys, labels and verbeterstappen are stored
sealed and the unique ``label_key`` is a keyed hash, so a copied database file holds
no pupil code in readable form. Erasing (a pupil, a class, a member, the end of the
school year) checkpoints SQLite's WAL afterwards, so the values are gone from disk.

The methods live in one repository per aggregate (``teachers``, ``pupils``,
``rounds``, ``scores``); ``ChecklistStore`` composes them over one private view of
the engine. Inside a unit of work (storage/transactions.py) they join the event's
transaction, still logging through the checklist's own quiet logger.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from storage.checklist.pupils import PupilRepository
from storage.checklist.rounds import RoundRepository
from storage.checklist.scores import ScoreRepository
from storage.checklist.shared import CLASS_MAX_PUPILS, SQL_LOG, label_key
from storage.checklist.teachers import TeacherRepository
from storage.crypto import FieldCipher
from storage.transactions import Sessions

__all__ = ["CLASS_MAX_PUPILS", "ChecklistStore", "label_key"]


class ChecklistStore(TeacherRepository, PupilRepository, RoundRepository, ScoreRepository):
    """All persistence of the checklist, on the same database as ``Store``.

    Attributes:
        engine: The SQLAlchemy engine it was given (not owned: ``Store.close``
            disposes it).
    """

    def __init__(self, *, engine: Engine, cipher: FieldCipher | None = None) -> None:
        """Share the engine of an already migrated ``Store`` (``engine=store.engine``).

        Args:
            engine: The migrated database.
            cipher: Seals pupil labels and verbeterstappen at rest; None or a cipher
                without keys stores them as typed.
        """
        self.engine = engine
        self._cipher = cipher if cipher is not None else FieldCipher()
        # Same pool and dialect, but bound parameters (pupil labels) are kept out of
        # SQL logs and of database error messages. SQLAlchemy also logs result rows
        # at DEBUG, which hide_parameters does not cover: the checklist's statements
        # log to their own logger, quiet (WARNING) unless an operator configures it,
        # so a root logger at DEBUG never prints a row with a label.
        private = engine.execution_options()
        private.hide_parameters = True
        if SQL_LOG.level == logging.NOTSET:
            SQL_LOG.setLevel(logging.WARNING)
        private.logger = SQL_LOG
        self._sessions = Sessions(private)
