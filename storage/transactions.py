"""One transaction per event: the unit of work every store call joins.

INTERFACE FIRST (helper A implements).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session


@contextmanager
def unit_of_work(engine: Engine, *, locks: Sequence[str] = ()) -> Iterator[Connection]:
    """Open one transaction that every store call inside joins; commit at the end.

    ``locks`` are names serialised across processes for this transaction
    (PostgreSQL: ``pg_advisory_xact_lock``; SQLite: the write lock of
    ``BEGIN IMMEDIATE`` already serialises every writer).
    """
    raise NotImplementedError
    yield  # pragma: no cover


class Sessions:
    """A drop-in for ``sessionmaker(engine)``: ``begin()`` joins the open unit of work."""

    def __init__(self, engine: Engine) -> None:
        raise NotImplementedError

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A session in its own transaction, or inside the open unit of work."""
        raise NotImplementedError
        yield  # pragma: no cover
