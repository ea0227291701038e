"""Studio Ledger's domain: event-sourced wallets, holds and generations, and the application that
runs commands on them. Standard library and eventsourcing only, outside ``ledger.event_store``.

What is where:
    ``errors``       the error hierarchy (``LedgerError`` and its kinds) every rejected command raises
    ``values``       value types and deterministic ids: credits, ``Money``, grants, holds, the hash chain
    ``names``        the one rule for a user id; the length-prefixed encoding of ids made of several names
    ``lots``         arithmetic over grants and holds: burn order, what a hold takes and how it ends
    ``wallet``       the ``Wallet`` aggregate and its events (their topics are stored: never move them)
    ``wallet_state`` what a wallet knows and checks (credits, days counted, its daily cap, a freeze)
    ``generation``   the ``Generation`` aggregate and its events
    ``reference``    the ``Reference`` aggregate: an external reference used once, forever
    ``template``     the ``Template`` aggregate: drafts, published versions, retirement, with who and why
    ``template_steps`` the template commands' steps
    ``recharge``     the ``Recharge`` aggregate: a platform wallet balance turned into credits, as a saga
    ``recharging``   the recharge saga's steps: recorded once, ended once, a confirmation's grant with it
    ``topup``        the ``TopUpPlan`` aggregate: a learner's auto top-up and its guardrails
    ``standing``     the ``Standing`` aggregate: takedowns upheld against a learner, sharing suspended and restored
    ``report_steps`` the steps of reports, takedowns and a learner's standing
    ``erasure``      the ``Erasure`` aggregate: a learner erased (their key is destroyed outside the ledger)
    ``reconciliation`` the ``Reconciliation`` aggregate: a settlement report matched, once per file; resolutions
    ``postings``     the double-entry postings of each wallet event (the journal projection and the audit)
    ``event_ids``    the deterministic id of a stored event (relay envelopes, in-process requests)
    ``unit``         a unit of work: the aggregates one command reads and changes; its ``Outcome``
    ``steps``        every command step: what a command does to the aggregates of its unit of work
    ``committer``    group commit: batches of commands saved in one transaction
    ``core``         ``LedgerCore``: storage, loading, running units of work (alone or grouped)
    ``application``  ``Ledger``: one short method per command, running its step through the core
    ``event_store/`` store adapters (PostgreSQL recorder, positions, LISTEN follower, transcodings,
                     tracking, sealing personal data): the only part that talks to a database driver;
                     ``store.internals`` is the one module that touches eventsourcing's private members

Modules here import one another by their own names (``ledger.wallet``), never this package.
"""

from ledger.application import Ledger
from ledger.errors import (
    CaptureExceedsHold,
    ConflictingCommand,
    DailySpendCapReached,
    FrozenWallet,
    GenerationNotFound,
    HoldAlreadyResolved,
    HoldNotFound,
    InsufficientCredits,
    InvalidAmount,
    InvalidCommand,
    InvalidTransition,
    LedgerError,
    LedgerUnavailable,
    TemplateNotFound,
    UnknownReference,
)
from ledger.generation import Generation
from ledger.template import Template, TemplateStatus
from ledger.unit import Outcome
from ledger.values import MAX_CREDITS, MAX_MINOR, MAX_TERM, Money, generation_id, template_uuid, wallet_id
from ledger.wallet import Wallet

__all__ = [
    "MAX_CREDITS",
    "MAX_MINOR",
    "MAX_TERM",
    "CaptureExceedsHold",
    "ConflictingCommand",
    "DailySpendCapReached",
    "FrozenWallet",
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
    "LedgerUnavailable",
    "Money",
    "Outcome",
    "Template",
    "TemplateNotFound",
    "TemplateStatus",
    "UnknownReference",
    "Wallet",
    "generation_id",
    "template_uuid",
    "wallet_id",
]
