"""What a projection is: a name, the tables it owns, and the writes a page of stored events makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Executable, Table

from ledger.event_store.follow import Stored

# One statement with its parameters (a dict, or a list of dicts for many rows).
Write = tuple[Executable, Any]


class Projection(Protocol):
    """A read model: turns a page of events into writes to its own tables.

    It may read its own tables through ``conn`` first (inside the page's transaction); the writes
    it returns are then run in order, in the same transaction, by the projector, which on
    PostgreSQL sends every projection's writes for the page to the server at once.
    """

    @property
    def name(self) -> str:
        """The projection's name, the key of its tracking row."""

    @property
    def tables(self) -> tuple[Table, ...]:
        """The tables it owns (emptied on rebuild)."""

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The statements that apply a page of stored events, in order, to this projection's tables
        (few per page: rows of one kind go in one statement)."""
