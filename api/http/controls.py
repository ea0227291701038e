"""Request and response bodies of the spend controls (a learner's wallet settings, an operator's freeze) and of
the alerts about a wallet.

Kept beside ``schemas.py`` (which holds the rest) so that neither grows past the modules' size bound."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledger import MAX_CREDITS, MAX_MINOR

REASON_CHARS = 200


class AutoTopUp(BaseModel):
    """Buy a pack through the platform wallet when available credits fall below ``below``."""

    model_config = ConfigDict(extra="forbid")
    pack_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    below: int = Field(ge=1, le=MAX_CREDITS, description="a top-up when available credits fall below this")
    monthly_cap_minor: int = Field(gt=0, le=MAX_MINOR, description="the most charged in a calendar month")


class AutoTopUpPublic(AutoTopUp):
    """The learner's auto top-up, and whether a declined one paused it."""

    paused: str | None = Field(description="why it is paused (a declined top-up); PUT it again to resume")


class WalletSettingsUpdate(BaseModel):
    """The learner's own spend controls; every field is sent (null: no cap)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"daily_spend_cap": 40,
                                                                               "low_balance_below": 15}]})
    daily_spend_cap: int | None = Field(ge=0, le=MAX_CREDITS, description=(
        "credits a day at most (the days of the policy's time zone), within the policy's `max_daily_cap`; "
        "null: no cap"))
    low_balance_below: int | None = Field(default=None, ge=0, le=MAX_CREDITS, description=(
        "a `low-balance` alert when available credits fall below this; null or absent: the policy's"))
    auto_top_up: AutoTopUp | None = Field(default=None, description="null or absent: no auto top-up")


class WalletSettingsPublic(BaseModel):
    """The learner's spend controls, and what today has spent against them (read from the ledger itself:
    a change is seen at once)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "daily_spend_cap": 40, "low_balance_below": 15, "max_daily_cap": 10000, "spent_today": 12,
        "resets_at": "2026-03-02T00:00:00+05:30",
        "frozen": False, "frozen_reason": None}]})
    daily_spend_cap: int | None
    low_balance_below: int = Field(description="the threshold of the low-balance alert in force")
    auto_top_up: AutoTopUpPublic | None
    max_daily_cap: int = Field(description="the highest cap the policy lets a learner set")
    spent_today: int = Field(description="credits held or spent today, less those returned")
    resets_at: datetime = Field(description="when today (in the policy's time zone) ends and the cap counts anew")
    frozen: bool
    frozen_reason: str | None = Field(description="the operator's reason while the wallet is frozen")


class FreezeCreate(BaseModel):
    """Why an operator freezes or unfreezes a wallet (a chargeback, a fraud review, its end)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "chargeback 4521"}]})
    reason: str = Field(min_length=1, max_length=REASON_CHARS, description="shown to the learner and on the "
                        "statement; printable text, trimmed")

    @field_validator("reason")
    @classmethod
    def _printable(cls, value: str) -> str:
        # A reason is shown on a learner's statement and in problems: no control or invisible format
        # characters (a bidi override could make it read otherwise), no blank one.
        trimmed = value.strip()
        if not trimmed:
            raise ValueError("must not be blank")
        bad = next((c for c in trimmed if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")), None)
        if bad is not None:
            raise ValueError(f"must be printable text, got U+{ord(bad):04X}")
        return trimmed


class AlertPublic(BaseModel):
    """Something a learner is told about their wallet, once: ``low-balance`` (available credits fell below
    their threshold), ``recovered`` (back at or above it), ``recharge-declined`` (with the platform's reason),
    ``credits-expiring`` (a lot of credits lapses within the policy's days)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "alert_id": "low-balance@412", "kind": "low-balance", "occurred_at": "2026-03-01T10:00:00Z",
        "details": {"available": 8, "threshold": 10}, "position": 412}]})
    alert_id: str
    kind: Literal["low-balance", "recovered", "recharge-declined", "credits-expiring", "auto-top-up-failed"]
    occurred_at: datetime
    details: dict[str, Any]
    position: int


class AlertDeliveryPublic(BaseModel):
    """One alert's webhook delivery: pending (to be tried at ``next_try``), delivered, or failed (given up:
    replay it)."""

    alert_id: str
    position: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_try: datetime
    last_error: str
    delivered_at: datetime | None
