"""What a projection is: a name, the tables it owns, and a function applying a page of stored events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, Table

from ledger.follow import Stored


class Projection(Protocol):
    """A read model: applies events to its own tables inside the transaction the projector gives it."""

    @property
    def name(self) -> str:
        """The projection's name, the key of its tracking row."""

    @property
    def tables(self) -> tuple[Table, ...]:
        """The tables it owns (emptied on rebuild)."""

    def apply(self, conn: Connection, page: Sequence[Stored]) -> None:
        """Apply a page of stored events, in order, to this projection's tables (few statements per page)."""
