"""The payment flow's webhook: the same messages as `payments.events`, signed, applied once."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.http.deps import CommandsDep, IdempotencyKey, ServiceDep
from api.http.problems import Problem
from api.http.schemas import WebhookAccepted, problems
from api.http.signatures import HEADER, Signed, check_signature, parse_header
from service.commands import PAYMENT_WEBHOOK, Answer, Commands
from service.container import Service
from service.messages import PAYMENT_MESSAGES
from service.payments import apply_payment

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
EXAMPLE = {"type": "CreditPackPurchased", "version": 1, "payment_id": "pay_123", "user_id": "alice",
           "pack_id": "starter", "amount_minor": 900, "currency": "INR"}
_SCHEMA = PAYMENT_MESSAGES.json_schema(ref_template="#/components/schemas/{model}")
MESSAGE_SCHEMAS: dict[str, Any] = _SCHEMA.pop("$defs", {})  # added to the OpenAPI components by the app
BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _SCHEMA, "example": EXAMPLE}}},
    "parameters": [{"name": HEADER, "in": "header", "required": True, "schema": {"type": "string"},
                    "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>"}]}


@router.post("/payments", response_model=WebhookAccepted, responses=problems(401, 404, 409, 422),
             openapi_extra=BODY, operation_id="receive_payment_webhook")
async def payments(request: Request, key: IdempotencyKey, service: ServiceDep, commands: CommandsDep) -> JSONResponse:
    """A purchase, redemption or refund from the payment flow, signed with the webhook secret."""
    # The header is checked before the body is read: an unsigned or stale request costs no body.
    signed = parse_header(request.headers.get(HEADER), now=time.time(), tolerance=service.api.webhook_tolerance_seconds)
    status, payload = await deliver(service, commands, await request.body(), signed, key)
    return JSONResponse(payload, status_code=status)


async def deliver(service: Service, commands: Commands, body: bytes, signed: Signed, key: str) -> Answer:
    """Check a payment message's signature, validate it and apply it once under ``key``: the webhook's
    whole path, also taken by the embedded default's demo purchase."""
    check_signature(service.api.webhook_secret.get_secret_value(), body, signed)
    try:
        message = PAYMENT_MESSAGES.validate_json(body)
    except ValidationError as error:
        fields = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                  for e in error.errors()]
        raise Problem(422, "invalid-message", "Invalid payment message", f"invalid: {fields[0]['field']}",
                      errors=fields, field=fields[0]["field"]) from None

    def answer() -> Answer:
        outcome = commands.run(message.type, lambda: apply_payment(
            service.ledger, service.policy, message, at=service.clock(),
            bounds=service.api.occurred_bounds()))
        return 200, WebhookAccepted(type=message.type, position=outcome.position, repeated=outcome.repeated
                                    ).model_dump(mode="json")

    request_doc = {"route": "POST /v1/webhooks/payments", "body": json.loads(body)}
    return await anyio.to_thread.run_sync(commands.once, PAYMENT_WEBHOOK, key, request_doc, answer)
