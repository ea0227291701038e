"""Referrals from the affiliate system to ledger commands: a bonus granted once per referral id, clawed
back (what is unspent of it) when the referral is reversed."""

from __future__ import annotations

from datetime import datetime

from ledger import Ledger, Outcome
from service.errors import RejectedMessage
from service.messages import ReferralConverted, ReferralReversed
from service.occurred import DEFAULT_BOUNDS, OccurredBounds, reported_time
from service.policy import Policy


class SelfReferral(RejectedMessage):
    """A referral whose referrer and referee are the same user."""

    code = "self-referral"


def apply_referral(ledger: Ledger, policy: Policy, message: ReferralConverted | ReferralReversed,
                   *, at: datetime, bounds: OccurredBounds = DEFAULT_BOUNDS) -> Outcome:
    """Apply an affiliate-system message at ``at``, the service's clock; its ``occurred_at`` is recorded as
    reported, and refused when it is further from ``at`` than ``bounds`` allow."""
    reported = reported_time(message.occurred_at, now=at, bounds=bounds, what=f"{message.type} message")
    if isinstance(message, ReferralReversed):
        return ledger.reverse_referral(referral_id=message.referral_id, at=at, reported_at=reported)
    if message.referrer_user_id == message.referee_user_id:
        raise SelfReferral(f"referral {message.referral_id}: user {message.referrer_user_id} referred themselves")
    bonus = policy.referral
    awards = [{"user_id": message.referrer_user_id, "credits": bonus.referrer_credits, "role": "referrer"}]
    if bonus.referee_credits:
        awards.append({"user_id": message.referee_user_id, "credits": bonus.referee_credits, "role": "referee"})
    return ledger.grant_referral_bonus(referral_id=message.referral_id, awards=awards, at=at,
                                       expires_at=bonus.expiry(at), reported_at=reported)
