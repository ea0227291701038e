"""Tracked projections: read tables built from the ledger's events, each exactly once."""

from __future__ import annotations

from projections.balances import WalletBalances
from projections.base import Projection
from projections.descriptions import Subjects
from projections.generations import Gallery, Generations
from projections.journal import Journal
from projections.projector import ConcurrentProjector, Projector
from projections.reports import Reports
from projections.statement import WalletStatement
from projections.templates import Templates


def all_projections(earlier: Subjects | None = None) -> list[Projection]:
    """Every projection, in the order they are applied; ``earlier`` names the generations of template
    versions the ledger never published (requested before templates were kept in the ledger)."""
    return [Templates(), WalletBalances(), WalletStatement(earlier), Generations(), Gallery(), Journal(), Reports()]


__all__ = ["ConcurrentProjector", "Projection", "Projector", "all_projections"]
