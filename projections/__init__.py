"""Tracked projections: read tables built from the ledger's events, each exactly once."""

from __future__ import annotations

from projections.balances import WalletBalances
from projections.base import Projection
from projections.generations import Gallery, Generations
from projections.journal import Journal
from projections.projector import ConcurrentProjector, Projector
from projections.statement import WalletStatement
from projections.templates import Templates


def all_projections() -> list[Projection]:
    """Every projection, in the order they are applied."""
    return [Templates(), WalletBalances(), WalletStatement(), Generations(), Gallery(), Journal()]


__all__ = ["ConcurrentProjector", "Projection", "Projector", "all_projections"]
