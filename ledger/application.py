"""The Ledger application: one short method per command, each returning its ledger position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledger.core import (
    DEFAULT_HOLD_TTL,
    LedgerCore,
    check_reference,
    close_grants,
    generation_id,
    grant_credits,
    load_generation,
    open_wallet,
    positive_money,
    require,
    wallet_id,
)
from ledger.errors import ConflictingCommand, InvalidCommand, UnknownReference
from ledger.generation import Generation
from ledger.reference import Reference
from ledger.unit import Outcome, StaleRead, Unit
from ledger.values import Money, credits, digest, stable_id
from ledger.wallet import Wallet


class Ledger(LedgerCore):
    """Credits in, credits held, credits spent: every change an event, every command idempotent."""

    # Credits in.

    def purchase(self, *, user_id: str, payment_id: str, pack_id: str, amount: int, price: Money,
                 at: datetime) -> Outcome:
        """Credit a paid pack, once per payment id."""
        positive_money(price, "price")
        return self.execute(lambda u: grant_credits(
            u, "payment", payment_id, [{"user_id": user_id, "credits": amount, "pack_id": pack_id}],
            Wallet.CreditsPurchased, at, price=price, expires_at=None))

    def redeem(self, *, user_id: str, redemption_id: str, amount: int, value: Money, at: datetime) -> Outcome:
        """Credit platform wallet balance converted to credits, once per redemption id."""
        positive_money(value, "redeemed value")
        return self.execute(lambda u: grant_credits(
            u, "redemption", redemption_id, [{"user_id": user_id, "credits": amount}],
            Wallet.CreditsRedeemed, at, price=value, expires_at=None))

    def grant_referral_bonus(self, *, referral_id: str, awards: list[dict[str, Any]], at: datetime,
                             expires_at: datetime | None) -> Outcome:
        """Credit a referral's bonus to the referrer (and the referee), once per referral id."""
        if not awards:
            raise InvalidCommand(f"referral {referral_id} awards nobody")
        return self.execute(lambda u: grant_credits(
            u, "referral", referral_id, awards, Wallet.ReferralBonusGranted, at,
            price=None, expires_at=expires_at))

    def grant_share_bonus(self, *, user_id: str, reference: str, amount: int, at: datetime,
                          expires_at: datetime | None, day: str | None = None,
                          daily_cap: int | None = None) -> Outcome:
        """Credit a bonus for sharing an image, decided once per reference; value: the credits granted.

        ``day`` is the share's day (ISO date; by default ``at``'s in UTC). With ``daily_cap``, the
        wallet grants at most that many bonuses for shares of one day, counted atomically with the
        grant; a share past the cap is recorded as earning nothing, and stays so when repeated.
        """
        credits(amount)
        if daily_cap is not None and daily_cap < 0:
            raise InvalidCommand(f"share bonus {reference}: the daily cap must be >= 0, got {daily_cap}")
        share_day = day or at.astimezone(UTC).date().isoformat()
        return self.execute(lambda u: self._share_bonus(
            u, user_id, reference, amount, at, expires_at, share_day, daily_cap))

    def grant_promo(self, *, user_id: str, reference: str, amount: int, reason: str, at: datetime,
                    expires_at: datetime | None) -> Outcome:
        """Credit promotional credits (usually expiring), once per reference."""
        return self.execute(lambda u: grant_credits(
            u, "promo", reference, [{"user_id": user_id, "credits": amount, "reason": reason}],
            Wallet.PromoCreditsGranted, at, price=None, expires_at=expires_at))

    def adjust(self, *, user_id: str, reference: str, delta: int, reason: str, at: datetime) -> Outcome:
        """An admin correction with a reason: adds or takes credits, once per reference."""
        return self.execute(lambda u: self._adjust(u, user_id, reference, delta, reason, at))

    # Credits out again.

    def refund_purchase(self, *, payment_id: str, at: datetime) -> Outcome:
        """Refund a purchase: claw back its unspent credits and record what was spent."""
        return self.execute(lambda u: close_grants(
            u, "payment", payment_id, "refund", Wallet.PurchaseRefunded, "purchase", at))

    def reverse_referral(self, *, referral_id: str, at: datetime) -> Outcome:
        """Reverse a referral: claw back the unspent bonus it granted."""
        return self.execute(lambda u: close_grants(
            u, "referral", referral_id, "reversal", Wallet.ReferralReversed, "referral", at))

    def expire_credits(self, *, user_id: str, at: datetime) -> Outcome:
        """Write off the remaining credits of the wallet's grants that expired by ``at``."""
        return self.execute(lambda u: self._wallet(u, user_id).expire_credits(at))

    # Holds.

    def place_hold(self, *, user_id: str, hold_id: str, amount: int, at: datetime,
                   expires_at: datetime | None = None) -> Outcome:
        """Reserve credits for a later capture; a repeat returns the first hold."""
        ttl = None if expires_at else DEFAULT_HOLD_TTL
        return self.execute(lambda u: self._place(u, user_id, hold_id, amount, expires_at, ttl, at))

    def capture(self, *, user_id: str, hold_id: str, amount: int, at: datetime) -> Outcome:
        """Consume up to the held amount; the rest returns to the grants it came from."""
        return self.execute(lambda u: self._anchored(
            u, user_id, lambda w: w.capture(hold_id=hold_id, amount=amount, at=at)))

    def release(self, *, user_id: str, hold_id: str, at: datetime) -> Outcome:
        """Return every held credit to the grant it came from."""
        return self.execute(lambda u: self._anchored(u, user_id, lambda w: w.release(hold_id=hold_id, at=at)))

    def expire_hold(self, *, user_id: str, hold_id: str, at: datetime) -> Outcome:
        """Expire a hold whose deadline has passed."""
        return self.execute(lambda u: self._anchored(
            u, user_id, lambda w: w.expire_hold(hold_id=hold_id, at=at)))

    # Generations.

    def request_generation(self, *, user_id: str, request_key: str, template_id: str, template_version: int,
                           variables: dict[str, Any], input_image: str | None, cost: int, at: datetime,
                           hold_ttl: timedelta = DEFAULT_HOLD_TTL) -> Outcome:
        """Hold the cost and record the request, in one transaction; value: the generation id."""
        credits(cost, "cost")
        fields = {"template_id": template_id, "template_version": template_version, "variables": variables,
                  "input_image": input_image, "cost": cost}
        return self.execute(lambda u: self._request(u, user_id, request_key, fields, at, hold_ttl))

    def start_generation(self, *, generation_id: UUID, worker: str, at: datetime) -> Outcome:
        """Record that a worker began rendering."""
        return self.execute(lambda u: load_generation(u, generation_id)[0].start(worker=worker, at=at))

    def complete_generation(self, *, generation_id: UUID, at: datetime, **result: Any) -> Outcome:
        """Record the image and capture the cost; a late result is charged if it can be, else written off."""
        return self.execute(lambda u: self._complete(u, generation_id, at, result))

    def fail_generation(self, *, generation_id: UUID, reason: str, retryable: bool, at: datetime) -> Outcome:
        """Record the failure and release the hold."""
        return self.execute(lambda u: self._fail(u, generation_id, reason, retryable, at))

    def share_generation(self, *, generation_id: UUID, user_id: str, token: str, at: datetime) -> Outcome:
        """Make a finished image public under ``token``; value: the token in force."""
        return self.execute(lambda u: self._share(u, generation_id, user_id, token, at))

    def unshare_generation(self, *, generation_id: UUID, user_id: str, at: datetime) -> Outcome:
        """Make a shared image private again; value: whether it was shared."""
        return self.execute(lambda u: self._unshare(u, generation_id, user_id, at))

    # Reading.

    def wallet(self, user_id: str) -> Wallet | None:
        """The wallet of ``user_id`` as stored, or None."""
        found = self.load(wallet_id(user_id))
        return found if isinstance(found, Wallet) else None

    def generation(self, gen_id: UUID) -> Generation | None:
        """The generation as stored, or None."""
        found = self.load(gen_id)
        return found if isinstance(found, Generation) else None

    # Steps.

    def _wallet(self, unit: Unit, user_id: str) -> Wallet:
        return require(unit.get(wallet_id(user_id)), Wallet, UnknownReference(f"user {user_id} has no wallet"))

    def _anchored(self, unit: Unit, user_id: str, step: Any) -> Any:
        wallet = self._wallet(unit, user_id)
        hold = step(wallet)
        if not unit.changed():
            unit.repeat_of(wallet.id, hold.resolved_version)
        return hold

    def _place(self, unit: Unit, user_id: str, hold_id: str, amount: int, expires_at: datetime | None,
               ttl: timedelta | None, at: datetime) -> Any:
        wallet = open_wallet(unit, user_id, at)
        hold = wallet.place_hold(hold_id=hold_id, amount=amount, expires_at=expires_at, ttl=ttl, at=at,
                                 order=self.burn_order)
        if not unit.changed():
            unit.repeat_of(wallet.id, hold.placed_version)
        return hold

    def _adjust(self, unit: Unit, user_id: str, reference: str, delta: int, reason: str, at: datetime) -> None:
        payload = {"user_id": user_id, "delta": delta, "reason": reason}
        fingerprint, repeated = check_reference(unit, "adjustment", reference, payload)
        if repeated:
            return
        wallet = open_wallet(unit, user_id, at)
        grant_id = str(stable_id("grant:adjustment", reference))
        wallet.adjust(delta=delta, reason=reason, reference=reference, grant_id=grant_id, at=at,
                      order=self.burn_order)
        unit.add(Reference.record("adjustment", reference, fingerprint, {str(wallet.id): grant_id}, timestamp=at))

    def _request(self, unit: Unit, user_id: str, request_key: str, fields: dict[str, Any],
                 at: datetime, hold_ttl: timedelta) -> UUID:
        gen_id = generation_id(user_id, request_key)
        fingerprint = digest(fields)
        existing = unit.get(gen_id, creating=True)
        if isinstance(existing, Generation):
            if existing.digest != fingerprint:
                raise ConflictingCommand(f"request {request_key} of user {user_id} was made with another payload")
            unit.repeat_of(gen_id, 1)
            return gen_id
        wallet = open_wallet(unit, user_id, at)
        hold = wallet.place_hold(hold_id=str(gen_id), amount=fields["cost"], ttl=hold_ttl, at=at,
                                 order=self.burn_order, meta={"generation_id": str(gen_id)})
        unit.add(Generation.request(gen_id, at=at, user_id=user_id, wallet_id=wallet.id, hold_id=str(gen_id),
                                    expires_at=hold.expires_at, digest=fingerprint, **fields))
        return gen_id

    def _complete(self, unit: Unit, gen_id: UUID, at: datetime, result: dict[str, Any]) -> str:
        generation, wallet = load_generation(unit, gen_id)
        hold = wallet.hold(generation.hold_id)
        late = ""
        if generation.status not in ("completed", "failed"):
            if hold.status == "pending" and hold.expires_at > at:
                wallet.capture(hold_id=hold.hold_id, amount=generation.cost, at=at)
            else:
                late = self._charge_late(wallet, generation, hold, at)
        captured = generation.cost if late in ("", "charged") else 0
        if not generation.complete(at=at, captured=captured, late=late, **result):
            late_hold = wallet.holds.get(f"{generation.hold_id}:late")
            unit.repeat_of(wallet.id, max(hold.resolved_version, late_hold.resolved_version if late_hold else 0))
            unit.repeat_of(gen_id, generation.version)
        return generation.status

    def _charge_late(self, wallet: Wallet, generation: Generation, hold: Any, at: datetime) -> str:
        # The hold lapsed before the image arrived: charge again if the credits are there,
        # else write the image off. Never a silent free image, never a negative balance.
        if hold.status == "pending":
            wallet.expire_hold(hold_id=hold.hold_id, at=max(at, hold.expires_at))
        if wallet.available(at) < generation.cost:
            return "written_off"
        late_hold = f"{generation.hold_id}:late"
        wallet.place_hold(hold_id=late_hold, amount=generation.cost, ttl=DEFAULT_HOLD_TTL, at=at,
                          order=self.burn_order, meta={"generation_id": str(generation.id), "late": True})
        wallet.capture(hold_id=late_hold, amount=generation.cost, at=at)
        return "charged"

    def _fail(self, unit: Unit, gen_id: UUID, reason: str, retryable: bool, at: datetime) -> str:
        generation, wallet = load_generation(unit, gen_id)
        if generation.status not in ("completed", "failed"):
            hold = wallet.hold(generation.hold_id)
            if hold.status == "pending" and hold.expires_at > at:
                wallet.release(hold_id=hold.hold_id, at=at)
            elif hold.status == "pending":
                wallet.expire_hold(hold_id=hold.hold_id, at=at)
        if not generation.fail(reason=reason, retryable=retryable, at=at):
            unit.repeat_of(wallet.id, wallet.hold(generation.hold_id).resolved_version)
            unit.repeat_of(gen_id, generation.version)
        return generation.status

    def _share_bonus(self, unit: Unit, user_id: str, reference: str, amount: int, at: datetime,
                     expires_at: datetime | None, day: str, daily_cap: int | None) -> int:
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
        grant_id = str(stable_id("grant:share", f"{reference}:{user_id}"))
        if grant_id in wallet.grants:
            raise StaleRead(f"share bonus {reference} was granted after its reference was read")
        targets = {}
        if daily_cap is None or wallet.share_bonuses_on(day) < daily_cap:
            wallet.grant(Wallet.ShareBonusGranted, grant_id=grant_id, amount=amount, at=at, reference=reference,
                         expires_at=expires_at, day=day)
            targets[str(wallet.id)] = grant_id
        unit.add(Reference.record("share", reference, fingerprint, targets, timestamp=at))
        return amount if targets else 0

    def _share(self, unit: Unit, gen_id: UUID, user_id: str, token: str, at: datetime) -> str:
        generation, _ = load_generation(unit, gen_id)
        if generation.user_id != user_id:
            raise UnknownReference(f"user {user_id} has no generation {gen_id}")
        if not generation.share(token=token, at=at):
            unit.repeat_of(gen_id, generation.version)
        return generation.share_token

    def _unshare(self, unit: Unit, gen_id: UUID, user_id: str, at: datetime) -> bool:
        generation, _ = load_generation(unit, gen_id)
        if generation.user_id != user_id:
            raise UnknownReference(f"user {user_id} has no generation {gen_id}")
        if generation.unshare(at=at):
            return True
        unit.repeat_of(gen_id, generation.version)
        return False
