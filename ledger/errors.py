"""The ledger's errors: every rejected command raises one of these and writes nothing."""

from __future__ import annotations


class LedgerUnavailable(RuntimeError):
    """The ledger could not take a command just now (it is closing, or other writers kept winning):
    not a rejection, so the same command may succeed when tried again."""


class LedgerError(Exception):
    """Base of every error the ledger raises for a command it rejects."""

    code = "ledger-error"


class InvalidAmount(LedgerError):
    """An amount of credits or money that is not a positive whole number."""

    code = "invalid-amount"


class InvalidCommand(LedgerError):
    """A command whose arguments do not make sense (an empty reference, a past expiry)."""

    code = "invalid-command"


class InvalidUserId(InvalidCommand, ValueError):
    """A user id that breaks the one rule for user ids (``ledger.names.check_user_id``); names the field.

    Also a ``ValueError``, so that a model validating a user id with the rule reports it as the field's error.
    """

    code = "invalid-user-id"


class InsufficientCredits(LedgerError):
    """The wallet does not have enough available credits for the command."""

    code = "insufficient-credits"

    def __init__(self, wallet: str, needed: int, available: int) -> None:
        super().__init__(
            f"wallet {wallet} has {available} credits available, {needed} needed"
        )
        self.wallet = wallet
        self.needed = needed
        self.available = available


class HoldNotFound(LedgerError):
    """No hold with that id was ever placed on the wallet."""

    code = "hold-not-found"


class ConflictingCommand(LedgerError):
    """A reference that was already used for a command with a different payload."""

    code = "conflicting-command"


class HoldAlreadyResolved(ConflictingCommand):
    """The hold was already captured, released or expired in another way."""

    code = "hold-already-resolved"


class CaptureExceedsHold(LedgerError):
    """A capture of more credits than the hold reserved."""

    code = "capture-exceeds-hold"


class UnknownReference(LedgerError):
    """A command that refers to a purchase, referral or generation the ledger never saw."""

    code = "unknown-reference"


class GenerationNotFound(LedgerError):
    """No generation with that id exists."""

    code = "generation-not-found"


class InvalidTransition(LedgerError):
    """A generation command that does not fit the generation's current status."""

    code = "invalid-transition"


class TemplateNotFound(LedgerError):
    """No template with that id was ever drafted."""

    code = "template-not-found"


class FrozenWallet(LedgerError):
    """An operator froze the wallet (fraud, a chargeback): it spends nothing and takes no recharge until
    unfrozen; ``reason`` is theirs."""

    code = "wallet-frozen"

    def __init__(self, wallet: str, reason: str, what: str) -> None:
        super().__init__(f"wallet {wallet} is frozen ({reason}): {what} is refused until an operator unfreezes it")
        self.wallet = wallet
        self.reason = reason


class DailySpendCapReached(LedgerError):
    """Spending that would pass the learner's own daily cap; ``day`` is the policy's day it counts on."""

    code = "daily-spend-cap-reached"

    def __init__(self, wallet: str, *, cap: int, spent: int, needed: int, day: str) -> None:
        super().__init__(f"wallet {wallet} has spent {spent} of its daily cap of {cap} credits on {day}; "
                         f"{needed} more would pass it")
        self.wallet = wallet
        self.cap = cap
        self.spent = spent
        self.needed = needed
        self.day = day


class ReportsFull(LedgerError):
    """The image already has as many open reports as it may: it is in the queue, awaiting review."""

    code = "reports-full"


class SharingSuspended(LedgerError):
    """The learner may not share: too many of their images were taken down, until an operator restores it."""

    code = "sharing-suspended"
