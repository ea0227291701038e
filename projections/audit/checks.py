"""The audit's invariants: holds end exactly once and add up, wallets conserve credits,
every finished generation is paid for exactly as the ledger's policy says."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ledger.generation import FINISHED, is_paid, late_hold_id
from projections.audit.state import GenerationState, HoldState, WalletState
from projections.audit.stored import Row, decode
from projections.audit.trust import REPORTS

BUCKETS = ("consumed", "returned", "expired", "clawed_back")


class Replay(Protocol):
    """What the checks read and report to of the fold in progress (``projections.audit.fold.Replay``)."""

    wallets: dict[str, WalletState]
    generations: dict[str, GenerationState]
    outcomes: dict[str, tuple[str, int]] | None
    references: dict[tuple[str, str], tuple[int, str, str]]

    def find(self, user: str, where: Row | tuple[int, str] | None, problem: str, wallet: str = "") -> None:
        """Record a finding at a row, at (position, event type), or at the end of the log."""


def resolution(replay: Replay, wallet: WalletState, row: Row, fields: dict[str, Any], hold: HoldState) -> int:
    """Check and apply how a hold ended; the credits it captured."""
    user, hold_id = wallet.user_id, fields["hold_id"]
    due = datetime.fromisoformat(fields["timestamp"]) >= hold.expires_at
    if due != (row.kind == "HoldExpired"):
        replay.find(user, row, f"hold {hold_id} {'expired before' if not due else 'ended after'} its deadline "
                    f"{hold.expires_at.isoformat()}", wallet.wallet_id)
    left = dict(hold.portions)
    for bucket in BUCKETS:
        for grant_id, n in fields[bucket].items():
            left[grant_id] = left.get(grant_id, 0) - n
            grant = wallet.grants.get(grant_id)
            if grant is None:
                replay.find(user, row, f"hold {hold_id} {bucket} {n} credits of unknown grant {grant_id}",
                            wallet.wallet_id)
            elif bucket == "consumed":
                grant.consumed += n
            elif bucket == "returned":
                grant.remaining += n
    if any(left.values()):
        off = {k: -v for k, v in left.items() if v}
        replay.find(user, row, f"hold {hold_id} ended with credits that differ from what it held: {off}",
                    wallet.wallet_id)
    captured: int = sum(fields["consumed"].values())
    if captured > hold.amount:
        replay.find(user, row, f"hold {hold_id} captured {captured} credits but held {hold.amount}", wallet.wallet_id)
    if row.kind != "HoldCaptured" and captured:
        replay.find(user, row, f"hold {hold_id} consumed {captured} credits without a capture", wallet.wallet_id)
    wallet.consumed += captured
    wallet.expired += sum(fields["expired"].values())
    wallet.clawed_back += sum(fields["clawed_back"].values())
    return captured


def wallet_totals(replay: Replay, wallet: WalletState) -> None:
    """Conservation: granted = remaining + held + consumed + expired + clawed back; held = pending holds."""
    remaining = wallet.remaining
    accounted = remaining + wallet.held + wallet.consumed + wallet.expired + wallet.clawed_back
    where = f"last event v{wallet.version} {wallet.last_kind} at position {wallet.last_position}"
    if wallet.granted != accounted:
        replay.find(wallet.user_id, None, f"credits not conserved: granted {wallet.granted} but remaining "
                    f"{remaining} + held {wallet.held} + consumed {wallet.consumed} + expired {wallet.expired} "
                    f"+ clawed back {wallet.clawed_back} = {accounted} ({where})", wallet.wallet_id)
    pending = sum(h.amount for h in wallet.pending.values())
    if pending != wallet.held:
        replay.find(wallet.user_id, None, f"held {wallet.held} credits but pending holds add up to {pending} ({where})",
                    wallet.wallet_id)


def generation_step(replay: Replay, gen: GenerationState, row: Row) -> None:
    """Check and apply one event of a generation after its request."""
    kind = row.kind
    if row.version != gen.version + 1:
        replay.find(gen.user_id, row, f"generation event version {row.version} follows version {gen.version}",
                    gen.wallet_id)
    gen.version = max(gen.version, row.version)
    if kind in ("GenerationShared", "GenerationUnshared", "GenerationImageDeleted", *REPORTS):  # no credits move
        return
    if gen.status in FINISHED:
        replay.find(gen.user_id, row, f"generation {row.originator_id} was already {gen.status}", gen.wallet_id)
    gen.position, gen.kind = row.position, kind
    if kind == "GenerationStarted":
        gen.status = "started"
    else:
        fields = decode(row.state)
        gen.status = "completed" if kind == "GenerationCompleted" else "failed"
        gen.late, gen.captured = fields.get("late", ""), fields.get("captured", 0)
    if replay.outcomes is not None:
        replay.outcomes[gen.generation_id] = (gen.status, gen.captured)
    generation_paid(replay, gen)


def _hold(replay: Replay, gen: GenerationState, hold_id: str) -> tuple[str, int] | None:
    wallet = replay.wallets.get(gen.wallet_id)
    if wallet is None:
        return None
    if hold_id in wallet.pending:
        return ("pending", 0)
    return wallet.resolved.get(hold_id)


def generation_paid(replay: Replay, gen: GenerationState, *, at_end: bool = False) -> None:
    """Once a finished generation's holds have ended, check it was charged exactly once (or released)."""
    if gen.status not in FINISHED:
        return
    first = _hold(replay, gen, gen.hold_id)
    late = _hold(replay, gen, late_hold_id(gen.hold_id)) if gen.late == "charged" else ("none", 0)
    waiting = first is None or first[0] == "pending" or late is None or late[0] == "pending"
    if waiting and not at_end:
        return
    replay.generations.pop(gen.generation_id, None)
    states = [s for s in (first, late) if s is not None]
    captures = [s for s in states if s[0] == "captured"]
    charged = sum(c for _, c in captures)
    where = f"generation {gen.generation_id} {gen.status}"
    problem = ""
    if waiting:
        problem = f"{where} but its hold never ended"
    elif gen.status == "failed" and first and first[0] not in ("released", "expired"):
        problem = f"{where} but its hold was {first[0]}, not released or expired"
    elif gen.status == "completed" and is_paid(gen.late) and len(captures) != 1:
        problem = f"{where} with {len(captures)} captures of its holds, not exactly one"
    elif gen.status == "completed" and not is_paid(gen.late) and captures:
        problem = f"{where} and written off, but its hold was captured"
    elif charged != gen.captured:
        problem = f"{where} records {gen.captured} credits captured, its holds captured {charged}"
    if problem:
        replay.find(gen.user_id, (gen.position, gen.kind), problem, gen.wallet_id)


def generation_at_end(replay: Replay, gen: GenerationState) -> None:
    """A generation still open at the end of the log: its hold may not have been captured."""
    if gen.status in FINISHED:
        generation_paid(replay, gen, at_end=True)
        return
    state = _hold(replay, gen, gen.hold_id)
    if state is not None and state[0] == "captured":
        replay.find(gen.user_id, (gen.position, gen.kind),
                    f"generation {gen.generation_id} is {gen.status} but its hold was captured", gen.wallet_id)


def references_at_end(replay: Replay) -> None:
    """Each grant (but adjustments) has the reference it was made under; each reference its grant."""
    references = replay.references
    for wallet in replay.wallets.values():
        for grant_id, grant in wallet.grants.items():
            if grant.source != "adjustment" and (grant_id, "grant") not in references:
                replay.find(wallet.user_id, (grant.position, "grant"),
                            f"grant {grant_id} ({grant.source}) has no recorded reference", wallet.wallet_id)
            if grant.closed and (grant_id, "close") not in references:
                replay.find(wallet.user_id, (grant.position, "grant"),
                            f"grant {grant_id} was {grant.closed} with no recorded reference", wallet.wallet_id)
    for (grant_id, role), (position, wallet_id, what) in references.items():
        owner = replay.wallets.get(wallet_id)
        made = owner.grants.get(grant_id) if owner else None
        if made is None or (role == "close" and not made.closed):
            done = "closed" if role == "close" else "made"
            replay.find(owner.user_id if owner else "", (position, "ReferenceRecorded"),
                        f"{what} says it {done} grant {grant_id} of wallet {wallet_id}, which the log does not show",
                        wallet_id)
