"""What the studio page needs from the service on the embedded default: demo sign-in and demo purchase,
and the templates' preview images (any mode).

The demo purchase is the platform's payment flow in miniature: it signs a ``CreditPackPurchased``
message with the webhook secret and sends it through ``POST /v1/webhooks/payments`` in this process,
so the credits arrive by the same signed, idempotent path as real payments.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio.to_thread
import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.http.auth import issue_token
from api.http.deps import CurrentUser, IdempotencyKey, ServiceDep
from api.http.problems import Problem
from api.http.schemas import problems
from api.http.signatures import HEADER, sign
from api.service import Service, is_embedded
from generation.models.local import draw
from generation.ports import ImageRequest
from generation.templates import Template

router = APIRouter(prefix="/v1", tags=["studio"])
UserId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]


class DevTokenCreate(BaseModel):
    """Who to sign in as (embedded default only)."""

    model_config = ConfigDict(extra="forbid")
    user_id: UserId


class DevToken(BaseModel):
    """A bearer token for the studio page."""

    token: str
    expires_at: datetime


class DevPurchaseCreate(BaseModel):
    """Which pack to buy with the demo payment."""

    model_config = ConfigDict(extra="forbid")
    pack_id: str = Field(min_length=1, max_length=64)


def _embedded_only(service: Service) -> None:
    if not is_embedded(service.store, service.api):
        raise Problem(404, "not-found", "Not found", "this route exists only on the embedded default")


@router.post("/dev/token", response_model=DevToken, responses=problems(404, 422))
def dev_token(body: DevTokenCreate, _key: IdempotencyKey, service: ServiceDep) -> DevToken:
    """A token for any user, like `studio-ledger token` (embedded default only; 404 elsewhere)."""
    _embedded_only(service)
    ttl = timedelta(minutes=service.api.token_ttl_minutes)
    now = datetime.now(UTC)
    token = issue_token(service.api.jwt_secret.get_secret_value(), body.user_id, issuer=service.api.jwt_issuer,
                        audience=service.api.jwt_audience, ttl=ttl, now=now)
    return DevToken(token=token, expires_at=now + ttl)


@router.post("/dev/purchase", responses=problems(401, 404, 422))
async def dev_purchase(body: DevPurchaseCreate, user: CurrentUser, key: IdempotencyKey, service: ServiceDep,
                       request: Request) -> JSONResponse:
    """Buy a pack with a demo payment sent through the signed payments webhook (embedded default only)."""
    _embedded_only(service)
    pack = service.policy.pack(body.pack_id)
    if pack is None:
        raise Problem(422, "unknown-pack", "Unknown pack", f"there is no pack {body.pack_id!r}", field="pack_id")
    message = {"type": "CreditPackPurchased", "version": 1, "payment_id": f"demo:{user.user_id}:{key}",
               "user_id": user.user_id, "pack_id": pack.id, "amount_minor": pack.price_minor,
               "currency": pack.currency}
    raw = json.dumps(message).encode()
    headers = {HEADER: sign(service.api.webhook_secret.get_secret_value(), raw, int(time.time())),
               "Content-Type": "application/json", "Idempotency-Key": f"demo:{user.user_id}:{key}"}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio.internal") as client:
        answer = await client.post("/v1/webhooks/payments", content=raw, headers=headers)
    return JSONResponse(answer.json(), status_code=answer.status_code, media_type=answer.headers["content-type"])


def sample_variables(template: Template) -> dict[str, str]:
    """Sample values for a preview: each variable's default, else its label."""
    values = {}
    for variable in template.variables:
        if variable.type == "choice":
            values[variable.name] = variable.default or variable.choices[0]
        elif variable.type == "color":
            values[variable.name] = variable.default or template.palette[0]
        else:
            values[variable.name] = variable.default or (variable.label or variable.name.replace("_", " ").title())
    return values


_previews: dict[tuple[str, int], bytes] = {}


def _preview(template: Template) -> bytes:
    known = _previews.get((template.id, template.version))
    if known is not None:
        return known
    caption = template.render_caption(sample_variables(template))
    request = ImageRequest(generation_id=f"preview-{template.id}", prompt=template.render(sample_variables(template)),
                           model=template.model, aspect_ratio="1:1", seed=template.version,
                           caption=caption, palette=tuple(template.palette))
    png = _previews[(template.id, template.version)] = draw(request, scale=0.3125)
    return png


@router.get("/templates/{template_id}/preview.png", response_class=Response, responses=problems(404))
async def template_preview(template_id: str, service: ServiceDep) -> Response:
    """A small example image of a template, drawn with sample text (cached)."""
    template = service.catalog.get(template_id)
    png = await anyio.to_thread.run_sync(_preview, template)
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{template.id}-{template.version}"'})
