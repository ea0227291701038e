"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import anyio
import anyio.to_thread
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.http.deps import ServiceDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "The process can no longer serve: restart it"}})
async def healthz(service: ServiceDep) -> JSONResponse:
    """Alive: a worker thread of the routes' pool runs a trivial function within the bound (every route
    that touches a store needs one), and every background part this process runs still runs (nothing in
    the process would start a stopped one again). No dependency is checked: that is readiness."""
    checks = {"worker_threads": await worker_answers(service.api.liveness_timeout_s), **service.parts()}
    alive = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if alive else "failing", "checks": checks}, status_code=200 if alive else 503)


async def worker_answers(bound: float) -> str:
    """"ok" if the routes' thread pool runs a trivial function within ``bound`` seconds."""
    try:
        with anyio.fail_after(bound):
            await anyio.to_thread.run_sync(_nothing)
    except TimeoutError:
        return f"no worker thread answered within {bound:g} s: every one is busy or stuck"
    return "ok"


def _nothing() -> None:
    return None


@router.get("/readyz", responses={503: {"description": "A dependency is down or the projections lag"}})
def readyz(service: ServiceDep) -> JSONResponse:
    """Ready to serve: the event store and read database answer, projections keep up, broker reachable, and
    every background part this process runs (projector, pipeline, sweeper, upload purger) still runs. On
    PostgreSQL, ``roles`` says which of the projector, pipeline and sweeper work in this replica.
    ``projection_failures`` lists events a projection set aside because it cannot apply them: reported
    here, but no reason to take the replica out of service (every other read keeps following)."""
    checks = service.readiness()
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if set_aside := service.set_aside():
        body["projection_failures"] = set_aside
    if roles := service.leading():
        body["roles"] = roles
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: commands, request latency, generations by status, held credits, lags."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
