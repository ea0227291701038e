"""Each template's preview image, rendered by the service itself (public, cached)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from api.http.deps import ServiceDep
from api.http.previews import Previews
from api.http.schemas import problems

router = APIRouter(prefix="/v1", tags=["catalog"])
CACHE_CONTROL = "public, max-age=86400"  # a new template version is a new ETag; a day keeps clients current


@router.get("/templates/{template_id}/preview.png", response_class=Response, responses={
    200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
          "description": "The preview, a PNG"},
    304: {"description": "Not modified (If-None-Match matched the ETag)"}, **problems(404)})
async def get_template_preview(template_id: str, request: Request, service: ServiceDep,
                               if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The template rendered with sample text: what a learner's image will look like; 404 for no such template."""
    template = service.catalog.get(template_id)
    previews: Previews = request.app.state.previews
    preview = await previews.get(template)
    headers = {"ETag": preview.etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match and preview.etag in {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(preview.png, media_type="image/png", headers=headers)
