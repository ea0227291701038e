"""RFC 9457 problem responses: every error the API answers is translated here, and only here, and the
OpenAPI document describes them."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import errors
from media.templates import UnknownTemplate, VariableError
from projections.watcher import PositionBeyondHead, ProjectionBehind
from service.auth import Unauthorized
from service.errors import (
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    InvalidSetting,
    ModerationUnavailable,
    RechargesUnavailable,
    RejectedMessage,
    ReportRefused,
    ServiceError,
    SpendCapReached,
    TemplateRefused,
    TextRefused,
    TooBusy,
    TooManyReports,
    UploadNotFound,
    UploadQuotaExceeded,
    UploadRefused,
    WalletNotFound,
)
from service.failures import transient
from service.occurred import OccurredAtRefused

log = logging.getLogger(__name__)
TYPE_PREFIX = "urn:studio-ledger:problem:"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An answer that is an error: a status, a stable type slug, a title and a detail."""

    def __init__(self, status: int, slug: str, title: str, detail: str = "", *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def response(self, instance: str) -> JSONResponse:
        """The problem+json response."""
        body = {"type": TYPE_PREFIX + self.slug, "title": self.title, "status": self.status,
                "detail": self.detail or self.title, "instance": instance, **self.extra}
        # a detail may quote what the client sent, and JSON's \ud800 escape decodes to a lone surrogate that
        # UTF-8 cannot encode: shown as U+FFFD, the answer is still the problem rather than a 500
        body = {k: _encodable(v) if isinstance(v, str) else v for k, v in body.items()}
        return JSONResponse(body, status_code=self.status, headers=self.headers, media_type=MEDIA_TYPE)


class BodyTooLarge(Problem):
    """A request body over the limit of the route it was sent to."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "body-too-large", "Request body too large",
                         f"the body is larger than the {limit} bytes this route takes", limit=limit)


def _encodable(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


_LEDGER: list[tuple[type[errors.LedgerError], int, str]] = [  # most specific first
    (errors.HoldAlreadyResolved, 409, "Hold already resolved"),
    (errors.ConflictingCommand, 409, "Conflicting request"),
    (errors.InvalidTransition, 409, "Not possible in the current state"),
    (errors.GenerationNotFound, 404, "Not found"),
    (errors.UnknownReference, 404, "Not found"),
    (errors.HoldNotFound, 404, "Not found"),
    (errors.TemplateNotFound, 404, "Not found"),
    (errors.DailySpendCapReached, 402, "Daily spend cap reached"),
    (errors.ReportsFull, 409, "Already awaiting review"),
    (errors.SharingSuspended, 403, "Sharing suspended"),
    (errors.InvalidAmount, 422, "Invalid amount"),
    (errors.CaptureExceedsHold, 422, "Invalid amount"),
    (errors.InvalidUserId, 422, "Invalid user id"),
    (errors.InvalidCommand, 422, "Invalid request"),
]
_SERVICE: list[tuple[type[ServiceError], int, str]] = [
    (IdempotencyKeyReused, 409, "Idempotency-Key reused"),
    (WalletNotFound, 404, "Not found"),
    (UploadNotFound, 404, "Not found"),
    (RejectedMessage, 422, "Message refused"),
    (RechargesUnavailable, 503, "Recharges unavailable"),
]
_CODED: list[tuple[type[errors.LedgerError | ServiceError], int, str]] = [*_LEDGER, *_SERVICE]


def translate(error: Exception) -> Problem:
    """The problem an exception stands for; an unexpected one becomes a bare 500 without details."""
    if isinstance(error, Problem):
        return error
    if isinstance(error, errors.InsufficientCredits):
        return Problem(402, "insufficient-credits", "Not enough credits", str(error),
                       needed=error.needed, available=error.available)
    if isinstance(error, SpendCapReached):
        return Problem(402, error.code, "Daily spend cap reached", str(error), cap=error.cap, spent=error.spent,
                       needed=error.needed, resets_at=error.resets_at.isoformat())
    if isinstance(error, errors.FrozenWallet):
        return Problem(403, error.code, "Wallet frozen", str(error), reason=error.reason)
    if isinstance(error, InvalidSetting):
        return Problem(422, error.code, "Invalid setting", str(error), field=error.field)
    if isinstance(error, UnknownTemplate):
        return Problem(404, "unknown-template", "Unknown template", str(error), field="template_id")
    if isinstance(error, VariableError):
        return Problem(422, "invalid-variable", "Invalid template variable", str(error), field=error.field)
    if isinstance(error, Unauthorized):
        return Problem(401, "unauthorized", "Unauthorized", str(error),
                       headers={"WWW-Authenticate": 'Bearer realm="studio"'})
    if isinstance(error, ProjectionBehind):
        return Problem(503, "projection-behind", "Projection not caught up", str(error),
                       headers={"Retry-After": "1"}, min_position=error.position)
    if isinstance(error, PositionBeyondHead):
        return Problem(409, "position-not-reached", "Unknown ledger position", str(error))
    if isinstance(error, InvalidIdempotencyKey):
        return Problem(422, error.code, "Invalid Idempotency-Key", str(error), field="header.Idempotency-Key")
    if isinstance(error, TextRefused):  # the page says it in the learner's language from code and category
        return Problem(422, error.code, "Words not allowed", str(error), field=error.field, code=error.code,
                       category=error.category)
    if isinstance(error, ModerationUnavailable):
        return Problem(503, error.code, "Cannot check the words now", "your words could not be checked just "
                       "now and nothing was held: try again in a moment", headers={"Retry-After": "5"})
    if isinstance(error, TemplateRefused):
        return Problem(422, error.code, "Invalid template", str(error), field=error.field,
                       errors=[{"field": f, "message": m} for f, m in error.problems])
    if isinstance(error, UploadRefused):
        return Problem(422, error.code, "Invalid upload", str(error), field="file")
    if isinstance(error, OccurredAtRefused):
        return Problem(422, error.code, "Message refused", str(error), field=error.field)
    if isinstance(error, UploadQuotaExceeded):
        return Problem(429, error.code, "Too many uploads", str(error),
                       headers={"Retry-After": str(error.retry_after)}, quota=error.quota)
    if isinstance(error, ReportRefused):
        return Problem(422, error.code, "Invalid report", str(error), field=error.field)
    if isinstance(error, TooManyReports):
        return Problem(429, error.code, "Too many reports", str(error),
                       headers={"Retry-After": str(error.retry_after)}, limit=error.limit)
    if isinstance(error, TooBusy):
        return Problem(429, error.code, "Too many requests at once", str(error),
                       headers={"Retry-After": str(error.retry_after)}, limit=error.limit)
    for cls, status, title in _CODED:
        if isinstance(error, cls):
            return Problem(status, error.code, title, str(error))
    if _out_of_reach(error):
        return Problem(503, "temporarily-unavailable", "Temporarily unavailable",
                       "A database or the network could not be reached. Try again; a command repeated with its "
                       "Idempotency-Key is applied once.", headers={"Retry-After": "1"})
    return Problem(500, "internal-error", "Internal error", "The request failed on our side; it was logged.")


def _out_of_reach(error: Exception) -> bool:
    """A database or the network out of reach (a restart, no free connection): worth a retry, not a 500. A
    file missing or refused is an ``OSError`` too, but no retry would find it: that stays a 500."""
    return transient(error) and (not isinstance(error, OSError) or isinstance(error, ConnectionError | TimeoutError))


def _field_error(error: Any) -> dict[str, str]:
    """One validation error as ``{field, message}``; a body that is not JSON names the body, and says
    where it stops being JSON (its location is a character offset, not a field)."""
    if error["type"] == "json_invalid":
        at = error["loc"][1] if len(error["loc"]) > 1 else 0
        reason = (error.get("ctx") or {}).get("error", "not valid JSON")
        return {"field": "body", "message": f"the body is not valid JSON: {reason} at character {at}"}
    return {"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]}


def install(app: FastAPI) -> None:
    """Route every error the app can raise through ``translate``."""

    async def problem(request: Request, error: Exception) -> JSONResponse:
        found = translate(error)
        if found.status >= 500 and isinstance(error, Problem | ProjectionBehind):  # deliberate (503 while behind)
            log.warning("request %s %s answered %s: %s", request.method, request.url.path, found.status,
                        found.detail)
        elif found.status == 503:  # transient: one line naming what was out of reach, not a traceback
            log.warning("request %s %s answered 503: %s: %s", request.method, request.url.path,
                        type(error).__name__, str(error).splitlines()[0] if str(error) else "")
        elif found.status >= 500:
            log.error("request %s %s failed", request.method, request.url.path, exc_info=error)
        return found.response(request.url.path)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        fields = [_field_error(e) for e in error.errors()]
        named = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return Problem(422, "validation-error", "Invalid request", named,
                       errors=fields, field=fields[0]["field"] if fields else "").response(request.url.path)

    async def http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(error.status_code, "http-error")
        headers = dict(error.headers or {})
        return Problem(error.status_code, slug, str(error.detail), str(error.detail),
                       headers=headers).response(request.url.path)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, problem)
    for cls in (Problem, errors.LedgerError, ServiceError, UnknownTemplate, VariableError, ProjectionBehind,
                PositionBeyondHead, Unauthorized):
        app.add_exception_handler(cls, problem)


PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemPublic"}}}
_PROBLEM_REFS = ("#/components/schemas/ProblemPublic", "#/components/schemas/HTTPValidationError")


def describe_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Every error response as the API sends it: ``application/problem+json`` with ``ProblemPublic``
    (FastAPI documents its own 422 body, which the problem translator replaces)."""
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                refs = {media.get("schema", {}).get("$ref") for media in response.get("content", {}).values()}
                if refs & set(_PROBLEM_REFS):
                    response["content"] = PROBLEM
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec
