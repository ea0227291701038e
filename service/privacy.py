"""A learner's own data: deleting one image or one uploaded photo now, and exporting everything kept about
them. The ledger keeps the money facts of a deleted image (its hold and capture), described as "image
deleted"; the image, its thumbnail, its preview and its share link are gone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import Ledger
from media.ports import ImageStore
from media.threads import Lane
from service.commands import Run, direct
from service.errors import UploadNotFound

OWNER, RETENTION = "owner", "retention"  # why an image was deleted, as its event says


@dataclass(frozen=True)
class Deleted:
    """A deleted image: the ledger position of its deletion, and whether it was deleted before."""

    generation_id: UUID
    position: int
    repeated: bool


async def delete_image(ledger: Ledger, images: ImageStore, *, user_id: str, generation_id: UUID, at: datetime,
                       lane: Lane, run: Run = direct) -> Deleted:
    """Record the deletion of ``user_id``'s finished image, then delete it from the image store. The ledger
    first: once recorded, no read shows the image; a store that fails is tried again by a repeat, which
    records nothing twice (``UnknownReference`` for another's image, ``InvalidTransition`` for one unfinished)."""
    outcome = await lane.run(lambda: run("delete_image", lambda: ledger.delete_generation_image(
        generation_id=generation_id, user_id=user_id, reason=OWNER, at=at)))
    if outcome.value:
        await images.delete(str(outcome.value))
    return Deleted(generation_id=generation_id, position=outcome.position, repeated=outcome.repeated)


def delete_kept(ledger: Ledger, *, generation_id: UUID, at: datetime, purge: Callable[[str], None]) -> bool:
    """Delete an image kept unshared past the retention period (the sweeper's part); whether it was deleted now."""
    outcome = ledger.delete_generation_image(generation_id=generation_id, user_id=None, reason=RETENTION, at=at)
    if outcome.value:
        purge(str(outcome.value))
    return not outcome.repeated


async def delete_upload(images: ImageStore, *, owner: str, upload_id: str) -> None:
    """Delete ``owner``'s uploaded photo now, not at its expiry; ``UploadNotFound`` when they keep none by that id.
    A generation still waiting for it fails without it, and its credits come back."""
    if not any(u.upload_id == upload_id for u in await images.uploads(owner)):
        raise UploadNotFound(f"you have no upload {upload_id} (it may have expired or been deleted)")
    await images.delete_upload(owner, upload_id)
