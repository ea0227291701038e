"""A learner's erasure (`DELETE /v1/me`, `studio-ledger erase USER_ID`): their images and uploads deleted, the
erasure recorded, then their key destroyed, after which every word sealed under it reads as erased. The money facts
(grants, holds, captures, the journal) stay as they were, and the audit still verifies.

Each step is idempotent, so a repeat finishes an erasure a crash interrupted: images already deleted are not
deleted twice, the erasure is recorded once, and a key already destroyed stays destroyed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import Ledger
from ledger.errors import InvalidTransition
from media.ports import ImageStore
from media.threads import Lane
from service.commands import Run, direct

ERASURE = "erasure"  # why an erased learner's images were deleted, as their events say


@dataclass(frozen=True)
class Erased:
    """What an erasure did: images and uploads deleted, whether the key was destroyed now, the ledger position."""

    images: int
    uploads: int
    key_destroyed: bool
    position: int


async def erase_learner(ledger: Ledger, images: ImageStore, *, user_id: str, generations: Sequence[UUID], by: str,
                        at: datetime, lane: Lane, run: Run = direct) -> Erased:
    """Erase ``user_id``: delete the images of ``generations`` (theirs, from the read tables) and their uploads,
    record the erasure, destroy their key."""
    deleted, position = 0, 0
    for generation_id in generations:
        try:
            outcome = await lane.run(lambda g=generation_id: run(  # type: ignore[misc]
                "delete_image", lambda: ledger.delete_generation_image(generation_id=g, user_id=user_id,
                                                                       reason=ERASURE, at=at)))
        except InvalidTransition:  # unfinished or failed: it has no image, and its words go with the key
            continue
        position = max(position, outcome.position)
        if outcome.value:
            await images.delete(str(outcome.value))
        deleted += not outcome.repeated
    kept = await images.uploads(user_id)
    for upload in kept:
        await images.delete_upload(user_id, upload.upload_id)
    recorded = await lane.run(lambda: run("record_erasure", lambda: ledger.record_erasure(user_id=user_id, by=by,
                                                                                          at=at)))
    keys = ledger.keys
    destroyed = await lane.run(lambda: keys.destroy(user_id)) if keys is not None else False
    return Erased(images=deleted, uploads=len(kept), key_destroyed=destroyed, position=max(position,
                                                                                           recorded.position))
