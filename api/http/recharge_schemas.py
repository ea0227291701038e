"""Request and response bodies of recharges from the platform wallet."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ledger import MAX_MINOR
from ledger.recharge import RechargeStatus


class RechargeCreate(BaseModel):
    """Platform wallet balance to convert to credits at the policy's rate."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount_minor": 500,
                                                                               "currency": "INR"}]})
    amount_minor: int = Field(gt=0, le=MAX_MINOR, description="minor units (paise) that buy whole credits")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="the policy's redemption currency")


class RechargePublic(BaseModel):
    """A recharge and where it stands: requested (the platform is being asked), confirmed (credits granted),
    declined (with the platform's reason) or lapsed (no answer by its deadline: support looks into it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "recharge_id": "2f1c7a9e-0b5d-5c1e-8f3a-6d0e9b1a2c3d", "status": "requested", "amount_minor": 500,
        "currency": "INR", "credits": 50, "detail": "", "attempts": 0, "position": 80}]})
    recharge_id: str
    status: RechargeStatus
    amount_minor: int
    currency: str
    credits: int
    detail: str = Field(description="the platform's reason for a decline, or what the last attempt met")
    attempts: int = Field(description="debits tried without an answer")
    position: int = Field(description="the ledger position of the request (0 on a read)")


class RechargeTermsPublic(BaseModel):
    """What a recharge from the platform wallet gives: the learner's balance when the platform tells it, the
    rate and the bounds of an amount."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "available": True, "balance_minor": 50000, "currency": "INR", "demo": True, "credits_per_major_unit": 10,
        "minor_per_major": 100, "min_amount_minor": 10, "step_minor": 10, "max_amount_minor": 50000}]})
    available: bool = Field(description="whether recharges are taken here at all")
    balance_minor: int | None = Field(description="the platform wallet's balance; null when it is not known now")
    currency: str
    demo: bool = Field(description="true: a demonstration balance, not money")
    credits_per_major_unit: int
    minor_per_major: int
    min_amount_minor: int = Field(description="the least amount: one credit")
    step_minor: int = Field(description="amounts are multiples of this: whole credits")
    max_amount_minor: int
