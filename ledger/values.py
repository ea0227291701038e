"""Value types of the ledger: deterministic ids, credits, money, grants and holds, and the per-wallet hash."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.errors import InvalidAmount, InvalidCommand
from ledger.names import IdKind, derived_id

NAMESPACE = uuid5(NAMESPACE_URL, "https://studio-ledger/ids")
GENESIS_HASH = "0" * 64
TEMPLATES_NAMESPACE = uuid5(NAMESPACE_URL, "https://studio-ledger/templates")  # apart from the ledger's own ids

PAID_SOURCES = frozenset({"purchase", "redemption"})

# The largest amount one command may carry: credits in one grant, hold, capture or adjustment, and
# minor units in one price or redeemed value. Every edge (HTTP bodies, the payments webhook, Kafka
# messages, the policy file) refuses more with these same numbers, and so does the domain.
# Sums stay far inside the read side's BIGINT columns (2**63 - 1, about 9.2e18): a wallet's
# balance or lifetime figure reaches it only after 9.2e12 grants of MAX_CREDITS each, a
# currency's journal total only after 9.2e8 payments of MAX_MINOR each (a billion payments of
# 100 million major units: INR 10 crore, USD 100 million), beyond any horizon this ledger runs.
MAX_CREDITS = 1_000_000
MAX_MINOR = 10_000_000_000
# The longest a grant may last or a hold stay open: a century. Further is a typo, and near year 9999
# a date cannot be moved to UTC or have a duration added (read columns store UTC).
MAX_TERM = timedelta(days=36_500)


def stable_id(kind: str, reference: str) -> UUID:
    """A deterministic id for an external reference, so a repeat maps to the same id.

    Only for one name after a fixed kind: a wallet's (``wallet``), a reference's (``reference:<kind>``,
    a closed list of colon-free kinds) and the generations of user ids without a colon. Each text
    then reads back one way (the kind is known, and everything after it is the one name), and
    stored wallets, references and generations have these ids. Ids made of several names come from
    ``ledger.names.derived_id``, in namespaces of their own.
    """
    return uuid5(NAMESPACE, f"{kind}:{reference}")


@functools.lru_cache(maxsize=65_536)
def wallet_id(user_id: str) -> UUID:
    """The deterministic id of ``user_id``'s wallet."""
    return stable_id("wallet", user_id)


def template_uuid(template_id: str) -> UUID:
    """The deterministic aggregate id of the template ``template_id`` (e.g. ``poster-webinar``)."""
    return uuid5(TEMPLATES_NAMESPACE, template_id)


def generation_id(user_id: str, request_key: str) -> UUID:
    """The deterministic id of the generation ``user_id`` requested with ``request_key``."""
    if ":" in user_id:
        # "a:b" + "c" and "a" + "b:c" were one text, and so one generation, as "<user>:<key>".
        return derived_id(IdKind.GENERATION, user_id, request_key)
    # Without a colon in the user id, "<user>:<key>" reads back one way (the user id ends at the first
    # colon), and every generation stored before the length-prefixed form has this id.
    return stable_id("generation", f"{user_id}:{request_key}")


def former_generation_id(user_id: str, request_key: str) -> UUID | None:
    """The id the request had before ``generation_id`` told user ids with a colon apart, when it differs."""
    return stable_id("generation", f"{user_id}:{request_key}") if ":" in user_id else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)  # UUID


def canonical(data: Any) -> str:
    """A canonical JSON text: sorted keys, no spaces; UUIDs as text, datetimes in ISO 8601,
    dataclasses (Money) as the dict of their fields. The auditor rebuilds it from stored JSON."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_plain)


def event_hash(event: Any) -> str:
    """The hash of one stored wallet event: the next event carries it as ``prev_hash``."""
    return hashlib.sha256(canonical(vars(event)).encode()).hexdigest()


def digest(data: Any) -> str:
    """A command's payload fingerprint: the first 128 bits of the SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical(data).encode()).hexdigest()[:32]


def credits(value: int, what: str = "amount") -> int:
    """Check that ``value`` is a positive whole number of credits, at most ``MAX_CREDITS``, and return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidAmount(f"{what} must be a positive whole number of credits, got {value!r}")
    if value > MAX_CREDITS:
        raise InvalidAmount(f"{what} must be at most {MAX_CREDITS} credits, got {value}")
    return value


def later(at: datetime, duration: timedelta, what: str) -> datetime:
    """``at`` plus ``duration``; ``InvalidCommand`` naming ``what`` when that is past the last
    representable date (year 9999), a refusal instead of an ``OverflowError`` in the caller."""
    try:
        return at + duration
    except OverflowError:
        raise InvalidCommand(f"{what}: {at.isoformat()} plus {duration} is past the last representable date") from None


def check_term(expires_at: datetime, *, at: datetime, what: str) -> datetime:
    """Check that ``what``'s deadline ``expires_at`` is after ``at`` and at most ``MAX_TERM`` later."""
    if expires_at <= at:
        raise InvalidCommand(f"{what} would expire at {expires_at}, before {at}")
    if expires_at - at > MAX_TERM:  # a difference never overflows, a UTC conversion near year 9999 may
        raise InvalidCommand(f"{what} would expire at {expires_at}, more than {MAX_TERM.days} days after {at}")
    return expires_at


@dataclass(frozen=True)
class Money:
    """An amount of money in integer minor units (paise, cents) of an ISO currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int) or self.minor < 0:
            raise InvalidAmount(f"money must be a non-negative whole number of minor units, got {self.minor!r}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidAmount(f"currency must be a three-letter ISO code, got {self.currency!r}")


@dataclass
class Grant:
    """Credits that entered the wallet from one source, and what became of them."""

    grant_id: str
    source: str
    amount: int
    remaining: int
    expires_at: datetime | None
    price: Money | None
    version: int
    consumed: int = 0
    closed: str | None = None  # "refunded" or "reversed": returns to it are clawed back

    def is_usable(self, at: datetime) -> bool:
        """Whether the grant's remaining credits can be spent at ``at``."""
        return self.closed is None and (self.expires_at is None or self.expires_at > at)


# Where a hold stands: placed and unresolved, or ended one way (each ending is a ``Wallet.HoldResolution``).
HoldStatus = Literal["pending", "captured", "released", "expired"]


@dataclass
class Hold:
    """Credits reserved from specific grants until captured, released or expired."""

    hold_id: str
    amount: int
    portions: dict[str, int]
    expires_at: datetime
    digest: str
    placed_version: int
    status: HoldStatus = "pending"
    captured: int = 0
    resolution: str = ""  # digest of the resolving command
    resolved_version: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    day: str = ""  # the policy's day a generation's spending counts on ("" for other holds)

    @property
    def is_pending(self) -> bool:
        """Whether the hold is placed and not yet captured, released or expired."""
        return self.status == "pending"
