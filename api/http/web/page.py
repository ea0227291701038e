"""``GET /``: the Creative Studio page, rendered on the server, and ``/static/<hashed name>``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.http.problems import Problem
from api.http.web.assets import FOREVER, Assets
from api.http.web.headers import page_headers
from api.http.web.i18n import LANGUAGES, LOCALES, Translator, choose_language, load_catalogue
from media import text as learner_text
from media.templates import Template
from service.container import Service
from service.settings import demo_refused
from service.settings.media import MediaSettings

HERE = Path(__file__).parent
CATEGORIES = ("profile_photo", "poster", "social_post", "teaser")


@dataclass(frozen=True)
class Studio:
    """What the page needs, built once per app."""

    env: Environment
    assets: Assets
    messages: dict[str, dict[str, str]]
    headers: dict[str, str]
    embedded: bool
    checkout_url: str
    embed_origins: tuple[str, ...]


def image_origins(settings: MediaSettings) -> tuple[str, ...]:
    """Where gallery images come from when they are not served by this service."""
    if settings.image_store == "cloudinary":
        return ("https://res.cloudinary.com",)
    if settings.image_store == "s3":
        url = settings.s3_public_url or settings.s3_endpoint_url or ""
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            return (f"{parts.scheme}://{parts.netloc}",)
        return ("https://*.amazonaws.com",)
    return ()


def build_studio(service: Service) -> Studio:
    """Templates, assets, catalogue and headers; a bad catalogue or origin stops the start."""
    embed_origins = tuple(service.api.embed_origins)
    generation = service.media
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["characters"] = learner_text.length  # the counters count what a learner sees, as the API does
    return Studio(env=env, assets=Assets(HERE / "static"), messages=load_catalogue(),
                  headers=page_headers(embed_origins, image_origins(generation)),
                  embedded=demo_refused(service.store, service.api) is None, checkout_url=service.api.checkout_url,
                  embed_origins=embed_origins)


def by_category(templates: list[Template]) -> list[tuple[str, list[Template]]]:
    """Templates grouped in the page's order of categories (unknown categories last); in each, the featured
    ones first, then by their sort order, price and title."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    groups: dict[str, list[Template]] = {}
    for template in sorted(templates, key=lambda t: (order.get(t.category, len(order)), not t.featured, t.sort_order,
                                                     t.cost, t.title)):
        groups.setdefault(template.category, []).append(template)
    return list(groups.items())


def install(app: FastAPI, service: Service) -> None:
    """Serve the page at ``/`` and its files at ``/static/``."""
    studio = build_studio(service)
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        """The studio, in the learner's language."""
        lang = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
        t = Translator(studio.messages[lang])
        policy = service.policy
        config = {"lang": lang, "locale": LOCALES[lang], "embedded": studio.embedded,
                  "checkoutUrl": studio.checkout_url, "embedOrigins": list(studio.embed_origins),
                  "messages": studio.messages[lang],
                  "templates": {tpl.id: {"title": tpl.title_in(lang), "cost": tpl.cost, "photo": tpl.needs_input_image,
                                         "main": next((v.name for v in tpl.variables if v.type == "text"), None)}
                                for tpl in service.catalog.all()}}
        html = studio.env.get_template("studio.html").render(
            t=t, lang=lang, locale=LOCALES[lang], languages=LANGUAGES, assets=studio.assets,
            groups=by_category(service.catalog.all()), packs=policy.packs, redemption=policy.redemption,
            embedded=studio.embedded, checkout=bool(studio.checkout_url),
            title=lambda tpl: tpl.title_in(lang), description=lambda tpl: tpl.description_in(lang),
            config=as_json(config))
        headers = {**studio.headers, "Cache-Control": "no-cache", "Vary": "Accept-Language"}
        return HTMLResponse(html, headers=headers)

    @router.get("/static/{name}")
    def static(name: str, request: Request) -> Response:
        """A static file under its hashed name, cached for a year."""
        asset = studio.assets.get(name)
        if asset is None:
            raise Problem(404, "not-found", "Not found", f"there is no static file {name}")
        headers = {**studio.headers, "Cache-Control": FOREVER, "ETag": asset.etag}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    app.include_router(router)
    app.state.studio = studio


def as_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<`` escaped so no tag can close it."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")
