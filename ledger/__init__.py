"""Studio Ledger's domain: event-sourced wallets, holds and generations (standard library + eventsourcing)."""

from ledger.application import Ledger
from ledger.core import generation_id, wallet_id
from ledger.errors import (
    CaptureExceedsHold,
    ConflictingCommand,
    GenerationNotFound,
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    InvalidAmount,
    InvalidCommand,
    InvalidTransition,
    LedgerError,
    UnknownReference,
)
from ledger.generation import Generation
from ledger.unit import Outcome
from ledger.values import Money
from ledger.wallet import Wallet

__all__ = [
    "CaptureExceedsHold",
    "ConflictingCommand",
    "Generation",
    "GenerationNotFound",
    "HoldAlreadyResolved",
    "HoldNotFound",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidCommand",
    "InvalidTransition",
    "Ledger",
    "LedgerError",
    "Money",
    "Outcome",
    "UnknownReference",
    "Wallet",
    "generation_id",
    "wallet_id",
]
