"""The local store's images, served only to signed URLs that have not expired (records never)."""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api.http.deps import ServiceDep
from api.http.problems import Problem
from api.http.schemas import problems
from media.image_stores.signing import check
from service.container import Service

router = APIRouter(tags=["media"])
SERVED = re.compile(r"^gallery/[A-Za-z0-9_-]{1,128}\.(png|jpg|webp)$")  # images and thumbnails, no records
SHARE_TTL = 300  # seconds a share page's image redirect stays valid: an unshare takes effect this soon


def signed(service: Service, url: str | None, ttl: int | None = None) -> str | None:
    """The URL under which the caller may read the stored image at ``url`` for a while."""
    if not url or service.images is None:
        return url
    return service.images.signed_url(url, ttl or service.media.media_url_ttl_s)


@router.get("/media/{path:path}", response_class=FileResponse, responses=problems(403, 404))
def media(path: str, service: ServiceDep, expires: str | None = Query(default=None, max_length=12),
          signature: str | None = Query(default=None, max_length=64)) -> FileResponse:
    """An image of the local store, for a URL the API signed (gallery, generation or share page)."""
    if service.media.image_store != "local" or not SERVED.match(path):
        raise Problem(404, "not-found", "Not found", "no such image")
    wrong = check(service.media.media_signing_key.get_secret_value(), f"/media/{path}", expires, signature)
    if wrong is not None:
        raise Problem(403, "invalid-signature", "Forbidden", f"{wrong}: ask the API for a fresh image URL")
    file = service.media.data_dir / "media" / path
    if not file.is_file():
        raise Problem(404, "not-found", "Not found", "no such image")
    left = max(0, int(expires or 0) - int(time.time()))
    return FileResponse(file, headers={"Cache-Control": f"private, max-age={left}",
                                       "X-Content-Type-Options": "nosniff"})
