"""The pipeline's errors: what a provider or store did, and whether trying again can help."""

from __future__ import annotations


class GenerationError(Exception):
    """Base of the pipeline's errors."""

    reason = "error"
    retryable = False
    # Whether the provider charges for the call that ended so: it took the work and ran it (a failed
    # prediction, an image its safety system refused, a call we stopped waiting for), as against one it
    # turned away at the door (rate limits, 5xx, invalid input) or one that never reached it.
    billed = False


class ConfigError(GenerationError):
    """Settings that cannot work: a missing key or an unknown provider; names the variable."""

    reason = "config"


class ProviderError(GenerationError):
    """An image provider did not return an image."""

    reason = "provider_error"
    billed = True


class RateLimited(ProviderError):
    """The provider asked us to slow down (HTTP 429)."""

    reason = "rate_limited"
    retryable = True
    billed = False


class ProviderUnavailable(ProviderError):
    """The provider failed on its side (HTTP 5xx, connection error)."""

    reason = "provider_unavailable"
    retryable = True
    billed = False


class ProviderTimeout(ProviderError):
    """The provider did not answer within the per-call timeout."""

    reason = "timeout"
    retryable = True


class ContentRefused(ProviderError):
    """The provider's safety system refused the prompt, or flagged the image it made as unsafe."""

    reason = "safety"  # before issue 23 "content_policy": stored failures keep it, and the page reads both


class InvalidInput(ProviderError):
    """The provider rejected the request as invalid (HTTP 400/422, bad input image)."""

    reason = "invalid_input"
    billed = False


class StorageError(GenerationError):
    """The image store could not keep or find an image."""

    reason = "storage_error"
    retryable = True


class ImageMissing(StorageError):
    """The image a store was asked for is not there: never stored, or deleted since."""

    retryable = False
