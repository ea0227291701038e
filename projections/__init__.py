"""Tracked projections: read tables built from the ledger's events, each exactly once."""

from __future__ import annotations

from projections.alerts import DEFAULT_LOW_BALANCE_BELOW, WalletAlerts
from projections.balances import WalletBalances
from projections.base import Projection
from projections.generations import Gallery, Generations
from projections.journal import Journal
from projections.projector import ConcurrentProjector, Projector
from projections.statement import WalletStatement


def all_projections(*, low_balance_below: int = DEFAULT_LOW_BALANCE_BELOW) -> list[Projection]:
    """Every projection, in the order they are applied (``low_balance_below``: the policy's threshold)."""
    return [WalletBalances(), WalletStatement(), Generations(), Gallery(), Journal(),
            WalletAlerts(low_balance_below=low_balance_below)]


__all__ = ["ConcurrentProjector", "Projection", "Projector", "all_projections"]
