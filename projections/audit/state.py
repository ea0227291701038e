"""What the replay remembers: per wallet its grants, holds and totals; per generation its hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.generation import Late
from ledger.postings import Book


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the audit found wrong: which user, which event, and what differs."""

    user: str
    position: int
    event: str
    problem: str
    wallet: str = ""

    def __str__(self) -> str:
        return f"user {self.user or '?'} · position {self.position} · {self.event}: {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {"user": self.user, "wallet": self.wallet, "position": self.position, "event": self.event,
                "problem": self.problem}


@dataclass(slots=True)
class GrantState:
    """One grant: where it came from and how many of its credits remain."""

    source: str
    amount: int
    remaining: int
    expires_at: datetime | None
    paid: bool
    consumed: int = 0
    closed: str = ""
    position: int = 0

    def usable(self, at: datetime) -> bool:
        """Whether its remaining credits can be spent at ``at``."""
        return not self.closed and (self.expires_at is None or self.expires_at > at)


@dataclass(slots=True)
class HoldState:
    """A pending hold: the credits it reserved from each grant."""

    amount: int
    portions: dict[str, int]
    position: int
    expires_at: datetime


@dataclass(slots=True)
class WalletState:
    """One wallet as the replay has folded it so far."""

    wallet_id: str
    user_id: str = ""
    version: int = 0
    last_hash: str = "0" * 64
    last_position: int = 0
    last_kind: str = ""
    grants: dict[str, GrantState] = field(default_factory=dict)
    pending: dict[str, HoldState] = field(default_factory=dict)
    resolved: dict[str, tuple[str, int]] = field(default_factory=dict)  # hold id -> (status, captured)
    granted: int = 0
    held: int = 0
    consumed: int = 0
    expired: int = 0
    clawed_back: int = 0
    book: Book = field(default_factory=Book)

    @property
    def remaining(self) -> int:
        """Credits left in grants (spendable, expired-but-unmarked, or held back)."""
        return sum(g.remaining for g in self.grants.values())

    def available(self, at: datetime) -> int:
        """Credits spendable at ``at``."""
        return sum(g.remaining for g in self.grants.values() if g.usable(at))

    def by_source(self, at: datetime) -> dict[str, int]:
        """Spendable credits at ``at`` by source."""
        totals: dict[str, int] = {}
        for g in self.grants.values():
            if g.remaining and g.usable(at):
                totals[g.source] = totals.get(g.source, 0) + g.remaining
        return totals


@dataclass(slots=True)
class GenerationState:
    """A generation still being checked against the hold that pays for it."""

    generation_id: str
    user_id: str
    wallet_id: str
    hold_id: str
    cost: int
    version: int = 1
    status: str = "requested"
    late: Late = ""
    captured: int = 0
    position: int = 0
    kind: str = "GenerationRequested"


@dataclass(slots=True)
class TemplateState:
    """One template as the replay has folded it so far: its chain, status, draft and versions."""

    template_id: str
    version: int = 0
    last_hash: str = "0" * 64
    last_position: int = 0
    last_kind: str = ""
    status: str = ""  # draft | published | retired, as ledger.template.TemplateStatus
    draft_digest: str = ""
    published: int = 0
    effective_at: datetime | None = None
