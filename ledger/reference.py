"""The Reference aggregate: an external reference (payment, referral, key) used once, forever."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import ConflictingCommand
from ledger.values import stable_id

# The kinds of reference, each used once: a closed list of names without a colon, so that the text
# "reference:<kind>:<reference>" its id is made from reads back one way.
ReferenceKind = Literal["payment", "redemption", "referral", "promo", "adjustment", "share", "refund", "reversal"]
REFERENCE_KINDS: frozenset[str] = frozenset(get_args(ReferenceKind))


class Reference(Aggregate):
    """Records that a command with this external reference was applied, and to what."""

    class ReferenceRecorded(Aggregate.Created):
        kind: str
        reference: str
        digest: str
        targets: dict[str, str]  # wallet id -> grant id the command created or closed
        # When the partner says it happened, by its own clock: data only, never the ledger's time
        # (the event's timestamp is the service's clock). None when it said nothing, and before it was kept.
        reported_at: datetime | None = None

    def __init__(self, kind: str, reference: str, digest: str, targets: dict[str, str],
                 reported_at: datetime | None = None) -> None:
        self.kind = kind
        self.reference = reference
        self.digest = digest
        self.targets = targets
        self.reported_at = reported_at

    @staticmethod
    def id_for(kind: ReferenceKind, reference: str) -> UUID:
        """The deterministic id of the reference ``kind:reference``."""
        if kind not in REFERENCE_KINDS:
            raise ValueError(f"no reference kind {kind!r}: one of {sorted(REFERENCE_KINDS)}")
        return stable_id(f"reference:{kind}", reference)

    @classmethod
    def record(cls, kind: ReferenceKind, reference: str, digest: str, targets: dict[str, str], **kw: Any) -> Reference:
        """Record the first use of ``kind:reference``."""
        return cls._create(
            cls.ReferenceRecorded, id=cls.id_for(kind, reference), kind=kind,
            reference=reference, digest=digest, targets=targets, **kw,
        )

    def check(self, digest: str) -> None:
        """Raise ``ConflictingCommand`` unless ``digest`` is the payload first recorded."""
        if digest != self.digest:
            raise ConflictingCommand(f"{self.kind} {self.reference} was already used with another payload")
