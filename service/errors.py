"""The application layer's errors: a use case refuses with one of these (or a ledger error) and changes nothing.

The entrypoints translate them: api/http/problems.py into problem responses, the Kafka consumers
into dead letters.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a use case raises for a request it refuses; ``code`` names the reason."""

    code = "service-error"


class InvalidIdempotencyKey(ServiceError):
    """An idempotency key that is not 1 to 200 visible ASCII characters."""

    code = "invalid-idempotency-key"


class IdempotencyKeyReused(ServiceError):
    """An idempotency key already used for another request."""

    code = "idempotency-key-reused"

    def __init__(self, key: str, detail: str | None = None) -> None:
        super().__init__(detail or f"Idempotency-Key {key!r} was already used with another request")
        self.key = key


class WalletNotFound(ServiceError):
    """A user who never had a wallet."""

    code = "wallet-not-found"


class UploadRefused(ServiceError, ValueError):
    """A file that cannot be a learner's photo; the message names the problem."""

    code = "invalid-upload"


class UploadQuotaExceeded(ServiceError):
    """An owner who keeps as many uploads as allowed; ``retry_after`` seconds until the oldest expires."""

    code = "upload-quota-exceeded"

    def __init__(self, kept: int, quota: int, retry_after: int) -> None:
        super().__init__(f"you keep {kept} uploads, the most allowed; the oldest expires in {retry_after} s")
        self.kept = kept
        self.quota = quota
        self.retry_after = retry_after


class RejectedMessage(ServiceError, ValueError):
    """A well-formed inbound message that the credit policy refuses; ``code`` names the reason."""

    code = "rejected"


class TemplateRefused(ServiceError, ValueError):
    """A template draft or publication refused; ``problems`` names each field and what is wrong with it."""

    code = "invalid-template"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems
        self.field = problems[0][0] if problems else "body"
