"""The public page of a shared image, with Open Graph tags so that it previews on social networks.

A shared image is public through its share token only: the page, ``/s/<token>/image`` and its Open Graph
preview ``/s/<token>/preview.jpg`` answer while the image is shared, and 404 once it is unshared, as of the
ledger's head when the request came.
"""

from __future__ import annotations

import logging
from functools import cache
from html import escape
from uuid import UUID

import anyio.to_thread
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from api.http.deps import ServiceDep
from api.http.problems import Problem, translate
from api.http.reads import read
from api.http.routers.media import SERVED, SHARE_TTL, signed
from api.http.schemas import problems
from api.http.web.i18n import load_catalogue
from api.http.web.report_form import CSS, form_key, key_is_good, report_form
from ledger.errors import ReportsFull
from media.errors import ImageMissing, StorageError
from media.image_stores.local import LocalStore
from media.ports import OPEN_GRAPH
from media.templates import UnknownTemplate
from projections import queries
from projections.watcher import ProjectionBehind
from service import reports
from service.container import Service
from service.errors import ReportRefused, TooManyReports
from service.reports import MAX_TEXT

router = APIRouter(tags=["share"])
log = logging.getLogger(__name__)
STYLE = """<style>body{{margin:0;background:#111;color:#eee;font-family:sans-serif;text-align:center}}
img{{max-width:100%;max-height:90vh;margin-top:2vh}}a{{color:#fbbf24}}.ai{{font-size:.8rem;color:#bbb}}
""" + CSS + "</style>"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta property="og:type" content="website">
<meta property="og:site_name" content="Creative Studio">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:image" content="{preview}">{preview_size}
<meta property="og:url" content="{url}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{title}">
<meta name="twitter:image" content="{preview}">
""" + STYLE + """
</head><body><img src="{image}" alt="{title}"><p>{description}</p>
<p class="ai"><span lang="en">{made_en}</span><br><span lang="hi">{made_hi}</span></p>
{report}</body></html>
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
PREVIEW_SIZE = f"""
<meta property="og:image:width" content="{OPEN_GRAPH[0]}">
<meta property="og:image:height" content="{OPEN_GRAPH[1]}">"""
Token = Path(max_length=100)
SERVED_HEADERS = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}
TOO_MANY = "You have sent as many reports as we take from one connection in an hour. Please try again later."
ALREADY_QUEUED = "This image has already been reported by many people and is waiting for our team."


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
async def share_page(request: Request, service: ServiceDep, token: str = Token,
                     reported: bool = Query(default=False, description="the page after a report was sent")) -> Response:
    """The public page of an image shared under ``token`` (no login), with its "Report this image" form; an HTML
    404 page once unshared or taken down."""
    try:
        row = await _shared(service, token, request)
    except _Page as page:
        return page.response
    html = _page(service, row, token, report_form(token=token, key=_key(service, token), sent=reported))
    return HTMLResponse(html, headers={"Cache-Control": "no-store" if reported else "public, max-age=60"})


def _key(service: Service, token: str) -> str:
    return form_key(_secret(service), token, service.clock().timestamp())


def _secret(service: Service) -> bytes:
    return service.api.jwt_secret.get_secret_value().encode()


def _page(service: Service, row: dict[str, str], token: str, report: str) -> str:
    base = service.api.public_url.rstrip("/")
    title = row["title"] or "Made in Creative Studio"
    template = row["template_title"]  # the words of the version that made the image
    if not template:  # an image projected before versions had words: today's title, if any
        try:
            template = service.catalog.get(row["template_id"]).title
        except UnknownTemplate:  # a template retired since the image was made
            template = row["template_id"]
    image = escape(f"{base}/s/{token}/image")
    previewed = _previewing_store(service, row["image_url"]) is not None
    return PAGE.format(title=escape(title), description=escape(f"{template}, made in Creative Studio"),
                       image=image, url=escape(f"{base}/s/{token}"), report=report,
                       preview=escape(f"{base}/s/{token}/preview.jpg") if previewed else image,
                       preview_size=PREVIEW_SIZE if previewed else "", **made_with_ai())


@router.post("/s/{token}/report", status_code=202, response_class=HTMLResponse,
             responses={202: {"content": {"application/json": {}}}, 303: {}, **problems(403, 404, 409, 422, 429)})
async def report_image(request: Request, service: ServiceDep, token: str = Token,
                       category: str = Form(default="", max_length=100, description="one of the report categories"),
                       text: str = Form(default="", max_length=MAX_TEXT * 4, description="what is wrong (optional)"),
                       form_key: str = Form(default="", max_length=100, description="the key the share page gave")
                       ) -> Response:
    """Report the image shared under ``token`` (no sign-in): the share page's form. A report from another site's
    page, or with the key of a page older than two hours, is a 403; one address sends a few an hour (429)."""
    html = _wants_html(request)
    try:
        _same_site(service, request)
        row = await _shared(service, token, request)
        if not key_is_good(_secret(service), token, service.clock().timestamp(), form_key):
            raise ReportRefused("form_key", "this page is too old to report from: reload it and report again")
        kind = reports.category_of(category)
        words = reports.clean_text(text, field="text", limit=reports.MAX_TEXT)
        address = request.client.host if request.client else ""
        service.limits.reports.take(address)
        reporter = reports.reporter_of(address, secret=_secret(service))
        reported = await service.limits.commands.run(lambda: reports.report_image(
            service.ledger, generation_id=UUID(str(row["generation_id"])), category=kind, text=words,
            reporter=reporter, at=service.clock(), max_open=service.api.reports_per_image))
    except _Page as page:
        return page.response
    except ReportRefused as refused:
        status = 403 if refused.field == "form_key" else 422
        if not html:
            if status == 403:
                raise Problem(403, "report-form-expired", "Forbidden", str(refused), field="form_key") from None
            raise
        form = report_form(token=token, key=_key(service, token), errors={refused.field: refused.message},
                           category=category, text=text)
        return HTMLResponse(_page(service, row, token, form), status_code=status,
                            headers={"Cache-Control": "no-store"})
    except (TooManyReports, ReportsFull) as error:
        if not html:
            raise
        problem = translate(error)  # the same status and headers as the API's answer, the page's own words
        said = (TOO_MANY if isinstance(error, TooManyReports) else ALREADY_QUEUED)
        form = report_form(token=token, key=_key(service, token), errors={"form": said}, category=category,
                           text=text)
        return HTMLResponse(_page(service, row, token, form), status_code=problem.status,
                            headers={**problem.headers, "Cache-Control": "no-store"})
    if html:
        return RedirectResponse(f"/s/{token}?reported=true", status_code=303, headers={"Cache-Control": "no-store"})
    # the position: the moderation queue read with ``min_position`` shows this report (read your writes)
    return JSONResponse({"received": True, "position": reported.position}, status_code=202)


def _same_site(service: Service, request: Request) -> None:
    """Refuse a report a browser sent from another site's page (a forged form): 403."""
    site = request.headers.get("sec-fetch-site", "")
    origin = request.headers.get("origin", "")
    ours = {service.api.public_url.rstrip("/"), f"{request.url.scheme}://{request.url.netloc}"}
    if site == "cross-site" or (origin and origin != "null" and origin not in ours):
        raise Problem(403, "cross-site-report", "Forbidden", "a report can only be sent from the image's own page")


@router.get("/s/{token}/image", responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 302: {},
                                           **problems(404, 503)})
async def shared_image(request: Request, service: ServiceDep, token: str = Token) -> Response:
    """The shared image itself (for the page and Open Graph previews), while it is shared."""
    try:
        row = await _shared(service, token, request)
    except _Page as page:
        return page.response
    return await _full_image(service, row["image_url"])


@router.get("/s/{token}/preview.jpg", responses={200: {"content": {"image/jpeg": {}}}, 302: {}, **problems(404, 503)})
async def shared_preview(request: Request, service: ServiceDep, token: str = Token) -> Response:
    """The shared image's 1200x630 Open Graph preview (the whole image on a blurred copy of itself), made on its
    first request and kept beside the image by the local store; where the store is not local (S3, Cloudinary)
    the same redirect to the full image as ``/s/{token}/image``. Refused as that route refuses."""
    try:
        row = await _shared(service, token, request)
    except _Page as page:
        return page.response
    store = _previewing_store(service, row["image_url"])
    if store is None:
        return await _full_image(service, row["image_url"])
    try:
        preview = await store.share_preview(row["image_url"])
    except ImageMissing:
        raise Problem(404, "share-not-found", "Not found", "the shared image is missing from the store") from None
    except StorageError as error:  # the store's words name its folder: logged, not shown
        log.warning("share preview of %s not made: %s", row["generation_id"], error)
        raise Problem(503, "share-preview-unavailable", "Service Unavailable",
                      "the shared image cannot be read from the store to make its preview",
                      headers={"Cache-Control": "no-store"}) from None
    return FileResponse(preview, media_type="image/jpeg", headers=SERVED_HEADERS)


def _local_file(service: Service, url: str) -> str | None:
    """The image's path under the local store's folder when the local store serves it, else None."""
    local = url.removeprefix("/media/")
    served = service.media.image_store == "local" and url.startswith("/media/") and SERVED.fullmatch(local)
    return local if served else None


def _previewing_store(service: Service, url: str) -> LocalStore | None:
    """The local store that makes the image's share preview, or None where the full image is its preview."""
    images = service.images
    return images if isinstance(images, LocalStore) and _local_file(service, url) is not None else None


async def _full_image(service: Service, url: str) -> Response:
    local = _local_file(service, url)
    if local is not None:
        file = service.media.data_dir / "media" / local
        if await anyio.to_thread.run_sync(file.is_file):
            return FileResponse(file, headers=SERVED_HEADERS)
        raise Problem(404, "share-not-found", "Not found", "the shared image is missing from the store")
    return RedirectResponse(signed(service, url, SHARE_TTL) or url, status_code=302,
                            headers={"Cache-Control": "no-store"})
