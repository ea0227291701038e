"""What the studio page needs to know about this deployment (public)."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import ServiceDep
from api.http.schemas import ConfigPublic, RedemptionPublic
from service.settings import demo_refused

router = APIRouter(prefix="/v1", tags=["config"])


@router.get("/config")
def get_config(service: ServiceDep) -> ConfigPublic:
    """Whether the demo sign-in answers, the checkout URL template, the embedding origins, the redemption rate."""
    rate = service.policy.redemption
    demo = demo_refused(service.store, service.api) is None
    return ConfigPublic(embedded=demo, checkout_url=service.api.checkout_url or None,
                        embed_origins=service.api.embed_origins,
                        redemption=RedemptionPublic(currency=rate.currency,
                                                    credits_per_major_unit=rate.credits_per_major_unit,
                                                    minor_per_major=rate.minor_per_major))
