"""The Ledger application: one short method per command, each running its step (``ledger.steps``)
in a unit of work and returning its ledger position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledger.core import LedgerCore
from ledger.erasure import record_erasure
from ledger.errors import InvalidCommand
from ledger.generation import Generation
from ledger.recharge import Recharge
from ledger.recharging import Ending, end_recharge, plan_id, request_recharge, set_top_up, start_top_up
from ledger.reconciliation import record_run, resolve_line
from ledger.report_steps import dismiss_reports, report_image, restore_sharing, take_down
from ledger.standing import Standing, standing_id
from ledger.steps import (
    DEFAULT_HOLD_TTL,
    adjust_wallet,
    close_grants,
    control_wallet,
    decide_share_bonus,
    delete_image,
    expire_due_credits,
    grant_credits,
    place_hold,
    positive_money,
    record_failure,
    record_request,
    record_result,
    record_start,
    resolve_hold,
    share_image,
    unshare_image,
)
from ledger.template import Template
from ledger.template_steps import import_spec, publish_draft, restore_template, retire_template, save_draft
from ledger.topup import TopUpPlan
from ledger.unit import Outcome
from ledger.values import Money, credits, template_uuid, wallet_id
from ledger.wallet import Wallet


class Ledger(LedgerCore):
    """Credits in, credits held, credits spent: every change an event, every command idempotent."""

    # Credits in.

    # ``at`` is the service's clock, the time of every event; ``reported_at`` is the partner's own
    # time for the same fact, recorded as data and never used to decide anything.

    def purchase(self, *, user_id: str, payment_id: str, pack_id: str, amount: int, price: Money,
                 at: datetime, reported_at: datetime | None = None) -> Outcome:
        """Credit a paid pack, once per payment id."""
        positive_money(price, "price")
        credits(amount)
        return self.execute(lambda u: grant_credits(
            u, kind="payment", reference=payment_id,
            awards=[{"user_id": user_id, "credits": amount, "pack_id": pack_id}], event_class=Wallet.CreditsPurchased,
            at=at, price=price, expires_at=None, reported_at=reported_at))

    def redeem(self, *, user_id: str, redemption_id: str, amount: int, value: Money, at: datetime,
               reported_at: datetime | None = None) -> Outcome:
        """Credit platform wallet balance converted to credits, once per redemption id."""
        positive_money(value, "redeemed value")
        credits(amount, "redeemed credits")
        return self.execute(lambda u: grant_credits(
            u, kind="redemption", reference=redemption_id, awards=[{"user_id": user_id, "credits": amount}],
            event_class=Wallet.CreditsRedeemed, at=at, price=value, expires_at=None, reported_at=reported_at))

    def grant_referral_bonus(self, *, referral_id: str, awards: list[dict[str, Any]], at: datetime,
                             expires_at: datetime | None, reported_at: datetime | None = None) -> Outcome:
        """Credit a referral's bonus to the referrer (and the referee), once per referral id."""
        if not awards:
            raise InvalidCommand(f"referral {referral_id} awards nobody")
        return self.execute(lambda u: grant_credits(
            u, kind="referral", reference=referral_id, awards=awards, event_class=Wallet.ReferralBonusGranted, at=at,
            price=None, recorded={"expires_at": expires_at}, reported_at=reported_at))

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
        return self.execute(lambda u: decide_share_bonus(
            u, user_id=user_id, reference=reference, amount=amount, at=at, expires_at=expires_at, day=share_day,
            daily_cap=daily_cap))

    def grant_promo(self, *, user_id: str, reference: str, amount: int, reason: str, at: datetime,
                    expires_at: datetime | None, formerly: str = "") -> Outcome:
        """Credit promotional credits (usually expiring), once per reference (or its ``formerly``)."""
        return self.execute(lambda u: grant_credits(
            u, kind="promo", reference=reference, awards=[{"user_id": user_id, "credits": amount, "reason": reason}],
            event_class=Wallet.PromoCreditsGranted, at=at, formerly=formerly, price=None, expires_at=expires_at))

    def adjust(self, *, user_id: str, reference: str, delta: int, reason: str, at: datetime,
               formerly: str = "") -> Outcome:
        """An admin correction with a reason: adds or takes credits, once per reference (or its ``formerly``)."""
        return self.execute(lambda u: adjust_wallet(
            u, user_id=user_id, reference=reference, delta=delta, reason=reason, at=at, order=self.burn_order,
            formerly=formerly))

    # Credits out again.

    def refund_purchase(self, *, payment_id: str, at: datetime, reported_at: datetime | None = None) -> Outcome:
        """Refund a purchase: claw back its unspent credits and record what was spent."""
        return self.execute(lambda u: close_grants(
            u, kind="payment", reference=payment_id, closing="refund", granted_by=Wallet.CreditsPurchased,
            closed_by=Wallet.PurchaseRefunded, at=at, reported_at=reported_at))

    def reverse_referral(self, *, referral_id: str, at: datetime, reported_at: datetime | None = None) -> Outcome:
        """Reverse a referral: claw back the unspent bonus it granted."""
        return self.execute(lambda u: close_grants(
            u, kind="referral", reference=referral_id, closing="reversal", granted_by=Wallet.ReferralBonusGranted,
            closed_by=Wallet.ReferralReversed, at=at, reported_at=reported_at))

    def expire_credits(self, *, user_id: str, at: datetime) -> Outcome:
        """Write off the remaining credits of the wallet's grants that expired by ``at``."""
        return self.execute(lambda u: expire_due_credits(u, user_id, at))

    # Holds.

    def place_hold(self, *, user_id: str, hold_id: str, amount: int, at: datetime,
                   expires_at: datetime | None = None) -> Outcome:
        """Reserve credits for a later capture; a repeat returns the first hold."""
        ttl = None if expires_at else DEFAULT_HOLD_TTL
        return self.execute(lambda u: place_hold(
            u, user_id=user_id, hold_id=hold_id, amount=amount, expires_at=expires_at, ttl=ttl, at=at,
            order=self.burn_order))

    def capture(self, *, user_id: str, hold_id: str, amount: int, at: datetime) -> Outcome:
        """Consume up to the held amount; the rest returns to the grants it came from."""
        return self.execute(lambda u: resolve_hold(
            u, user_id, lambda w: w.capture(hold_id=hold_id, amount=amount, at=at)))

    def release(self, *, user_id: str, hold_id: str, at: datetime) -> Outcome:
        """Return every held credit to the grant it came from."""
        return self.execute(lambda u: resolve_hold(u, user_id, lambda w: w.release(hold_id=hold_id, at=at)))

    def expire_hold(self, *, user_id: str, hold_id: str, at: datetime) -> Outcome:
        """Expire a hold whose deadline has passed."""
        return self.execute(lambda u: resolve_hold(
            u, user_id, lambda w: w.expire_hold(hold_id=hold_id, at=at)))

    # Spend controls.

    def change_settings(self, *, user_id: str, daily_spend_cap: int | None, at: datetime,
                        low_balance_below: int | None = None) -> Outcome:
        """Set the learner's daily spend cap and low-balance threshold (None: none, the policy's); value: whether
        they changed."""
        return self.execute(lambda u: control_wallet(u, user_id, at, lambda w: w.change_settings(
            daily_spend_cap=daily_spend_cap, low_balance_below=low_balance_below, at=at)))

    def freeze(self, *, user_id: str, reason: str, at: datetime, frozen: bool = True) -> Outcome:
        """Freeze (``frozen=False``: unfreeze) a wallet with an operator's reason; value: whether it changed."""
        return self.execute(lambda u: control_wallet(
            u, user_id, at, lambda w: w.freeze(frozen=frozen, reason=reason, at=at)))

    # Recharges from the platform wallet.

    def request_recharge(self, *, user_id: str, recharge_id: UUID, value: Money, amount: int, deadline: datetime,
                         at: datetime) -> Outcome:
        """Record a recharge of ``value`` as ``amount`` credits, once per id; value: its status."""
        positive_money(value, "recharge")
        credits(amount, "recharge credits")
        return self.execute(lambda u: request_recharge(
            u, user_id=user_id, recharge_id=recharge_id, value=value, credits=amount, deadline=deadline, at=at))

    def end_recharge(self, *, recharge_id: UUID, ending: Ending, detail: str = "", at: datetime) -> Outcome:
        """Record what became of a recharge's debit (confirmed: credits granted once); value: its status."""
        return self.execute(lambda u: end_recharge(u, recharge_id, ending, detail, at))

    def set_top_up(self, *, user_id: str, pack_id: str, credits: int, price: Money | None, below: int,
                   monthly_cap_minor: int, at: datetime) -> Outcome:
        """Turn the learner's auto top-up on with a pack, a threshold and a monthly cap (``pack_id`` "": off)."""
        terms = {"pack_id": pack_id, "credits": credits, "price": price, "below": below,
                 "monthly_cap_minor": monthly_cap_minor}
        return self.execute(lambda u: set_top_up(u, user_id, terms, at))

    def start_top_up(self, *, user_id: str, recharge_id: UUID, month: str, deadline: datetime,
                     at: datetime) -> Outcome:
        """Ask for one auto top-up for a crossing below the plan's threshold; value: what happened."""
        return self.execute(lambda u: start_top_up(
            u, user_id=user_id, recharge_id=recharge_id, month=month, deadline=deadline, at=at))

    def top_up_plan(self, user_id: str) -> TopUpPlan | None:
        """The learner's auto top-up plan, or None."""
        found = self.load(plan_id(user_id))
        return found if isinstance(found, TopUpPlan) else None

    def recharge(self, recharge_id: UUID) -> Recharge | None:
        """The recharge as stored, or None."""
        found = self.load(recharge_id)
        return found if isinstance(found, Recharge) else None

    # Generations.

    def request_generation(self, *, user_id: str, request_key: str, template_id: str, template_version: int,
                           variables: dict[str, Any], input_image: str | None, cost: int, at: datetime,
                           hold_ttl: timedelta = DEFAULT_HOLD_TTL, day: str | None = None, trace: str = "") -> Outcome:
        """Hold the cost and record the request (with its ``trace`` context), in one transaction; value: the
        generation id.

        ``day`` is the day the spending counts on against the learner's daily cap (ISO date; by default
        ``at``'s in UTC); a frozen wallet or a cap it would pass refuses the request before any hold."""
        credits(cost, "cost")
        fields = {"template_id": template_id, "template_version": template_version, "variables": variables,
                  "input_image": input_image, "cost": cost}
        spent_on = day or at.astimezone(UTC).date().isoformat()
        return self.execute(lambda u: record_request(
            u, user_id=user_id, request_key=request_key, fields=fields, at=at, hold_ttl=hold_ttl,
            order=self.burn_order, day=spent_on, trace=trace))

    def start_generation(self, *, generation_id: UUID, worker: str, at: datetime) -> Outcome:
        """Record that a worker began rendering."""
        return self.execute(lambda u: record_start(u, generation_id, worker, at))

    def complete_generation(self, *, generation_id: UUID, at: datetime, **result: Any) -> Outcome:
        """Record the image and capture the cost; a late result is charged if it can be, else written off."""
        return self.execute(lambda u: record_result(u, generation_id, at=at, result=result, order=self.burn_order))

    def fail_generation(self, *, generation_id: UUID, reason: str, retryable: bool, at: datetime,
                        provider_cost: dict[str, Any] | None = None) -> Outcome:
        """Record the failure (with what its model calls cost, when known) and release the hold."""
        return self.execute(lambda u: record_failure(
            u, generation_id, reason=reason, retryable=retryable, at=at, provider_cost=provider_cost))

    def share_generation(self, *, generation_id: UUID, user_id: str, token: str, at: datetime) -> Outcome:
        """Make a finished image public under ``token``; value: the token in force."""
        return self.execute(lambda u: share_image(u, generation_id, user_id=user_id, token=token, at=at))

    def unshare_generation(self, *, generation_id: UUID, user_id: str, at: datetime) -> Outcome:
        """Make a shared image private again; value: whether it was shared."""
        return self.execute(lambda u: unshare_image(u, generation_id, user_id, at))

    def delete_generation_image(self, *, generation_id: UUID, user_id: str | None, reason: str,
                                at: datetime) -> Outcome:
        """Delete a finished image and its share link, keeping its money facts; value: its storage id."""
        return self.execute(lambda u: delete_image(u, generation_id, user_id=user_id, reason=reason, at=at))

    # Reports and takedowns: operators say who they are and why.

    def report_generation(self, *, generation_id: UUID, category: str, text: str, reporter: str, at: datetime,
                          max_open: int) -> Outcome:
        """Report a shared image, once per reporter while open; value: how many reports are open on it."""
        return self.execute(lambda u: report_image(
            u, generation_id, category=category, text=text, reporter=reporter, at=at, max_open=max_open))

    def take_down_generation(self, *, generation_id: UUID, category: str, note: str, by: str, at: datetime,
                             suspend_after: int) -> Outcome:
        """Take a reported image down, counted against its owner; value: its storage id."""
        return self.execute(lambda u: take_down(
            u, generation_id, category=category, note=note, by=by, at=at, limit=suspend_after))

    def dismiss_reports(self, *, generation_id: UUID, note: str, by: str, at: datetime) -> Outcome:
        """Keep a reported image and close its reports; value: how many were closed."""
        return self.execute(lambda u: dismiss_reports(u, generation_id, note=note, by=by, at=at))

    def restore_sharing(self, *, user_id: str, by: str, reason: str, at: datetime) -> Outcome:
        """Give a learner who lost sharing to takedowns their sharing back; value: whether it was suspended."""
        return self.execute(lambda u: restore_sharing(u, user_id, by=by, reason=reason, at=at))

    def record_erasure(self, *, user_id: str, by: str, at: datetime) -> Outcome:
        """Record a learner's erasure (their key is destroyed after); value: whether it is new."""
        return self.execute(lambda u: record_erasure(u, user_id, by=by, at=at))

    # Reconciliation against a payment provider's settlement report.

    def record_reconciliation(self, *, run: dict[str, Any], at: datetime) -> Outcome:
        """Record a settlement report's reconciliation, once per file (SHA-256); value: (its id, whether new)."""
        return self.execute(lambda u: record_run(u, run, at))

    def resolve_reconciliation_line(self, *, run_id: UUID, index: int, user_id: str, pack_id: str, by: str,
                                    at: datetime) -> Outcome:
        """Note that a paid-but-no-credits line was credited by the purchase command; value: whether new."""
        return self.execute(lambda u: resolve_line(u, run_id, index, user_id, pack_id, by, at))

    # Templates: every change says who made it and why.

    def draft_template(self, *, template_id: str, spec: dict[str, Any], by: str, reason: str,
                       at: datetime) -> Outcome:
        """Create a template with this draft, or replace its draft; value: whether anything changed."""
        return self.execute(lambda u: save_draft(u, template_id, spec=spec, by=by, reason=reason, at=at))

    def publish_template(self, *, template_id: str, by: str, reason: str, at: datetime,
                         effective_at: datetime | None = None) -> Outcome:
        """Publish the draft as the next immutable version; value: its number."""
        return self.execute(lambda u: publish_draft(
            u, template_id, by=by, reason=reason, at=at, effective_at=effective_at))

    def import_template(self, *, template_id: str, spec: dict[str, Any], by: str, reason: str,
                        at: datetime) -> Outcome:
        """Draft and publish ``spec`` unless it already is the newest version; value: the new version or None."""
        return self.execute(lambda u: import_spec(u, template_id, spec=spec, by=by, reason=reason, at=at))

    def retire_template(self, *, template_id: str, by: str, reason: str, at: datetime) -> Outcome:
        """Take a template out of the studio; value: whether it changed."""
        return self.execute(lambda u: retire_template(u, template_id, by=by, reason=reason, at=at))

    def restore_template(self, *, template_id: str, by: str, reason: str, at: datetime) -> Outcome:
        """Bring a retired template back; value: whether it changed."""
        return self.execute(lambda u: restore_template(u, template_id, by=by, reason=reason, at=at))

    # Reading.

    def template(self, template_id: str) -> Template | None:
        """The template ``template_id`` as stored, or None."""
        found = self.load(template_uuid(template_id))
        return found if isinstance(found, Template) else None

    def wallet(self, user_id: str) -> Wallet | None:
        """The wallet of ``user_id`` as stored, or None."""
        found = self.load(wallet_id(user_id))
        return found if isinstance(found, Wallet) else None

    def standing(self, user_id: str) -> Standing | None:
        """The standing of ``user_id`` (whether they may share), or None when nothing was ever upheld."""
        found = self.load(standing_id(user_id))
        return found if isinstance(found, Standing) else None

    def generation(self, gen_id: UUID) -> Generation | None:
        """The generation as stored, or None."""
        found = self.load(gen_id)
        return found if isinstance(found, Generation) else None
