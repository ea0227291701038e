"""The public page of a shared image, with Open Graph tags so that it previews on social networks.

A shared image is public through its share token only: the page and ``/s/<token>/image`` answer while
the image is shared, and 404 once it is unshared, as of the ledger's head when the request came.
"""

from __future__ import annotations

from functools import cache
from html import escape

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.http.deps import ServiceDep
from api.http.problems import Problem
from api.http.reads import read
from api.http.routers.media import SERVED, SHARE_TTL, signed
from api.http.schemas import problems
from api.http.web.i18n import load_catalogue
from generation.templates import UnknownTemplate
from projections import queries
from projections.watcher import ProjectionBehind
from service.container import Service

router = APIRouter(tags=["share"])
STYLE = """<style>body{{margin:0;background:#111;color:#eee;font-family:sans-serif;text-align:center}}
img{{max-width:100%;max-height:90vh;margin-top:2vh}}a{{color:#fbbf24}}.ai{{font-size:.8rem;color:#bbb}}</style>"""
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
""" + STYLE + """
</head><body><img src="{image}" alt="{title}"><p>{description}</p>
<p class="ai"><span lang="en">{made_en}</span><br><span lang="hi">{made_hi}</span></p></body></html>
"""
MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>This image is not shared</title>
""" + STYLE + """
</head><body><h1>This image is not shared</h1>
<p>The link is wrong, or its owner has made the image private again.</p>
<p><a href="{home}">Open Creative Studio</a></p></body></html>
"""
BEHIND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>This image is almost ready</title>
""" + STYLE + """
</head><body><h1>This image is almost ready</h1>
<p>The link was made a moment ago: reload the page in a few seconds.</p></body></html>
"""
Token = Path(max_length=100)


@cache
def made_with_ai() -> dict[str, str]:
    """The page's note that the image is AI-made, in English and Hindi (read once, from the studio's catalogue)."""
    catalogue = load_catalogue()
    return {"made_en": escape(catalogue["en"]["made_with_ai"]), "made_hi": escape(catalogue["hi"]["made_with_ai"])}


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "json" not in accept or "text/html" in accept


async def _shared(service: Service, token: str, request: Request) -> dict[str, str]:
    # Read at the ledger's head, not before: a link is used the moment it is handed out (a network fetches its
    # preview at once and caches a 404 for days), and a link whose owner just stopped sharing stops working.
    try:
        await service.settle()
        behind = None
    except ProjectionBehind as error:  # still what the projections say, but not "not found"
        behind = error
    row = await anyio.to_thread.run_sync(read, service, lambda conn: queries.shared_image(conn, token))
    if row is not None and row["image_url"]:
        return dict(row)
    if behind is not None:
        if _wants_html(request):
            raise _Page(HTMLResponse(BEHIND, status_code=503,
                                     headers={"Retry-After": "1", "Cache-Control": "no-store"}))
        raise behind
    if _wants_html(request):
        html = MISSING.format(home=escape(service.api.public_url.rstrip("/") + "/"))
        raise _Page(HTMLResponse(html, status_code=404, headers={"Cache-Control": "no-store"}))
    raise Problem(404, "share-not-found", "Not found", "nothing is shared under this link")


class _Page(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@router.get("/s/{token}", response_class=HTMLResponse, responses=problems(404, 503))
async def share_page(request: Request, service: ServiceDep, token: str = Token) -> Response:
    """The public page of an image shared under ``token`` (no login); an HTML 404 page once unshared."""
    try:
        row = await _shared(service, token, request)
    except _Page as page:
        return page.response
    base = service.api.public_url.rstrip("/")
    title = row["title"] or "Made in Creative Studio"
    template = row["template_title"]  # the words of the version that made the image
    if not template:  # an image projected before versions had words: today's title, if any
        try:
            template = service.catalog.get(row["template_id"]).title
        except UnknownTemplate:  # a template retired since the image was made
            template = row["template_id"]
    html = PAGE.format(title=escape(title), description=escape(f"{template}, made in Creative Studio"),
                       image=escape(f"{base}/s/{token}/image"), url=escape(f"{base}/s/{token}"), **made_with_ai())
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=60"})


@router.get("/s/{token}/image", responses={200: {"content": {"image/png": {}}}, 302: {}, **problems(404, 503)})
async def shared_image(request: Request, service: ServiceDep, token: str = Token) -> Response:
    """The shared image itself (for the page and Open Graph previews), while it is shared."""
    try:
        row = await _shared(service, token, request)
    except _Page as page:
        return page.response
    url = row["image_url"]
    local = url.removeprefix("/media/")
    if service.media.image_store == "local" and url.startswith("/media/") and SERVED.match(local):
        file = service.media.data_dir / "media" / local
        if await anyio.to_thread.run_sync(file.is_file):
            return FileResponse(file, headers={"Cache-Control": "public, max-age=60",
                                               "X-Content-Type-Options": "nosniff"})
        raise Problem(404, "share-not-found", "Not found", "the shared image is missing from the store")
    return RedirectResponse(signed(service, url, SHARE_TTL) or url, status_code=302,
                            headers={"Cache-Control": "no-store"})
