"""The worker's test doubles: a requested-generation envelope as the relay publishes it, a counting model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from media.models.local import LocalModel
from media.ports import ImageRequest, ImageResult


def requested(template_id: str = "teaser-banner", variables: dict[str, Any] | None = None,
              input_image: str | None = None) -> dict[str, Any]:
    """A GenerationRequested envelope as the relay publishes it."""
    now = datetime.now(UTC)
    return {
        "event_id": str(uuid.uuid4()), "type": "GenerationRequested", "version": 1,
        "occurred_at": now.isoformat(), "position": 7, "aggregate_id": str(uuid.uuid4()), "aggregate_version": 1,
        "payload": {
            "user_id": "u1", "wallet_id": str(uuid.uuid4()), "template_id": template_id, "template_version": 1,
            "variables": {"event": "Data Day", "date": "May 3"} if variables is None else variables,
            "input_image": input_image, "cost": 3, "hold_id": "h1",
            "expires_at": (now + timedelta(minutes=15)).isoformat(), "digest": "x",
        },
    }


class CountingModel:
    """The local model, counting calls and failing first as told."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.inner = LocalModel(scale=0.1)
        self.failures = list(failures or [])
        self.calls = 0

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return await self.inner.generate(request)

    async def aclose(self) -> None:
        pass
