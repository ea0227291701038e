"""Rendering one requested generation: template → prompt → model → store → a result message.

The Kafka worker and the in-process dispatch both call this; it touches no database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread

from media.compositor import check_printable
from media.compositor.result import finish
from media.costs import Meter, ProviderCost
from media.errors import GenerationError, ProviderTimeout
from media.inputs import InputPhotos
from media.messages import GenerationCompletedMessage, GenerationFailedMessage, GenerationRequestedMessage
from media.ports import ImageModel, ImageRequest, ImageStore, StoredImage
from media.templates import Template, TemplateCatalog, UnknownTemplate, VariableError

if TYPE_CHECKING:  # c2pa's native library loads only in a process that signs
    from media.credentials import ContentCredentials

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to call a provider or store."""

    attempts: int = 4
    backoff: float = 1.0
    backoff_max: float = 30.0
    timeout: float = 120.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter before retry number ``attempt`` (1-based)."""
        return random.uniform(0, min(self.backoff_max, self.backoff * 2 ** (attempt - 1)))  # noqa: S311


def seed_for(request: GenerationRequestedMessage) -> int:
    """The image seed: derived from the generation id, so a retry draws the same picture."""
    return request.generation_id.int % 2**31


def image_request(template: Template, request: GenerationRequestedMessage) -> ImageRequest:
    """What the model gets for ``request``, rendered through its template (validated first)."""
    payload = request.payload
    values = template.validate_variables(payload.variables, payload.input_image)
    check_printable(template, values)  # before the model is paid for a picture whose text could not be set
    return ImageRequest(
        generation_id=str(request.generation_id), prompt=template.render(payload.variables), model=template.model,
        aspect_ratio=template.aspect_ratio, seed=seed_for(request), input_image=payload.input_image,
        caption=template.render_caption(payload.variables), palette=template.palette, category=template.category,
        style=template.layout.style_for(values), tint=template.layout.tint_for(values),
    )


class GenerationHandler:
    """Turns a ``GenerationRequested`` message into a completed or failed result."""

    def __init__(self, catalog: TemplateCatalog, model: ImageModel, store: ImageStore,
                 policy: RetryPolicy | None = None, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 inputs: InputPhotos | None = None, credentials: ContentCredentials | None = None) -> None:
        self.catalog = catalog
        self.credentials = credentials  # signs each finished image (None: tests of other steps)
        self.inputs = inputs or InputPhotos(store)
        self.model = model
        self.store = store
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.sleep = sleep

    async def handle(self, request: GenerationRequestedMessage) -> GenerationCompletedMessage | GenerationFailedMessage:
        """Render and store the image, or say why not; an image already stored is reported again as it is."""
        storage_id = str(request.generation_id)
        meter: Meter | None = None  # until the model is about to be called, nothing was spent at a provider
        try:
            found = await self._patiently(lambda: self.store.find(storage_id))
            if found is not None:  # stored by a worker that did not live to report what its calls cost
                return self.completed(request, found, None)
            # The version the learner was charged for, even when a newer one was published since.
            template = self.catalog.version(request.payload.template_id, request.payload.template_version)
            ask = image_request(template, request)
            if ask.input_image:
                reference, user = ask.input_image, request.payload.user_id
                photo = await self._patiently(lambda: self.inputs.read(user, reference))
                ask = dataclasses.replace(ask, input_data=photo)
            meter = Meter(self.model, ask.model)
            artwork = await self._patiently(lambda: meter.generate(ask))
            image = await anyio.to_thread.run_sync(finish, template, request.payload.variables, artwork)
            if self.credentials is not None:
                image = await anyio.to_thread.run_sync(self.credentials.sign, image, template)
            kept = await self._patiently(lambda: self.store.put(storage_id, image, (template.category, template.id)))
        except (UnknownTemplate, VariableError) as error:
            return self.failed(request, "invalid_input", False, str(error), _spent(meter))
        except GenerationError as error:
            log.warning("generation %s failed: %s", storage_id, error)
            return self.failed(request, error.reason, error.retryable, str(error), _spent(meter))
        return self.completed(request, kept, meter.cost())

    async def _patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        # Retry what may pass on a second try (rate limits, 5xx, timeouts); re-raise the rest at once.
        for attempt in range(1, self.policy.attempts + 1):
            try:
                async with asyncio.timeout(self.policy.timeout):
                    return await call()
            except TimeoutError as error:
                failure: GenerationError = ProviderTimeout(f"no answer within {self.policy.timeout}s")
                failure.__cause__ = error
            except GenerationError as error:
                if not error.retryable:
                    raise
                failure = error
            if attempt == self.policy.attempts:
                raise failure
            await self.sleep(self.policy.delay(attempt))
        raise AssertionError("unreachable: the loop returns or raises")

    def completed(self, request: GenerationRequestedMessage, image: StoredImage,
                  cost: ProviderCost | None = None) -> GenerationCompletedMessage:
        """The completed message for a stored image, with what its model calls cost (None: unknown)."""
        return GenerationCompletedMessage(
            generation_id=request.generation_id, request_event_id=request.event_id, image_url=image.url,
            storage_id=image.storage_id, thumbnail_url=image.thumbnail_url, provider=image.provider,
            model=image.model, seed=image.seed, timings=image.timings, finished_at=self.clock(), provider_cost=cost)

    def failed(self, request: GenerationRequestedMessage, reason: str, retryable: bool,
               detail: str, cost: ProviderCost | None = None) -> GenerationFailedMessage:
        """The failed message for a generation that will get no image, with what its model calls cost."""
        return GenerationFailedMessage(
            generation_id=request.generation_id, request_event_id=request.event_id, reason=reason,
            retryable=retryable, detail=detail[:500], finished_at=self.clock(), provider_cost=cost)


def _spent(meter: Meter | None) -> ProviderCost:
    # A failure before the model was called (the template, the photo, the store's lookup) spent nothing there.
    return meter.cost() if meter is not None else ProviderCost(provider="", model="", calls=0, micro_usd=0,
                                                               source="none")
