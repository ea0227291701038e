"""Grants as lots: the order credits burn in, which grants a hold takes from, how a hold's credits
go back, what has expired, and what a refund pays. Pure functions of grants and holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ledger.errors import InsufficientCredits
from ledger.values import PAID_SOURCES, Grant, Hold, Money

BURN_ORDER_PARTS = ("expiry", "free", "paid", "oldest", "newest")  # what a burn order is made of
DEFAULT_BURN_ORDER = ("expiry", "free", "oldest")
_FAR_FUTURE = datetime.max.replace(tzinfo=None)


def burn_key(grant: Grant, order: tuple[str, ...]) -> tuple[Any, ...]:
    """The sort key that puts grants in burn order (soonest expiry, free before paid, oldest)."""
    parts: dict[str, Any] = {
        "expiry": grant.expires_at.replace(tzinfo=None) if grant.expires_at else _FAR_FUTURE,
        "free": grant.source in PAID_SOURCES,
        "paid": grant.source not in PAID_SOURCES,
        "oldest": grant.version,
        "newest": -grant.version,
    }
    return (*tuple(parts[name] for name in order), grant.version)


def take(grants: Iterable[Grant], amount: int, at: datetime, order: tuple[str, ...], wallet: str) -> dict[str, int]:
    """The credits (grant id -> count) that make up ``amount`` from the grants usable at ``at``, in
    burn order; ``InsufficientCredits`` (naming ``wallet``) when they hold fewer."""
    usable = sorted((g for g in grants if g.remaining and g.is_usable(at)), key=lambda g: burn_key(g, order))
    portions: dict[str, int] = {}
    need = amount
    for grant in usable:
        n = min(grant.remaining, need)
        portions[grant.grant_id] = n
        need -= n
        if need == 0:
            return portions
    raise InsufficientCredits(wallet, amount, amount - need)


def split(portions: dict[str, int], amount: int) -> tuple[dict[str, int], dict[str, int]]:
    """Split a hold's portions into the first ``amount`` credits (in burn order) and the rest."""
    first: dict[str, int] = {}
    rest: dict[str, int] = {}
    need = amount
    for grant_id, n in portions.items():
        took = min(n, need)
        need -= took
        if took:
            first[grant_id] = took
        if n - took:
            rest[grant_id] = n - took
    return first, rest


def ending(hold: Hold, grants: Mapping[str, Grant], amount: int, at: datetime) -> dict[str, Any]:
    """How a hold ends at ``at``: its first ``amount`` credits consumed, the rest returned to their
    grants, or written off where the grant has expired or was clawed back."""
    consumed, rest = split(hold.portions, amount)
    result: dict[str, Any] = {"hold_id": hold.hold_id, "consumed": consumed, "returned": {},
                              "expired": {}, "clawed_back": {}}
    for grant_id, n in rest.items():
        grant = grants[grant_id]
        bucket = "returned" if grant.is_usable(at) else "clawed_back" if grant.closed else "expired"
        result[bucket][grant_id] = n
    return result


def available(grants: Iterable[Grant], at: datetime) -> int:
    """Credits in these grants that can be spent at ``at``: not held, not expired, not clawed back."""
    return sum(g.remaining for g in grants if g.is_usable(at))


def by_source(grants: Iterable[Grant], at: datetime) -> dict[str, int]:
    """The credits of these grants available at ``at``, by the source they came from."""
    totals: dict[str, int] = {}
    for g in grants:
        if g.is_usable(at) and g.remaining:
            totals[g.source] = totals.get(g.source, 0) + g.remaining
    return totals


def expired_remainders(grants: Iterable[Grant], at: datetime) -> dict[str, int]:
    """The credits left in open grants that have expired by ``at``, by grant id."""
    return {
        g.grant_id: g.remaining
        for g in grants
        if g.remaining and g.closed is None and g.expires_at is not None and g.expires_at <= at
    }


def refund(grant: Grant, clawed: int) -> Money:
    """What a refund pays back for ``clawed`` of a paid grant's credits: their share of its price."""
    assert grant.price is not None
    return Money(grant.price.minor * clawed // grant.amount, grant.price.currency)
