"""The ledger's command steps: what each command does to the aggregates of one unit of work.

Every step is a plain function of a ``Unit`` and the command's arguments: it loads or opens the
aggregates it needs, calls their methods, records external references once, and marks a repeat
with the events it repeats. ``Ledger`` runs one step per command; how a unit is stored (alone or
in a group commit) is ``LedgerCore``'s business, not theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import ConflictingCommand, GenerationNotFound, InvalidAmount, InvalidCommand, UnknownReference
from ledger.generation import Generation, Late, is_paid, late_hold_id
from ledger.names import IdKind, check_user_id, derived_id
from ledger.reference import Reference, ReferenceKind
from ledger.report_steps import check_may_share
from ledger.unit import StaleRead, Unit
from ledger.values import MAX_MINOR, Hold, Money, digest, former_generation_id, generation_id, wallet_id
from ledger.wallet import Wallet

A = TypeVar("A", bound=Aggregate)
DEFAULT_HOLD_TTL = timedelta(minutes=15)


# Finding aggregates and references.


def open_wallet(unit: Unit, user_id: str, at: datetime) -> Wallet:
    """The wallet of ``user_id`` in this unit of work, opened if it does not exist yet."""
    found = unit.get(wallet_id(user_id))
    if found is not None:
        assert isinstance(found, Wallet)
        return found
    check_user_id(user_id)  # every edge checks it too; a wallet once opened is never refused again
    wallet = Wallet.open(wallet_id(user_id), user_id, at)
    unit.add(wallet)
    return wallet


def require(found: Aggregate | None, cls: type[A], error: Exception) -> A:
    """The aggregate if it exists and is a ``cls``, else raise ``error``."""
    if not isinstance(found, cls):
        raise error
    return found


def existing_wallet(unit: Unit, user_id: str) -> Wallet:
    """The wallet of ``user_id``; ``UnknownReference`` when the user has none."""
    return require(unit.get(wallet_id(user_id)), Wallet, UnknownReference(f"user {user_id} has no wallet"))


def load_generation(unit: Unit, gen_id: UUID) -> tuple[Generation, Wallet]:
    """The generation ``gen_id`` and the wallet that pays for it."""
    generation = require(unit.get(gen_id), Generation, GenerationNotFound(f"no generation {gen_id}"))
    wallet = require(unit.get(generation.wallet_id), Wallet, UnknownReference(f"wallet {generation.wallet_id}"))
    return generation, wallet


def derived_grant_id(kind: ReferenceKind, reference: str, *, user_id: str) -> str:
    """The id of the grant a ``kind`` command under ``reference`` makes in the wallet of ``user_id``."""
    return str(derived_id(IdKind.GRANT, kind, reference, user_id))


def check_reference(unit: Unit, kind: ReferenceKind, reference: str, payload: dict[str, Any]) -> tuple[str, bool]:
    """The payload's digest, and whether ``kind:reference`` was already applied with it."""
    if not reference or not reference.strip():
        raise InvalidCommand(f"a {kind} needs a non-empty reference")
    fingerprint = digest({"kind": kind, **payload})
    found = unit.get(Reference.id_for(kind, reference))
    if found is None:
        return fingerprint, False
    assert isinstance(found, Reference)
    found.check(fingerprint)
    unit.repeat_of(found.id, 1)
    return fingerprint, True


def positive_money(amount: Money, what: str) -> Money:
    """Check that a price is more than zero and at most ``MAX_MINOR`` minor units."""
    if not 0 < amount.minor <= MAX_MINOR:
        raise InvalidAmount(f"{what} must be more than 0 and at most {MAX_MINOR} minor units, "
                            f"got {amount.minor} {amount.currency}")
    return amount


# Credits in and out again.


def applied_formerly(unit: Unit, kind: ReferenceKind, formerly: str, payload: dict[str, Any], user_id: str) -> bool:
    """Whether the command was applied for ``user_id`` under ``formerly``, the reference it had before its
    reference was made unambiguous (a repeat of a request first made before that)."""
    found = unit.get(Reference.id_for(kind, formerly))
    if not isinstance(found, Reference) or str(wallet_id(user_id)) not in found.targets:
        return False  # never applied, or applied for another user whose names made the same old text
    found.check(digest({"kind": kind, **payload, **({"reference": formerly} if "reference" in payload else {})}))
    unit.repeat_of(found.id, 1)
    return True


def grant_credits(unit: Unit, *, kind: ReferenceKind, reference: str, awards: list[dict[str, Any]],
                  event_class: type[Wallet.GrantEvent], at: datetime, formerly: str = "",
                  reported_at: datetime | None = None, recorded: dict[str, Any] | None = None,
                  **fields: Any) -> None:
    """Grant credits to one or more wallets, once per external reference. ``recorded`` fields go on the
    events but are no part of what a repeat must match (an expiry that follows from when the grant was
    first applied, which a redelivery cannot repeat); nor is ``reported_at``, the partner's own time,
    kept on the reference. ``formerly``: the reference a one-wallet command had before it was made
    unambiguous."""
    payload = {"reference": reference, "awards": awards, **fields}
    if recorded:
        payload = _as_first_recorded(unit, kind, reference, payload, recorded=recorded)
    fingerprint, repeated = check_reference(unit, kind, reference, payload)
    if repeated or (formerly and applied_formerly(unit, kind, formerly, payload, awards[0]["user_id"])):
        return
    targets = {}
    for award in awards:
        wallet = open_wallet(unit, award["user_id"], at)
        granted = derived_grant_id(kind, reference, user_id=award["user_id"])
        if granted in wallet.grants:
            raise StaleRead(f"{kind} {reference} was applied after its reference was read")
        extra = {k: v for k, v in award.items() if k not in ("user_id", "credits")}
        wallet.grant(event_class, grant_id=granted, amount=award["credits"], at=at,
                     reference=reference, **extra, **fields, **(recorded or {}))
        targets[str(wallet.id)] = granted
    unit.add(Reference.record(kind, reference, fingerprint, targets, timestamp=at, reported_at=reported_at))


def _as_first_recorded(unit: Unit, kind: ReferenceKind, reference: str, payload: dict[str, Any], *,
                       recorded: dict[str, Any]) -> dict[str, Any]:
    # A reference recorded before these fields were left out of the fingerprint matched them too:
    # compare a repeat of it with the values its first grant has, so that it stays a repeat.
    found = unit.get(Reference.id_for(kind, reference))
    if not isinstance(found, Reference) or found.digest == digest({"kind": kind, **payload}) or not found.targets:
        return payload
    wallet_key, grant_id = next(iter(found.targets.items()))
    first = require(unit.get(UUID(wallet_key)), Wallet, UnknownReference(f"wallet {wallet_key}")).grants[grant_id]
    return {**payload, **{name: getattr(first, name) for name in recorded}}


def close_grants(unit: Unit, *, kind: ReferenceKind, reference: str, closing: ReferenceKind,
                 granted_by: type[Wallet.GrantEvent], closed_by: type[Wallet.GrantClosed], at: datetime,
                 reported_at: datetime | None = None) -> None:
    """Refund or reverse every grant made under ``kind:reference`` (each one ``granted_by``'s), once, with
    ``closed_by`` events."""
    original = unit.get(Reference.id_for(kind, reference))
    if not isinstance(original, Reference):
        raise UnknownReference(f"no {kind} {reference} was ever applied")
    fingerprint, repeated = check_reference(unit, closing, reference, {"reference": reference})
    if repeated:
        return
    for wallet_key, grant_id in original.targets.items():
        wallet = require(unit.get(UUID(wallet_key)), Wallet, UnknownReference(f"wallet {wallet_key}"))
        if wallet.grants[grant_id].closed:
            raise StaleRead(f"{closing} of {kind} {reference} was applied after its reference was read")
        wallet.close_grant(closed_by, grant_id=grant_id, reference=reference, at=at, source=granted_by.source)
    unit.add(Reference.record(closing, reference, fingerprint, dict(original.targets), timestamp=at,
                              reported_at=reported_at))


def decide_share_bonus(unit: Unit, *, user_id: str, reference: str, amount: int, at: datetime,
                       expires_at: datetime | None, day: str, daily_cap: int | None) -> int:
    """Grant a share's bonus unless the day's cap is reached, once per reference; the credits granted."""
    # The fingerprint is who shared what: the amount, expiry and day follow from the share.
    fingerprint = digest({"kind": "share", "reference": reference, "user_id": user_id})
    found = unit.get(Reference.id_for("share", reference))
    if isinstance(found, Reference):
        if found.digest != fingerprint and str(wallet_id(user_id)) not in found.targets:
            raise ConflictingCommand(f"share bonus {reference} was decided for another user")
        unit.repeat_of(found.id, 1)
        return sum(require(unit.get(UUID(w)), Wallet, UnknownReference(f"wallet {w}")).grants[g].amount
                   for w, g in found.targets.items())
    wallet = open_wallet(unit, user_id, at)
    granted = derived_grant_id("share", reference, user_id=user_id)
    if granted in wallet.grants:
        raise StaleRead(f"share bonus {reference} was granted after its reference was read")
    targets = {}
    if daily_cap is None or wallet.share_bonuses_on(day) < daily_cap:
        wallet.grant(Wallet.ShareBonusGranted, grant_id=granted, amount=amount, at=at, reference=reference,
                     expires_at=expires_at, day=day)
        targets[str(wallet.id)] = granted
    unit.add(Reference.record("share", reference, fingerprint, targets, timestamp=at))
    return amount if targets else 0


def adjust_wallet(unit: Unit, *, user_id: str, reference: str, delta: int, reason: str, at: datetime,
                  order: tuple[str, ...], formerly: str = "") -> None:
    """Add or take credits with a reason, once per reference (``formerly``: as ``grant_credits``)."""
    payload = {"user_id": user_id, "delta": delta, "reason": reason}
    fingerprint, repeated = check_reference(unit, "adjustment", reference, payload)
    if repeated or (formerly and applied_formerly(unit, "adjustment", formerly, payload, user_id)):
        return
    wallet = open_wallet(unit, user_id, at)
    granted = derived_grant_id("adjustment", reference, user_id=user_id)
    wallet.adjust(delta=delta, reason=reason, reference=reference, grant_id=granted, at=at, order=order)
    unit.add(Reference.record("adjustment", reference, fingerprint, {str(wallet.id): granted}, timestamp=at))


def control_wallet(unit: Unit, user_id: str, at: datetime, change: Callable[[Wallet], bool]) -> bool:
    """Change a wallet's controls (its settings, a freeze) with ``change``; whether anything changed (a
    repeat is anchored to the wallet's latest event)."""
    wallet = open_wallet(unit, user_id, at)
    if not change(wallet):
        unit.repeat_of(wallet.id, wallet.version)
        return False
    return True


def expire_due_credits(unit: Unit, user_id: str, at: datetime) -> bool:
    """Write off what expired in the wallet of ``user_id`` by ``at``; whether anything did."""
    return existing_wallet(unit, user_id).expire_credits(at)


# Holds.


def place_hold(unit: Unit, *, user_id: str, hold_id: str, amount: int, expires_at: datetime | None,
               ttl: timedelta | None, at: datetime, order: tuple[str, ...]) -> Hold:
    """Reserve credits in the wallet of ``user_id`` (opened if new); a repeat returns the first hold."""
    wallet = open_wallet(unit, user_id, at)
    hold = wallet.place_hold(hold_id=hold_id, amount=amount, expires_at=expires_at, ttl=ttl, at=at, order=order)
    if not unit.changed():
        unit.repeat_of(wallet.id, hold.placed_version)
    return hold


def resolve_hold(unit: Unit, user_id: str, step: Callable[[Wallet], Hold]) -> Hold:
    """End a hold of the wallet of ``user_id`` with ``step``; a repeat is anchored to the first ending."""
    wallet = existing_wallet(unit, user_id)
    hold = step(wallet)
    if not unit.changed():
        unit.repeat_of(wallet.id, hold.resolved_version)
    return hold


# Generations.


def find_request(unit: Unit, user_id: str, *, request_key: str) -> tuple[UUID, Aggregate | None]:
    """The id of the generation ``user_id`` requests with ``request_key``, and the generation if it exists."""
    gen_id = generation_id(user_id, request_key)
    existing = unit.get(gen_id, creating=True)
    if isinstance(existing, Generation) and existing.user_id != user_id:
        # Before ids told "a:b" + "c" from "a" + "b:c", a user id with a colon could take the id of
        # another user's request: that other user's gets the unambiguous form instead.
        gen_id = derived_id(IdKind.GENERATION, user_id, request_key)
        return gen_id, unit.get(gen_id, creating=True)
    former = former_generation_id(user_id, request_key)
    if existing is None and former is not None:
        # Requested before that, by a user id with a colon: the old id is this request only if the
        # generation there is this user's.
        found = unit.get(former)
        if isinstance(found, Generation) and found.user_id == user_id:
            return former, found
    return gen_id, existing


def record_request(unit: Unit, *, user_id: str, request_key: str, fields: dict[str, Any], at: datetime,
                   hold_ttl: timedelta, order: tuple[str, ...], day: str, trace: str = "") -> UUID:
    """Hold a generation's cost (spending counted on ``day``) and record its request, once per request key;
    the generation id. ``trace`` (the request's ``traceparent``) is recorded beside the fields, outside their
    digest: a repeat of the request in another trace is the same request."""
    gen_id, existing = find_request(unit, user_id, request_key=request_key)
    fingerprint = digest(fields)
    if isinstance(existing, Generation):
        if existing.digest != fingerprint:
            raise ConflictingCommand(f"request {request_key} of user {user_id} was made with another payload")
        unit.repeat_of(gen_id, 1)
        return gen_id
    wallet = open_wallet(unit, user_id, at)
    hold = wallet.place_hold(hold_id=str(gen_id), amount=fields["cost"], ttl=hold_ttl, at=at,
                             order=order, meta={"generation_id": str(gen_id)}, day=day)
    unit.add(Generation.request(gen_id, at=at, user_id=user_id, wallet_id=wallet.id, hold_id=str(gen_id),
                                expires_at=hold.expires_at, digest=fingerprint, traceparent=trace, **fields))
    return gen_id


def record_start(unit: Unit, gen_id: UUID, worker: str, at: datetime) -> None:
    """Record that a worker began rendering."""
    load_generation(unit, gen_id)[0].start(worker=worker, at=at)


def record_result(unit: Unit, gen_id: UUID, *, at: datetime, result: dict[str, Any], order: tuple[str, ...]) -> str:
    """Record the image and capture its cost (charged again or written off when late); the status."""
    generation, wallet = load_generation(unit, gen_id)
    hold = wallet.hold(generation.hold_id)
    late: Late = ""
    if not generation.is_finished:
        if hold.is_pending and hold.expires_at > at:
            wallet.capture(hold_id=hold.hold_id, amount=generation.cost, at=at)
        else:
            late = _charge_late(wallet, generation, hold, at, order)
    captured = generation.cost if is_paid(late) else 0
    if not generation.complete(at=at, captured=captured, late=late, **result):
        late_hold = wallet.holds.get(late_hold_id(generation.hold_id))
        unit.repeat_of(wallet.id, max(hold.resolved_version, late_hold.resolved_version if late_hold else 0))
        unit.repeat_of(gen_id, generation.version)
    return generation.status


def _charge_late(wallet: Wallet, generation: Generation, hold: Hold, at: datetime, order: tuple[str, ...]) -> Late:
    # The hold lapsed before the image arrived: charge again if the credits are there,
    # else write the image off. Never a silent free image, never a negative balance.
    if hold.is_pending:
        wallet.expire_hold(hold_id=hold.hold_id, at=max(at, hold.expires_at))
    if wallet.available(at) < generation.cost:
        return "written_off"
    late_hold = late_hold_id(generation.hold_id)
    wallet.place_hold(hold_id=late_hold, amount=generation.cost, ttl=DEFAULT_HOLD_TTL, at=at,
                      order=order, meta={"generation_id": str(generation.id), "late": True})
    wallet.capture(hold_id=late_hold, amount=generation.cost, at=at)
    return "charged"


def record_failure(unit: Unit, gen_id: UUID, *, reason: str, retryable: bool, at: datetime,
                   provider_cost: dict[str, Any] | None = None) -> str:
    """Record that no image will come and release its hold; the status."""
    generation, wallet = load_generation(unit, gen_id)
    if not generation.is_finished:
        hold = wallet.hold(generation.hold_id)
        if hold.is_pending and hold.expires_at > at:
            wallet.release(hold_id=hold.hold_id, at=at)
        elif hold.is_pending:
            wallet.expire_hold(hold_id=hold.hold_id, at=at)
    if not generation.fail(reason=reason, retryable=retryable, at=at, provider_cost=provider_cost):
        unit.repeat_of(wallet.id, wallet.hold(generation.hold_id).resolved_version)
        unit.repeat_of(gen_id, generation.version)
    return generation.status


def share_image(unit: Unit, gen_id: UUID, *, user_id: str, token: str, at: datetime) -> str:
    """Make a finished image of ``user_id`` public under ``token``; the token in force."""
    generation, _ = load_generation(unit, gen_id)
    if generation.user_id != user_id:
        raise UnknownReference(f"user {user_id} has no generation {gen_id}")
    if not generation.share_token:  # a repeat of a share in force is answered even while suspended
        check_may_share(unit, user_id, at)
    if not generation.share(token=token, at=at):
        unit.repeat_of(gen_id, generation.version)
    return generation.share_token


def unshare_image(unit: Unit, gen_id: UUID, user_id: str, at: datetime) -> bool:
    """Make a shared image of ``user_id`` private again; whether it was shared."""
    generation, _ = load_generation(unit, gen_id)
    if generation.user_id != user_id:
        raise UnknownReference(f"user {user_id} has no generation {gen_id}")
    if generation.unshare(at=at):
        return True
    unit.repeat_of(gen_id, generation.version)
    return False


def delete_image(unit: Unit, gen_id: UUID, *, user_id: str | None, reason: str, at: datetime) -> str:
    """Delete a finished image of ``user_id`` (anyone's when None: the retention sweep); its storage id."""
    generation, _ = load_generation(unit, gen_id)
    if user_id is not None and generation.user_id != user_id:
        raise UnknownReference(f"user {user_id} has no generation {gen_id}")
    if not generation.delete_image(reason=reason, at=at):
        unit.repeat_of(gen_id, generation.version)
    return generation.storage_id
