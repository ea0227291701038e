"""The composition root: builds the ledger and its adapters from settings."""

from __future__ import annotations

from ledger import Ledger
from service.settings.store import StoreSettings, check_database


def build_ledger(settings: StoreSettings | None = None) -> Ledger:
    """The ledger on the configured event store, with group commit when configured; ``StartupError``
    names a PostgreSQL database that is missing or out of reach."""
    settings = settings or StoreSettings()
    check_database(settings)
    return Ledger(
        settings.event_store_env(),
        burn_order=settings.burn_order,
        group_commit=settings.group_commit,
        max_batch=settings.group_commit_max_batch,
        linger=settings.group_commit_linger_ms / 1000,
    )
