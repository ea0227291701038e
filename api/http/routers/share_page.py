"""The public page of a shared image, with Open Graph tags so that it previews on social networks.

A shared image is public through its share token only: the page and ``/s/<token>/image`` answer while
the image is shared, and 404 once it is unshared.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.http.deps import ServiceDep
from api.http.problems import Problem
from api.http.routers.media import SERVED, SHARE_TTL, signed
from api.http.schemas import problems
from generation.templates import UnknownTemplate
from projections import queries
from service.container import Service

router = APIRouter(tags=["share"])
STYLE = """<style>body{{margin:0;background:#111;color:#eee;font-family:sans-serif;text-align:center}}
img{{max-width:100%;max-height:90vh;margin-top:2vh}}a{{color:#fbbf24}}</style>"""
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
</head><body><img src="{image}" alt="{title}"><p>{description}</p></body></html>
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
Token = Path(max_length=100)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "json" not in accept or "text/html" in accept


def _shared(service: Service, token: str, request: Request) -> dict[str, str]:
    with service.reads.connect() as conn:
        row = queries.shared_image(conn, token)
    if row is None or not row["image_url"]:
        if _wants_html(request):
            html = MISSING.format(home=escape(service.api.public_url.rstrip("/") + "/"))
            raise _Page(HTMLResponse(html, status_code=404, headers={"Cache-Control": "no-store"}))
        raise Problem(404, "share-not-found", "Not found", "nothing is shared under this link")
    return dict(row)


class _Page(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@router.get("/s/{token}", response_class=HTMLResponse, responses=problems(404))
def share_page(request: Request, service: ServiceDep, token: str = Token) -> Response:
    """The public page of an image shared under ``token`` (no login); an HTML 404 page once unshared."""
    try:
        row = _shared(service, token, request)
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
                       image=escape(f"{base}/s/{token}/image"), url=escape(f"{base}/s/{token}"))
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=60"})


@router.get("/s/{token}/image", responses={200: {"content": {"image/png": {}}}, 302: {}, **problems(404)})
def shared_image(request: Request, service: ServiceDep, token: str = Token) -> Response:
    """The shared image itself (for the page and Open Graph previews), while it is shared."""
    try:
        row = _shared(service, token, request)
    except _Page as page:
        return page.response
    url = row["image_url"]
    local = url.removeprefix("/media/")
    if service.media.image_store == "local" and url.startswith("/media/") and SERVED.match(local):
        file = service.media.data_dir / "media" / local
        if file.is_file():
            return FileResponse(file, headers={"Cache-Control": "public, max-age=60",
                                               "X-Content-Type-Options": "nosniff"})
        raise Problem(404, "share-not-found", "Not found", "the shared image is missing from the store")
    return RedirectResponse(signed(service, url, SHARE_TTL) or url, status_code=302,
                            headers={"Cache-Control": "no-store"})
