"""`studio-ledger erase USER_ID`: support staff erase a learner who asked, as `DELETE /v1/me` does for themselves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

By = Annotated[str, typer.Option("--by", help="Who erases (recorded in the ledger with the erasure).")]


def erase(user_id: Annotated[str, typer.Argument(help="The learner to erase.")], by: By = "support") -> None:
    """Erase USER_ID: their images and uploads deleted, their key destroyed (their words read as erased for ever);
    their credits, holds and the journal stay. A repeat finishes an erasure that was interrupted."""
    from ledger.names import check_user_id
    from media.threads import Lane
    from projections import queries
    from service.bootstrap import build_image_store, build_ledger, build_read_engine
    from service.erasure import erase_learner
    from service.settings import Settings

    try:
        check_user_id(user_id)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    settings = Settings()
    ledger = build_ledger(settings)
    try:
        engine = build_read_engine(settings)
        # The images as the read tables have them (the service's projector keeps them current); one made a moment
        # ago and not yet projected keeps its file, but its words go with the key all the same.
        with engine.connect() as conn:
            ids = [row["generation_id"] for row in queries.all_generations(conn, user_id) if row["image_url"]]
        engine.dispose()
        images = build_image_store(settings.media)
        done = asyncio.run(erase_learner(ledger, images, user_id=user_id, generations=ids, by=by,
                                         at=datetime.now(UTC), lane=Lane("erase", 1)))
    finally:
        ledger.close()
    typer.echo(f"erased {user_id}: {done.images} images and {done.uploads} uploads deleted, key "
               f"{'destroyed' if done.key_destroyed else 'already gone'} (ledger position {done.position})")
