"""The admins' use cases: any user's wallet with its grants, promotional credits, adjustments with a reason.

A grant or an adjustment is once per (user, idempotency key): its ledger reference derives from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping

from ledger import Ledger, Outcome
from ledger.names import encode
from projections import queries
from service.commands import Run, direct


@dataclass(frozen=True)
class WalletWithGrants:
    """A wallet's projected row and its grants, oldest first."""

    wallet: dict[str, Any]
    grants: list[RowMapping]


def reference(user_id: str, key: str) -> str:
    """The ledger reference of an admin's command for ``user_id`` under idempotency key ``key``."""
    if ":" in user_id:
        # As "admin:<user>:<key>", user "a" with key "b:c" and user "a:b" with key "c" were one reference.
        # "admin/" never begins the old form, so the two cannot meet.
        return "admin/" + encode(user_id, key)
    # Without a colon in the user id the old form reads back one way (the user id ends at its first colon),
    # and the commands applied before the length-prefixed form are found by it.
    return f"admin:{user_id}:{key}"


def former_reference(user_id: str, key: str) -> str:
    """The reference the command had before ``reference`` told user ids with a colon apart ("" if the same)."""
    return f"admin:{user_id}:{key}" if ":" in user_id else ""


def wallet_with_grants(conn: Connection, user_id: str, at: datetime) -> WalletWithGrants | None:
    """The wallet of ``user_id`` as available at ``at``, with its grants; None without one."""
    row = queries.wallet(conn, user_id, at)
    if row is None:
        return None
    return WalletWithGrants(wallet=row, grants=queries.grants(conn, row["wallet_id"]))


def grant_promo(ledger: Ledger, *, user_id: str, key: str, amount: int, reason: str, at: datetime,
                expires_at: datetime | None, run: Run = direct) -> Outcome:
    """Grant promotional credits to a user, expiring at ``expires_at`` if given."""
    return run("grant_promo", lambda: ledger.grant_promo(
        user_id=user_id, reference=reference(user_id, key), amount=amount, reason=reason, at=at,
        expires_at=expires_at, formerly=former_reference(user_id, key)))


def adjust(ledger: Ledger, *, user_id: str, key: str, delta: int, reason: str, at: datetime,
           run: Run = direct) -> Outcome:
    """Add or take credits with a reason; taking more than is available is ``InsufficientCredits``."""
    return run("adjust", lambda: ledger.adjust(
        user_id=user_id, reference=reference(user_id, key), delta=delta, reason=reason, at=at,
        formerly=former_reference(user_id, key)))
