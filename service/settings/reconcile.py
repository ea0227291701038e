"""How settlement reports are matched against the ledger: the provider's settlement window and the date tolerance
for lines that name no payment (STUDIO_SETTLEMENT_WINDOW_DAYS, STUDIO_SETTLEMENT_TOLERANCE_HOURS)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from service.settings.parts import StudioSettings


class ReconcileSettings(StudioSettings):
    """The settlement window (a payment not settled by then is overdue) and the matching tolerance."""

    settlement_window_days: int = Field(default=3, ge=0, le=90)
    settlement_tolerance_hours: int = Field(default=24, ge=0, le=24 * 31)

    def window(self) -> timedelta:
        """How long after a payment the provider settles it at the latest."""
        return timedelta(days=self.settlement_window_days)

    def tolerance(self) -> timedelta:
        """How far from the settlement window a line without a payment id may be from its payment."""
        return timedelta(hours=self.settlement_tolerance_hours)
