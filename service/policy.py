"""The credit policy: packs, redemption rate and bonuses, from a validated TOML file."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger import MAX_CREDITS, MAX_MINOR, MAX_TERM, InvalidCommand
from media.tomlfile import load_toml

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")
MAX_EXPIRY_DAYS = MAX_TERM.days  # the longest a grant may last


class PolicyError(ValueError):
    """A policy file that cannot be read or does not validate; names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pack(_Strict):
    """A credit pack for sale."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    credits: int = Field(gt=0, le=MAX_CREDITS)
    price_minor: int = Field(gt=0, le=MAX_MINOR)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class Redemption(_Strict):
    """How platform wallet balance converts to credits."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    credits_per_major_unit: int = Field(gt=0, le=MAX_CREDITS)
    minor_per_major: int = Field(default=100, gt=0)

    def credits_for(self, amount_minor: int) -> int:
        """Credits for ``amount_minor`` of wallet balance (whole credits, rounded down)."""
        return amount_minor * self.credits_per_major_unit // self.minor_per_major


class Bonus(_Strict):
    """Credits granted for an action, and when they expire."""

    expires_in_days: int = Field(default=0, ge=0, le=MAX_EXPIRY_DAYS)

    def expiry(self, at: datetime) -> datetime | None:
        """When a bonus granted at ``at`` expires (None: never); ``InvalidCommand`` past the last date."""
        if not self.expires_in_days:
            return None
        try:
            return at + timedelta(days=self.expires_in_days)
        except OverflowError:
            raise InvalidCommand(f"a bonus granted at {at} would expire {self.expires_in_days} days later, "
                                 "past the last representable date") from None


class Referral(Bonus):
    """The referral bonus, for the referrer and optionally the referee."""

    referrer_credits: int = Field(gt=0, le=MAX_CREDITS)
    referee_credits: int = Field(default=0, ge=0, le=MAX_CREDITS)


class Share(Bonus):
    """The bonus for sharing a generated image."""

    credits: int = Field(ge=0, le=MAX_CREDITS)
    max_bonuses_per_day: int = Field(default=3, ge=0)
    # A learner whose images were taken down this many times (since an operator last restored it) loses sharing.
    suspend_after_takedowns: int = Field(default=3, ge=1, le=1000)


class Spend(_Strict):
    """The bounds on a learner's own spend controls."""

    max_daily_cap: int = Field(default=MAX_CREDITS, gt=0, le=MAX_CREDITS, description="the highest daily spend "
                               "cap a learner may set, in credits")


class Alerts(_Strict):
    """When a learner is told about their wallet."""

    low_balance_below: int = Field(default=10, ge=0, le=MAX_CREDITS, description="a low-balance alert when "
                                   "available credits fall below this, unless the learner set their own")
    expiring_within_days: int = Field(default=3, ge=1, le=90, description="a credits-expiring alert this many "
                                      "days before a lot of credits lapses")


class Policy(_Strict):
    """Everything the ledger's adapters need to turn payments and referrals into credits."""

    timezone: str = Field(default="UTC", min_length=1, description="IANA time zone whose days the daily "
                          "caps count, e.g. Asia/Kolkata")
    redemption: Redemption
    referral: Referral
    share: Share
    spend: Spend = Spend()
    alerts: Alerts = Alerts()
    packs: tuple[Pack, ...] = Field(min_length=1)
    max_template_cost: int = Field(default=1000, ge=1, description="the highest price a template may be "
                                   "published at, in credits")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (an IANA name such as 'UTC' or 'Asia/Kolkata')") from None
        return name

    def day_of(self, at: datetime) -> str:
        """The policy's day (ISO date in its time zone) that the instant ``at`` falls on."""
        return at.astimezone(ZoneInfo(self.timezone)).date().isoformat()

    def day_ends(self, day: str) -> datetime:
        """When the policy's ``day`` (ISO date) ends: the next midnight in its time zone."""
        zone = ZoneInfo(self.timezone)
        following = date.fromisoformat(day) + timedelta(days=1)
        return datetime(following.year, following.month, following.day, tzinfo=zone)

    @model_validator(mode="after")
    def _unique_packs(self) -> Policy:
        ids = [p.id for p in self.packs]
        if len(ids) != len(set(ids)):
            raise ValueError(f"pack ids must be unique, got {ids}")
        return self

    @model_validator(mode="after")
    def _packs_beat_redemption(self) -> Policy:
        # A pack that gives fewer credits per currency unit than redeeming the same money would never
        # be bought. Compared in integers: credits / price_minor >= credits_per_major_unit / minor_per_major.
        rate = self.redemption
        for pack in self.packs:
            if pack.currency != rate.currency:
                continue
            if pack.credits * rate.minor_per_major < rate.credits_per_major_unit * pack.price_minor:
                per_unit = pack.credits * rate.minor_per_major / pack.price_minor
                raise ValueError(
                    f"pack {pack.id!r} gives {per_unit:.2f} credits per {pack.currency}, fewer than the "
                    f"{rate.credits_per_major_unit} of redemption: {pack.price_minor} {pack.currency} minor units "
                    f"redeemed give {rate.credits_for(pack.price_minor)} credits, the pack {pack.credits}")
        return self

    def pack(self, pack_id: str) -> Pack | None:
        """The pack ``pack_id``, or None."""
        return next((p for p in self.packs if p.id == pack_id), None)


def load_policy(path: Path | None = None) -> Policy:
    """Read and validate the policy file; a bad file raises ``PolicyError`` naming file and field."""
    return load_toml(path or DEFAULT_POLICY, Policy, PolicyError, whole="policy")


def check_share_bonus(policy: Policy, costs: Mapping[str, int], *, source: Path) -> None:
    """Refuse a share bonus worth a whole generation of some template: ``PolicyError`` naming both."""
    # Generate, share, repeat: a bonus at least the cost of the image it is earned on makes
    # every share free (or a profit), so a wallet could grow without ever paying.
    bonus = policy.share.credits
    if bonus <= 0 or policy.share.max_bonuses_per_day == 0:
        return
    paid_for = sorted((cost, template_id) for template_id, cost in costs.items() if cost <= bonus)
    if paid_for:
        cost, template_id = paid_for[0]
        raise PolicyError(
            f"{source}: the share bonus ({bonus} credits, [share] credits) pays for its own generation: template "
            f"{template_id!r} costs {cost}; the bonus must be less than every template's cost")
