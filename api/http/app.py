"""The FastAPI application: routers, problem responses, request metrics; images only to signed URLs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import deps, docs, problems
from api.http.edge import Edge
from api.http.previews import Previews
from api.http.routers import (
    admin,
    catalog,
    config,
    dev,
    finance_revenue,
    generations,
    health,
    margins_admin,
    media,
    previews,
    privacy,
    recharges,
    reconciliations_admin,
    reports_admin,
    share_page,
    templates_admin,
    uploads,
    wallet,
    webhooks,
)
from api.http.web import page
from api.http.web.console import install_console
from service import tracing
from service.container import Service
from service.metrics import Metrics
from service.settlement_files import MAX_FILE_BYTES

# A report is a category, a few hundred characters (Devanagari is 3 bytes each in UTF-8, 9 once form-encoded)
# and the form's key: anything larger is not a report.
REPORT_BODY_BYTES = 8 * 1024
DESCRIPTION = """Creative Studio's credits and image generation.

* Authenticate with `Authorization: Bearer <JWT>` (`sub` is the user id; role `admin` for `/v1/admin`).
* Every POST that changes state needs an `Idempotency-Key`: the same key and body return the first answer,
  another body is a 409.
* Commands return the ledger `position`; pass it as `min_position` to a read to see your own write. If the
  projections do not reach it within the wait bound the read answers **503** with `Retry-After`. A read that
  finds nothing (a share link, a generation, a wallet) says so only once the projections reached the ledger's
  head, so an id or link used before the projector applied its command is found, without a position.
* Errors are RFC 9457 `application/problem+json` with a stable `type` URI (`urn:studio-ledger:problem:<slug>`).
"""

CORS_METHODS = ["GET", "POST", "DELETE"]
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"]
CORS_EXPOSED = ["ETag", "Retry-After", "Location"]


def create_app(service: Service, *, manage: bool = True) -> FastAPI:
    """The API over ``service``; with ``manage`` the app starts and stops the service with its lifespan."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Fewer worker threads than anyio's 40: past a few, threads only queue for the GIL and the
        # event loop (and with it every request, /healthz included) waits behind them.
        anyio.to_thread.current_default_thread_limiter().total_tokens = service.api.threads
        if manage:
            await anyio.to_thread.run_sync(service.start)
        try:
            yield
        finally:
            if manage:
                await anyio.to_thread.run_sync(service.stop)

    app = FastAPI(title="Studio Ledger", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=operation_id, docs_url=None, redoc_url=None)
    app.state.service = service
    app.state.previews = Previews()
    problems.install(app)
    docs.install(app)
    routers = [m.router for m in (catalog, previews, wallet, recharges, generations, uploads, privacy, share_page,
                                  media, webhooks, admin, templates_admin, reports_admin, finance_revenue,
                                  margins_admin, reconciliations_admin, config, dev, health)]
    for router in routers:
        app.include_router(router)
    page.install(app, service)
    install_console(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            document.setdefault("components", {}).setdefault("schemas", {}).update(webhooks.MESSAGE_SCHEMAS)
            app.openapi_schema = problems.describe_problems(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # Inside CORS, so a refused cross-origin request still carries the headers that let the page read why.
    app.add_middleware(Edge, routes=[r for router in routers for r in router.routes], limit=service.api.max_body_bytes,
                       larger={"/v1/uploads": service.media.upload_max_bytes + service.api.max_body_bytes,
                               "/s/{token}/report": REPORT_BODY_BYTES,
                               "/v1/admin/reconciliations": MAX_FILE_BYTES + service.api.max_body_bytes},
                       needs_caller=deps.needs_caller,
                       authenticate=lambda header: deps.authenticate(service, deps.bearer_token(header)))
    if service.api.embed_origins:  # the platform's own pages may call the API from the browser
        app.add_middleware(CORSMiddleware, allow_origins=service.api.embed_origins, allow_methods=CORS_METHODS,
                           allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSED, max_age=600)
    app.add_middleware(Observe, metrics=service.metrics)
    if (traced := tracing.provider()) is not None:  # only when tracing is on: none of its cost otherwise
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, tracer_provider=traced, excluded_urls="healthz,readyz,metrics")
    return app


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI operation id: its function's name (`list_templates`), which clients turn into a method name."""
    return route.name


class Observe:
    """Request latency by method, route and status, as plain ASGI (no per-request task or stream)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(scope["method"], path, str(status)).observe(time.perf_counter() - started)
