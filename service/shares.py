"""Sharing an image: public under a token, and the share bonus, decided from the share itself so that a
retry grants it at most once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import GenerationNotFound, Ledger, Outcome
from service.commands import Run, direct
from service.policy import Policy


@dataclass(frozen=True)
class Shared:
    """A shared image: its token, the bonus this request earned and the ledger position of both."""

    token: str
    bonus: int
    position: int


def new_token() -> str:
    """An unguessable share token."""
    return secrets.token_urlsafe(9)


def share_generation(ledger: Ledger, policy: Policy, *, user_id: str, generation_id: UUID, at: datetime,
                     token: str | None = None, run: Run = direct) -> Shared:
    """Make a finished image public; the first share of an image earns the share bonus (a few a day).

    The token in force is kept on a repeat; a repeat earns no second bonus (``bonus`` is 0).
    """
    shared = run("share_generation", lambda: ledger.share_generation(
        generation_id=generation_id, user_id=user_id, token=token or new_token(), at=at))
    if policy.share.credits <= 0:
        return Shared(token=shared.value, bonus=0, position=shared.position)
    granted = run("grant_share_bonus", lambda: grant_share_bonus(
        ledger, policy, user_id=user_id, generation_id=generation_id))
    bonus = 0 if granted.repeated else int(granted.value)
    return Shared(token=shared.value, bonus=bonus, position=max(shared.position, granted.position))


def unshare_generation(ledger: Ledger, *, user_id: str, generation_id: UUID, at: datetime,
                       run: Run = direct) -> Outcome:
    """Make a shared image private again: its share link stops working (a repeat changes nothing)."""
    return run("unshare_generation", lambda: ledger.unshare_generation(
        generation_id=generation_id, user_id=user_id, at=at))


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
