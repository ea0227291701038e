"""The pipeline's errors: what a provider or store did, and whether trying again can help."""

from __future__ import annotations


class GenerationError(Exception):
    """Base of the pipeline's errors."""

    reason = "error"
    retryable = False


class ConfigError(GenerationError):
    """Settings that cannot work: a missing key or an unknown provider; names the variable."""

    reason = "config"


class ProviderError(GenerationError):
    """An image provider did not return an image."""

    reason = "provider_error"


class RateLimited(ProviderError):
    """The provider asked us to slow down (HTTP 429)."""

    reason = "rate_limited"
    retryable = True


class ProviderUnavailable(ProviderError):
    """The provider failed on its side (HTTP 5xx, connection error)."""

    reason = "provider_unavailable"
    retryable = True


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


class StorageError(GenerationError):
    """The image store could not keep or find an image."""

    reason = "storage_error"
    retryable = True
