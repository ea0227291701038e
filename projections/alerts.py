"""`wallet_alerts`: what a learner is told about their wallet, derived once from the ledger's events.

A projection like the others, so each alert is written in the same transaction as the projector's position:
a restart, a rebuild or another replica taking the projector's lock never tells it twice, and however many
generations race across a threshold the log has one event at which the balance crossed it.

- ``low-balance``: available credits fell below the learner's threshold (their own, else the policy's);
  once per crossing, and ``recovered`` when they are back at or above it.
- ``recharge-declined``: the platform declined a recharge, with its reason.
- ``auto-top-up-failed``: an auto top-up was declined; the plan is paused until the learner turns it on.
- ``reconciliation``: a purchase a provider's settlement report should have settled and did not, past the
  settlement window; told once per payment (its id names the payment), however many runs find it. For finance,
  not the learner: their feed leaves it out.
- ``credits-expiring``: a lot of credits lapses within the policy's days; told once per lot, by time rather
  than by an event (``tell_expiring``, which the sweeper runs), under an id of the lot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    RowMapping,
    String,
    Table,
    Uuid,
    delete,
    select,
)

from ledger.event_store.follow import Stored
from ledger.recharge import Recharge
from ledger.reconciliation import Reconciliation
from ledger.topup import TopUpPlan
from ledger.values import wallet_id
from ledger.wallet import Wallet
from projections.balances import wallet_balances, wallet_grants
from projections.base import Write
from projections.db import UTCDateTime, metadata
from projections.statement import changes

DEFAULT_LOW_BALANCE_BELOW = 10


class AlertKind(StrEnum):
    """What an alert says."""

    LOW_BALANCE = "low-balance"
    RECOVERED = "recovered"
    RECHARGE_DECLINED = "recharge-declined"
    CREDITS_EXPIRING = "credits-expiring"
    AUTO_TOP_UP_FAILED = "auto-top-up-failed"
    RECONCILIATION = "reconciliation"


LEARNER_KINDS = tuple(k.value for k in AlertKind if k != AlertKind.RECONCILIATION)


wallet_alerts = Table(
    "wallet_alerts",
    metadata,
    Column("alert_id", String(80), primary_key=True),  # "<kind>@<position>": one per event and kind
    Column("position", BigInteger, nullable=False),
    Column("wallet_id", Uuid, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_wallet_alerts_user_position", "user_id", "position"),
)

# Each wallet's running balance and whether it is below its threshold now: what a crossing is told from.
alert_state = Table(
    "wallet_alert_state",
    metadata,
    Column("wallet_id", Uuid, primary_key=True),
    Column("user_id", String(200), nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("below", BigInteger, nullable=True),  # the learner's own threshold; null: the policy's
    Column("low", Boolean, nullable=False),
)

# The lots whose coming expiry was told.
alert_lots = Table(
    "wallet_alert_lots",
    metadata,
    Column("grant_id", String(64), primary_key=True),
)

# Whose each recharge is: its ending events name only the recharge.
alert_recharges = Table(
    "wallet_alert_recharges",
    metadata,
    Column("recharge_id", Uuid, primary_key=True),
    Column("wallet_id", Uuid, nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("auto", Boolean, nullable=False),  # an auto top-up's: its decline is told as auto-top-up-failed
)


@dataclass
class _State:
    user_id: str
    balance: int
    below: int | None
    low: bool


class WalletAlerts:
    """Writes an alert at each event where a wallet crosses its threshold, or a recharge is declined."""

    name = "wallet_alerts"
    # A rebuild empties alert_lots too: the lots still to lapse are told again under the same ids, which the
    # webhook's delivery log (kept apart) has delivered already.
    tables = (wallet_alerts, alert_state, alert_recharges, alert_lots)

    def __init__(self, *, low_balance_below: int = DEFAULT_LOW_BALANCE_BELOW) -> None:
        self.low_balance_below = low_balance_below

    def writes(self, conn: Connection, page: Sequence[Stored]) -> list[Write]:
        """The page's alerts, and each touched wallet's state after it."""
        wallets = {s.event.originator_id for s in page if isinstance(s.event, Wallet.Event | Wallet.WalletOpened)}
        states = _states(conn, wallets)
        recharges = _recharge_owners(conn, {s.event.originator_id for s in page
                                            if isinstance(s.event, Recharge.RechargeDeclined)})
        alerts: list[dict[str, Any]] = []
        new_recharges: list[dict[str, Any]] = []
        for stored in page:
            event = stored.event
            if isinstance(event, Wallet.WalletOpened):
                states[event.originator_id] = _State(event.user_id, 0, None, False)
            elif isinstance(event, Wallet.Event) and event.originator_id in states:
                alerts.extend(self._crossing(stored, states[event.originator_id]))
            elif isinstance(event, Recharge.RechargeRequested):
                owner: dict[str, Any] = {"recharge_id": event.originator_id, "wallet_id": wallet_id(event.user_id),
                                         "user_id": event.user_id,
                                         "auto": getattr(event, "purpose", "") == "auto-top-up"}
                recharges[event.originator_id] = owner
                new_recharges.append(owner)
            elif isinstance(event, TopUpPlan.TopUpEnded) and not event.confirmed:
                alerts.append(_alert(stored, AlertKind.AUTO_TOP_UP_FAILED, wallet_id(event.user_id), event.user_id,
                                     {"recharge_id": event.recharge_id, "reason": event.reason,
                                      "paused": True}))
            elif (isinstance(event, Recharge.RechargeDeclined) and event.originator_id in recharges
                  and not recharges[event.originator_id]["auto"]):
                owner = recharges[event.originator_id]
                alerts.append(_alert(stored, AlertKind.RECHARGE_DECLINED, owner["wallet_id"], owner["user_id"],
                                     {"recharge_id": str(event.originator_id), "reason": event.reason}))
            elif isinstance(event, Reconciliation.ReconciliationRecorded):
                alerts.extend(_unsettled(conn, stored, alerts))
        writes: list[Write] = []
        if alerts:
            writes.append((wallet_alerts.insert(), alerts))
        if new_recharges:
            writes.append((alert_recharges.insert(), new_recharges))
        if states:
            writes.append((delete(alert_state).where(alert_state.c.wallet_id.in_(list(states))), {}))
            writes.append((alert_state.insert(), [{"wallet_id": w, "user_id": s.user_id, "balance": s.balance,
                                                   "below": s.below, "low": s.low} for w, s in states.items()]))
        return writes

    def _crossing(self, stored: Stored, state: _State) -> list[dict[str, Any]]:
        event = stored.event
        if isinstance(event, Wallet.SettingsChanged):
            # A new threshold is no crossing: the learner sees their balance as they set it.
            state.below = getattr(event, "low_balance_below", None)
            state.low = state.balance < self._threshold(state)
            return []
        change = changes(event)[0]
        state.balance += change
        threshold = self._threshold(state)
        details = {"available": state.balance, "threshold": threshold}
        if not state.low and change < 0 and state.balance < threshold:
            state.low = True
            return [_alert(stored, AlertKind.LOW_BALANCE, event.originator_id, state.user_id, details)]
        if state.low and state.balance >= threshold:
            state.low = False
            return [_alert(stored, AlertKind.RECOVERED, event.originator_id, state.user_id, details)]
        return []

    def _threshold(self, state: _State) -> int:
        return state.below if state.below is not None else self.low_balance_below


def _alert(stored: Stored, kind: AlertKind, wallet: UUID, user_id: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"alert_id": f"{kind}@{stored.position}", "position": stored.position, "wallet_id": wallet,
            "user_id": user_id, "kind": kind.value, "occurred_at": stored.event.timestamp, "details": details}


def _unsettled(conn: Connection, stored: Stored, told: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An alert for each overdue unsettled purchase of a run, unless one was told for that payment already."""
    event = stored.event
    found = {f"{AlertKind.RECONCILIATION}@{uuid5(NAMESPACE_URL, 'payment:' + line['payment_id'])}": line
             for line in event.lines if line["outcome"] == "credits_not_settled" and line["overdue"]
             and line["user_id"]}
    if not found:
        return []
    known = set(conn.execute(select(wallet_alerts.c.alert_id).where(wallet_alerts.c.alert_id.in_(list(found))))
                .scalars()) | {a["alert_id"] for a in told}
    return [{"alert_id": alert_id, "position": stored.position, "wallet_id": wallet_id(line["user_id"]),
             "user_id": line["user_id"], "kind": AlertKind.RECONCILIATION.value, "occurred_at": event.timestamp,
             "details": {"payment_id": line["payment_id"], "run_id": str(event.originator_id),
                         "amount_minor": line["ledger_minor"], "currency": line["currency"],
                         "paid_at": line["paid_at"], "detail": line["detail"]}}
            for alert_id, line in found.items() if alert_id not in known]


def _states(conn: Connection, wallets: set[UUID]) -> dict[UUID, _State]:
    if not wallets:
        return {}
    rows = conn.execute(select(alert_state).where(alert_state.c.wallet_id.in_(sorted(wallets)))).mappings()
    return {r["wallet_id"]: _State(r["user_id"], r["balance"], r["below"], r["low"]) for r in rows}


def _recharge_owners(conn: Connection, ids: set[UUID]) -> dict[UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(select(alert_recharges).where(alert_recharges.c.recharge_id.in_(sorted(ids)))).mappings()
    return {r["recharge_id"]: dict(r) for r in rows}


def alerts_of(conn: Connection, user_id: str, *, before: int | None, limit: int) -> list[RowMapping]:
    """The user's alerts (not finance's), newest first, strictly before position ``before`` when given."""
    query = select(wallet_alerts).where((wallet_alerts.c.user_id == user_id)
                                        & wallet_alerts.c.kind.in_(LEARNER_KINDS))
    if before is not None:
        query = query.where(wallet_alerts.c.position < before)
    return list(conn.execute(query.order_by(wallet_alerts.c.position.desc()).limit(limit)).mappings())


def tell_expiring(conn: Connection, *, at: datetime, within: timedelta) -> int:
    """Alert each lot of credits (an unspent, unclosed grant) that lapses between ``at`` and ``at + within``
    and was not told yet (its alert id names the lot, so never twice); how many were told."""
    lots = conn.execute(
        select(wallet_grants.c.grant_id, wallet_grants.c.remaining, wallet_grants.c.expires_at,
               wallet_balances.c.wallet_id, wallet_balances.c.user_id, wallet_balances.c.position)
        .join(wallet_balances, wallet_balances.c.wallet_id == wallet_grants.c.wallet_id)
        .where((wallet_grants.c.remaining > 0) & wallet_grants.c.closed.is_(None)
               & (wallet_grants.c.expires_at > at) & (wallet_grants.c.expires_at <= at + within)
               & wallet_grants.c.grant_id.not_in(select(alert_lots.c.grant_id)))).mappings().all()
    if not lots:
        return 0
    kind = AlertKind.CREDITS_EXPIRING
    conn.execute(alert_lots.insert(), [{"grant_id": lot["grant_id"]} for lot in lots])
    conn.execute(wallet_alerts.insert(), [{
        "alert_id": f"{kind}@{lot['grant_id']}"[:80], "position": lot["position"], "wallet_id": lot["wallet_id"],
        "user_id": lot["user_id"], "kind": kind.value, "occurred_at": at,
        "details": {"credits": lot["remaining"], "expires_at": lot["expires_at"].isoformat()}} for lot in lots])
    return len(lots)
