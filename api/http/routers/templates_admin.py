"""The operators' template routes: list, draft (create or replace), preview, publish, retire, restore.

The `templates` role manages templates and nothing else; `admin` may too. Every write takes an
Idempotency-Key and records who (the token's user) and why (``reason``).
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.http.deps import CommandsDep, IdempotencyKey, ServiceDep, TemplateManager, Visible
from api.http.previews import Previews
from api.http.schemas import problems
from api.http.template_schemas import (
    TemplateChange,
    TemplateChanged,
    TemplateDetailPublic,
    TemplatePublish,
    TemplateSummaryPublic,
    TemplateVersionPublic,
)
from ledger import Outcome
from media.templates import Template
from service import template_admin as use_cases
from service.commands import Answer, caller
from service.container import Service
from service.template_checks import Rendering

router = APIRouter(prefix="/v1/admin/templates", tags=["admin-templates"])
TemplateId = Path(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9-]*$")
Reason = Query(min_length=1, max_length=500, description="why the draft changes (recorded with who changed it)")


@router.get("", responses=problems(401, 403, 409, 503), operation_id="list_admin_templates")
def list_templates(manager: TemplateManager, service: ServiceDep, position: Visible) -> list[TemplateSummaryPublic]:
    """Every template in the ledger with its status, versions and the last 7 days' usage."""
    with service.reads.connect() as conn:
        found = use_cases.overview(conn, service.catalog, service.clock())
    return [TemplateSummaryPublic.model_validate(vars(t)) for t in found]


@router.get("/{template_id}", responses=problems(401, 403, 404, 409, 503), operation_id="get_admin_template")
def get_template(manager: TemplateManager, service: ServiceDep, position: Visible,
                 template_id: str = TemplateId) -> TemplateDetailPublic:
    """A template's status, its draft and every published version (to compare the draft with)."""
    with service.reads.connect() as conn:
        row, versions = use_cases.detail(conn, template_id)
    return TemplateDetailPublic(template_id=template_id, status=row["status"], draft=row["draft"],
                                versions=[TemplateVersionPublic.model_validate(v) for v in versions])


def changed(template_id: str, outcome: Outcome, *, version: int | None = None) -> Answer:
    """The answer to a template change."""
    body = TemplateChanged(template_id=template_id, changed=version is not None or bool(outcome.value),
                           version=version, position=outcome.position)
    return 200, body.model_dump(mode="json")


@router.put("/{template_id}", response_model=TemplateChanged, responses=problems(401, 403, 409, 422),
            operation_id="put_admin_template")
def put_template(manager: TemplateManager, key: IdempotencyKey, service: ServiceDep, commands: CommandsDep,
                 fields: Annotated[dict[str, Any], Body(description="the catalogue file's fields, as JSON")],
                 template_id: str = TemplateId, reason: str = Reason) -> JSONResponse:
    """Create the template with this draft, or replace its draft; learners see nothing until it is published."""
    request = {"route": f"PUT /v1/admin/templates/{template_id}", "body": fields, "reason": reason}
    status, payload = commands.once(caller(manager.user_id), key, request, lambda: changed(
        template_id, use_cases.save_draft(
            service.ledger, template_id=template_id, fields=fields, by=manager.user_id, reason=reason,
            at=service.clock(), run=commands.run)))
    return JSONResponse(payload, status_code=status)


PNG: dict[int | str, dict[str, Any]] = {200: {
    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    "description": "The template rendered by the compositor with its samples"}}
Style = Query(max_length=64, description="a choice of the style variable")
Lang = Query(pattern=r"^[a-z]{2}$", description="the samples' language")


async def rendered(request: Request, service: Service, *, operator: str, template: Template, lang: str,
                   style: str | None) -> Response:
    """``template`` drawn with its samples in ``style`` and ``lang``, one of the operator's previews in flight."""
    values = use_cases.preview_values(template, lang=lang, style=style)
    previews: Previews = request.app.state.previews
    with service.limits.previews.slot(operator):  # a preview is seconds of CPU: one operator cannot take them all
        png = await previews.draft(template, values)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/{template_id}/preview.png", response_class=Response,
            responses={**PNG, **problems(401, 403, 404, 422, 429)}, operation_id="preview_admin_template")
async def preview(request: Request, manager: TemplateManager, service: ServiceDep, template_id: str = TemplateId,
                  style: Annotated[str | None, Style] = None, lang: Annotated[str, Lang] = "en") -> Response:
    """The draft rendered by the compositor with its sample values, in a style and language."""
    template = await anyio.to_thread.run_sync(use_cases.draft_of, service.ledger, template_id)
    return await rendered(request, service, operator=manager.user_id, template=template, lang=lang, style=style)


@router.post("/{template_id}/preview.png", response_class=Response,
             responses={**PNG, **problems(401, 403, 422, 429)}, operation_id="preview_admin_template_fields")
async def preview_fields(request: Request, manager: TemplateManager, service: ServiceDep,
                         fields: Annotated[dict[str, Any], Body(description="the catalogue file's fields, as JSON")],
                         template_id: str = TemplateId, style: Annotated[str | None, Style] = None,
                         lang: Annotated[str, Lang] = "en") -> Response:
    """Fields not saved yet (as ``PUT`` takes them, with the same checks) rendered with their samples in a
    style and language: the console's live preview. Nothing is recorded."""
    template = use_cases.parse_draft(template_id, fields)
    return await rendered(request, service, operator=manager.user_id, template=template, lang=lang, style=style)


@router.post("/{template_id}/publish", response_model=TemplateChanged,
             responses=problems(401, 403, 404, 409, 422, 429),
             operation_id="publish_admin_template")
def publish(body: TemplatePublish, manager: TemplateManager, key: IdempotencyKey, service: ServiceDep,
            commands: CommandsDep, template_id: str = TemplateId) -> JSONResponse:
    """Publish the draft as the next version, after every check a learner needs (each refusal a 422 naming
    its field)."""
    rendering = Rendering(service.media.image_provider, service.media.providers())
    request = {"route": f"POST /v1/admin/templates/{template_id}/publish", "body": body.model_dump(mode="json")}

    def run() -> Answer:
        outcome = use_cases.publish(
            service.ledger, template_id=template_id, by=manager.user_id, reason=body.reason, at=service.clock(),
            effective_at=body.effective_at, max_cost=service.policy.max_template_cost, rendering=rendering,
            run=commands.run)
        return changed(template_id, outcome, version=outcome.value)

    # The checks draw every style in every language: the operator's preview slots bound them too.
    with service.limits.previews.slot(manager.user_id):
        status, payload = commands.once(caller(manager.user_id), key, request, run)
    return JSONResponse(payload, status_code=status)


@router.post("/{template_id}/retire", response_model=TemplateChanged, responses=problems(401, 403, 404, 409, 422),
             operation_id="retire_admin_template")
def retire(body: TemplateChange, manager: TemplateManager, key: IdempotencyKey, service: ServiceDep,
           commands: CommandsDep, template_id: str = TemplateId) -> JSONResponse:
    """Take the template out of the studio; its images stay in galleries and on share pages."""
    request = {"route": f"POST /v1/admin/templates/{template_id}/retire", "body": body.model_dump(mode="json")}
    status, payload = commands.once(caller(manager.user_id), key, request, lambda: changed(
        template_id, use_cases.retire(
            service.ledger, template_id=template_id, by=manager.user_id, reason=body.reason, at=service.clock(),
            run=commands.run)))
    return JSONResponse(payload, status_code=status)


@router.post("/{template_id}/restore", response_model=TemplateChanged, responses=problems(401, 403, 404, 409, 422),
             operation_id="restore_admin_template")
def restore(body: TemplateChange, manager: TemplateManager, key: IdempotencyKey, service: ServiceDep,
            commands: CommandsDep, template_id: str = TemplateId) -> JSONResponse:
    """Bring a retired template back to the studio."""
    request = {"route": f"POST /v1/admin/templates/{template_id}/restore", "body": body.model_dump(mode="json")}
    status, payload = commands.once(caller(manager.user_id), key, request, lambda: changed(
        template_id, use_cases.restore(
            service.ledger, template_id=template_id, by=manager.user_id, reason=body.reason, at=service.clock(),
            run=commands.run)))
    return JSONResponse(payload, status_code=status)
