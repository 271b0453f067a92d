"""The repository the engine uses for everything it stores.

Each public method is one short transaction and returns frozen records, never
ORM objects. Every read is scoped by the team key (platform + workspace + team)
or by the owning user, so a forged id from one team can never reach another
team's rows.

The methods live in one repository per aggregate (``teams``, ``rounds``,
``participations``, ``answers``; ``enrolments`` reads a participation with its
round and team at once); ``Store`` composes them, so callers keep one
object and every repository shares the same sessions and cipher. Inside a unit of
work (storage/transactions.py) every method joins the event's transaction.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage import db
from storage.crypto import FieldCipher
from storage.quickscan.answers import ROTATE_BATCH, AnswerRepository
from storage.quickscan.enrolments import Enrolment, EnrolmentRepository
from storage.quickscan.participations import ParticipationRepository
from storage.quickscan.rounds import RoundRepository
from storage.quickscan.shared import (
    OPEN_ANSWER_PREFIX,
    UnknownParticipationError,
    UnknownTeamError,
)
from storage.quickscan.teams import TeamRepository
from storage.transactions import Sessions

__all__ = [
    "OPEN_ANSWER_PREFIX",
    "Enrolment",
    "ROTATE_BATCH",
    "Store",
    "UnknownParticipationError",
    "UnknownTeamError",
]


class Store(
    TeamRepository,
    RoundRepository,
    ParticipationRepository,
    EnrolmentRepository,
    AnswerRepository,
):
    """All persistence of the bot: teams, coordinators, rounds, participations, answers.

    Attributes:
        engine: The SQLAlchemy engine (owned: ``close`` disposes it).
        cipher: Seals open answers at rest; the checklist store shares it.
    """

    def __init__(self, *, engine: Engine, cipher: FieldCipher | None = None) -> None:
        """Wrap an engine whose schema is already migrated (see ``Store.open``).

        ``cipher`` seals free-text answers before they are written and opens them
        after reading, so a copied database file does not give them away; None (or
        a cipher without keys) stores them as typed.
        """
        self.engine = engine
        self.cipher = cipher if cipher is not None else FieldCipher()
        # Records are built inside the transaction; no need to expire afterwards.
        self._sessions = Sessions(engine)

    @classmethod
    def open(cls, *, url: str, migrate: bool = True, cipher: FieldCipher | None = None) -> Store:
        """Connect to a database and bring its schema up to date.

        Args:
            url: SQLAlchemy URL (``sqlite:///…`` or ``postgresql://…``).
            migrate: Run Alembic ``upgrade head`` first; off only for tests that
                inspect an unmigrated database.
            cipher: Encryption at rest of open answers (``QUICKSCAN_ENCRYPTION_KEY``).

        Returns:
            A ready store.
        """
        engine = db.create_engine_for(url=url)
        if migrate:
            db.migrate(engine=engine)
        return cls(engine=engine, cipher=cipher)

    def close(self) -> None:
        """Release all pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()
