"""``GET /admin``: the operators' console (templates; reported images for the moderation role; reconciliation for
finance), server-rendered like the studio, with its headers, its files and its catalogue of strings; it signs in
with a bearer token the same way and calls ``/v1/admin/templates``, ``/v1/admin/reports`` and
``/v1/admin/reconciliations``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from api.http.web.i18n import LANGUAGES, LOCALES, Translator, choose_language
from api.http.web.page import Studio, as_json
from service.reports import ReportCategory

CATEGORIES = ["profile_photo", "poster", "social_post", "teaser"]
ASPECT_RATIOS = ["1:1", "4:5", "9:16", "16:9", "2:3", "3:4"]
SLOT_LANGUAGES = ["hi", "mr", "ta", "te"]  # the languages a layout slot has words in (media.layout.Slot)
PROVIDERS = ["local", "replicate", "openai", "stability", "cog", "huggingface"]
# The plain fields, each with its input (a kind: an input type, "textarea", or the choices of a select); the
# model, listing, palette, variables and translations have controls of their own, the layout a JSON box.
FIELDS: list[tuple[str, str | list[str]]] = [
    ("id", "text"), ("title", "text"), ("description", "textarea"), ("category", CATEGORIES), ("cost", "number"),
    ("aspect_ratio", ASPECT_RATIOS), ("prompt", "textarea"), ("negative_prompt", "textarea"), ("caption", "text")]


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/admin`` (after ``page.install``: it shares the studio's files and headers)."""
    studio: Studio = app.state.studio
    router = APIRouter(include_in_schema=False)

    @router.get("/admin", response_class=HTMLResponse)
    def console(request: Request) -> HTMLResponse:
        """The templates console, in the operator's language."""
        lang = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
        config = {"lang": lang, "locale": LOCALES[lang], "messages": studio.messages[lang],
                  "fields": [name for name, _ in FIELDS],
                  "providers": PROVIDERS, "languages": SLOT_LANGUAGES,
                  "packs": [p.model_dump(include={"id", "title", "price_minor", "currency"})
                            for p in app.state.service.policy.packs]}
        html = studio.env.get_template("admin.html").render(
            t=Translator(studio.messages[lang]), lang=lang, languages=LANGUAGES, assets=studio.assets,
            fields=FIELDS, providers=PROVIDERS, report_categories=[c.value for c in ReportCategory],
            config=as_json(config))
        headers = {**studio.headers, "Cache-Control": "no-cache", "Vary": "Accept-Language"}
        return HTMLResponse(html, headers=headers)

    app.include_router(router)
