"""The share bonus: decided from the share itself, so that a retry grants it at most once."""

from __future__ import annotations

from uuid import UUID

from ledger import GenerationNotFound, Ledger, Outcome
from service.policy import Policy


def grant_share_bonus(ledger: Ledger, policy: Policy, *, user_id: str, generation_id: UUID) -> Outcome:
    """Decide the bonus for sharing ``generation_id``; value: the credits granted (0 past the cap).

    The time is the share's own (the generation's last event), so a retry after a crash between
    the share and its bonus is the same decision; the daily cap is the wallet's to keep, counted in
    the policy's time zone, never from the read tables (which lag, and race).
    """
    rule = policy.share
    generation = ledger.generation(generation_id)
    if generation is None:
        raise GenerationNotFound(f"no generation {generation_id}")
    at = getattr(generation, "first_shared_at", None) or generation.modified_on  # the first share's time, even
    # when the image was unshared and shared again since
    return ledger.grant_share_bonus(user_id=user_id, reference=f"share:{generation_id}", amount=rule.credits,
                                    at=at, expires_at=rule.expiry(at), day=policy.day_of(at),
                                    daily_cap=rule.max_bonuses_per_day)
