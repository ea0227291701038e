"""Dependencies of the routes: the service, the caller, the idempotency key, the command runner and list
parameters."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.auth import Principal, unauthorized
from api.http.problems import Problem
from service.commands import Commands
from service.container import Service
from service.idempotency import check_key

_bearer = HTTPBearer(auto_error=False, description="A JWT: `sub` is the user id, role `admin` for admin routes")


async def get_service(request: Request) -> Service:
    """The service this app was built with."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


# The dependencies every request of the hot routes solves take the ``Request`` itself rather than ``ServiceDep``:
# FastAPI hands a route its request for nothing, where each nested dependency costs a cache look-up per request.


async def get_principal(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller named by the bearer token; 401 without a valid one."""
    service: Service = request.app.state.service
    if credentials is None or credentials.scheme.lower() != "bearer":
        return await authenticate(service, None)
    return await authenticate(service, credentials.credentials)


async def authenticate(service: Service, token: str | None) -> Principal:
    """The caller a bearer token names; a 401 without one or with one that is not valid."""
    if not token:
        raise unauthorized("an Authorization: Bearer <token> header is required")
    if service.verifier.jwks is not None:  # the key may have to be fetched: not on the event loop
        return await anyio.to_thread.run_sync(service.verifier.verify, token)
    return service.verifier.verify(token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, as the routes' own check reads it."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def needs_caller(dependant: Dependant) -> bool:
    """Whether a route (or any dependency it has) asks for the caller."""
    return dependant.call is get_principal or any(needs_caller(d) for d in dependant.dependencies)


CurrentUser = Annotated[Principal, Depends(get_principal)]


async def get_admin(principal: CurrentUser) -> Principal:
    """The caller, if they have the admin role; 403 otherwise."""
    if not principal.is_admin:
        raise Problem(403, "forbidden", "Forbidden", "this route needs the admin role")
    return principal


AdminUser = Annotated[Principal, Depends(get_admin)]


async def get_moderator(principal: CurrentUser) -> Principal:
    """The caller, if they have the moderation (or admin) role; 403 otherwise."""
    if not principal.moderates:
        raise Problem(403, "forbidden", "Forbidden", "this route needs the moderation or admin role")
    return principal


Moderator = Annotated[Principal, Depends(get_moderator)]


async def get_template_manager(principal: CurrentUser) -> Principal:
    """The caller, if they have the templates (or admin) role; 403 otherwise."""
    if not principal.manages_templates:
        raise Problem(403, "forbidden", "Forbidden", "this route needs the templates or admin role")
    return principal


TemplateManager = Annotated[Principal, Depends(get_template_manager)]


async def get_finance(principal: CurrentUser) -> Principal:
    """The caller, if they have the finance (or admin) role; 403 otherwise."""
    if not principal.does_finance:
        raise Problem(403, "forbidden", "Forbidden", "this route needs the finance or admin role")
    return principal


FinanceUser = Annotated[Principal, Depends(get_finance)]


async def get_idempotency_key(idempotency_key: Annotated[str, Header(
        alias="Idempotency-Key", description="A unique key per intended operation: a repeat with the same key "
        "and body returns the first answer; another body under the same key is a 409",
        examples=["6f1c2d3e-generate-poster-1"])]) -> str:
    """The request's Idempotency-Key, checked."""
    return check_key(idempotency_key)


IdempotencyKey = Annotated[str, Depends(get_idempotency_key)]


async def get_commands(request: Request) -> Commands:
    """How the routes run use cases: commands counted in the service's metrics, their positions noted for
    read-your-writes, answers kept once per idempotency key (one for the app: it holds nothing of a request)."""
    state = request.app.state
    commands: Commands | None = getattr(state, "commands", None)
    if commands is None:
        service: Service = state.service
        commands = state.commands = Commands(service.metrics, service.saw, service.idempotency,
                                             service.limits.request_locks, service.limits.commands)
    return commands


CommandsDep = Annotated[Commands, Depends(get_commands)]
MinPosition = Annotated[int | None, Query(
    ge=0, le=2**62, description="Wait (bounded) until the projections reach this ledger position, from a command's "
    "`position`: read your own writes. 503 with Retry-After if they do not in time.")]


async def reach_position(request: Request, min_position: MinPosition = None) -> int:
    """The position the projections reached, after waiting for ``min_position`` (on the event loop)."""
    service: Service = request.app.state.service
    return await service.reach(min_position)


Visible = Annotated[int, Depends(reach_position)]
WaitForPosition = Depends(reach_position)
Cursor = Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]+$",
                                     description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]


def before(cursor: str | None) -> int | None:
    """The position a cursor stands for."""
    return int(cursor) if cursor else None
