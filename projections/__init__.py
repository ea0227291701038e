"""Tracked projections: read tables built from the ledger's events, each exactly once."""

from __future__ import annotations

from projections.alerts import DEFAULT_LOW_BALANCE_BELOW, WalletAlerts
from projections.balances import WalletBalances
from projections.base import Projection
from projections.descriptions import Subjects
from projections.generations import Gallery, Generations
from projections.journal import Journal
from projections.projector import ConcurrentProjector, Projector
from projections.reconciliations import Reconciliations
from projections.reports import Reports
from projections.statement import WalletStatement
from projections.templates import Templates


def all_projections(earlier: Subjects | None = None, *,
                    low_balance_below: int = DEFAULT_LOW_BALANCE_BELOW) -> list[Projection]:
    """Every projection, in the order they are applied; ``earlier`` names the generations of template
    versions the ledger never published (requested before templates were kept in the ledger);
    ``low_balance_below``: the policy's alert threshold."""
    return [Templates(), WalletBalances(), WalletStatement(earlier), Generations(), Gallery(), Journal(),
            WalletAlerts(low_balance_below=low_balance_below), Reports(), Reconciliations()]


__all__ = ["ConcurrentProjector", "Projection", "Projector", "all_projections"]
