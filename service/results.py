"""Applying a worker's result to the ledger: capture on completion, release on failure; idempotent."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ledger import ConflictingCommand, Ledger, Outcome
from media.messages import GenerationCompletedMessage, GenerationFailedMessage
from service import tracing

log = logging.getLogger(__name__)


def apply_result(ledger: Ledger, result: GenerationCompletedMessage | GenerationFailedMessage,
                 at: datetime) -> Outcome | None:
    """Record ``result`` on its generation at ``at``; None when the generation already ended otherwise.

    A repeat of the same result is a no-op that returns the original position. A result that
    contradicts the recorded end (say, an image arriving after the sweeper failed the generation
    for a timeout) changes nothing: the generation keeps its first ending, and no credit moves.
    """
    try:
        with tracing.span(f"ledger {'complete' if result.type == 'GenerationCompleted' else 'fail'}_generation"):
            return _record(ledger, result, at)
    except ConflictingCommand as error:
        log.warning("result for generation %s ignored: %s", result.generation_id, error)
        return None


def _record(ledger: Ledger, result: GenerationCompletedMessage | GenerationFailedMessage, at: datetime) -> Outcome:
    if isinstance(result, GenerationCompletedMessage):
        return ledger.complete_generation(
            generation_id=result.generation_id, at=at, image_url=result.image_url,
            storage_id=result.storage_id, provider=result.provider, model=result.model, seed=result.seed,
            timings=dict(result.timings), provider_cost=_cost(result))
    return ledger.fail_generation(generation_id=result.generation_id, reason=result.reason,
                                  retryable=result.retryable, at=at, provider_cost=_cost(result))


def _cost(result: GenerationCompletedMessage | GenerationFailedMessage) -> dict[str, Any] | None:
    return result.provider_cost.model_dump() if result.provider_cost is not None else None
