"""The public page of a shared image, with Open Graph tags so that it previews on social networks."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from api.http.deps import ServiceDep
from api.http.problems import Problem
from api.http.schemas import problems
from generation.templates import UnknownTemplate
from projections import queries

router = APIRouter(tags=["share"])
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:type" content="website">
<meta property="og:site_name" content="Creative Studio">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:image" content="{image}">
<meta property="og:url" content="{url}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{title}">
<meta name="twitter:image" content="{image}">
<style>body{{margin:0;background:#111;color:#eee;font-family:sans-serif;text-align:center}}
img{{max-width:100%;max-height:90vh;margin-top:2vh}}</style>
</head><body><img src="{image}" alt="{title}"><p>{description}</p></body></html>
"""


@router.get("/s/{token}", response_class=HTMLResponse, responses=problems(404))
def share_page(service: ServiceDep, token: str = Path(max_length=100)) -> HTMLResponse:
    """The public page of an image shared under ``token`` (no login)."""
    with service.reads.connect() as conn:
        row = queries.shared_image(conn, token)
    if row is None:
        raise Problem(404, "share-not-found", "Not found", "nothing is shared under this link")
    base = service.api.public_url.rstrip("/")
    image = row["image_url"] if "://" in row["image_url"] else base + row["image_url"]
    title = row["title"] or "Made in Creative Studio"
    try:
        template = service.catalog.get(row["template_id"]).title
    except UnknownTemplate:  # a template retired since the image was made
        template = row["template_id"]
    html = PAGE.format(title=escape(title), description=escape(f"{template}, made in Creative Studio"),
                       image=escape(image), url=escape(f"{base}/s/{token}"))
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=300"})
