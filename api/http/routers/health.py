"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.http.deps import ServiceDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down or the projections lag"}})
def readyz(service: ServiceDep) -> JSONResponse:
    """Ready to serve: the event store and read database answer, projections keep up, broker reachable.
    On PostgreSQL, ``roles`` says which of the projector, pipeline and sweeper work in this replica.
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
