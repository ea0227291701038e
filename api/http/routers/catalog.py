"""Public catalog: credit packs and templates."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import ServiceDep
from api.http.schemas import PackPublic, TemplatePublic, VariablePublic, problems
from media.templates import Template

router = APIRouter(prefix="/v1", tags=["catalog"])


def template_public(template: Template) -> TemplatePublic:
    """A template as the API shows it (without its prompt)."""
    return TemplatePublic(
        id=template.id, title=template.title, description=template.description, category=template.category,
        cost=template.cost, version=template.version, aspect_ratio=template.aspect_ratio,
        needs_input_image=template.needs_input_image,
        variables=[VariablePublic(name=v.name, label=v.label or v.name.replace("_", " ").capitalize(), type=v.type,
                                  max_length=None if v.type == "choice" else v.max_length,
                                  choices=list(v.choices), required=v.required, default=v.default,
                                  sample=v.example(), hint=v.hint)
                   for v in template.variables])


@router.get("/packs")
def list_packs(service: ServiceDep) -> list[PackPublic]:
    """The credit packs for sale (public)."""
    return [PackPublic(id=p.id, title=p.title, credits=p.credits, price_minor=p.price_minor, currency=p.currency)
            for p in service.policy.packs]


@router.get("/templates")
def list_templates(service: ServiceDep) -> list[TemplatePublic]:
    """Every template (public)."""
    return [template_public(t) for t in service.catalog.all()]


@router.get("/templates/{template_id}", responses=problems(404))
def get_template(template_id: str, service: ServiceDep) -> TemplatePublic:
    """One template (public); 404 if there is no such template."""
    return template_public(service.catalog.get(template_id))
