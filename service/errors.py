"""The application layer's errors: a use case refuses with one of these (or a ledger error) and changes nothing.

The entrypoints translate them: api/http/problems.py into problem responses, the Kafka consumers
into dead letters.
"""

from __future__ import annotations

from datetime import datetime


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


class UploadNotFound(ServiceError):
    """An upload id that is not one of the caller's current uploads."""

    code = "upload-not-found"


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


class TooBusy(ServiceError):
    """A learner with as many requests of one kind in flight as allowed; ``retry_after`` seconds to wait."""

    code = "too-many-requests"

    def __init__(self, what: str, limit: int, retry_after: int) -> None:
        super().__init__(f"you have {limit} {what} in progress, the most at once: try again when one finishes")
        self.what = what
        self.limit = limit
        self.retry_after = retry_after


class TextRefused(ServiceError):
    """A learner's text that moderation refuses; names the field, the kind of words and the rule that fired."""

    code = "text-refused"

    def __init__(self, field: str, category: str, rule: str) -> None:
        kind = KINDS.get(category, "words we do not allow")
        super().__init__(f"{field}: has {kind}, which we cannot put on an image shared under your course's name; "
                         "please reword it")
        self.field = field
        self.category = category
        self.rule = rule


KINDS = {  # each moderation category as the English detail says it (the page has its own words for each)
    "profanity": "swear words",
    "hate": "words that attack people for who they are",
    "harassment": "words that insult or threaten someone",
    "sexual": "sexual words",
    "violence": "words about hurting people",
    "self_harm": "words about self-harm",
    "illicit": "words about breaking the law",
}


class ModerationUnavailable(ServiceError):
    """The moderation provider did not answer: nothing is held until the words can be checked."""

    code = "moderation-unavailable"


class TemplateRefused(ServiceError, ValueError):
    """A template draft or publication refused; ``problems`` names each field and what is wrong with it."""

    code = "invalid-template"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems
        self.field = problems[0][0] if problems else "body"


class InvalidSetting(ServiceError, ValueError):
    """A wallet setting out of its bounds; ``field`` names it."""

    code = "invalid-setting"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class SpendCapReached(ServiceError):
    """A generation that would pass the learner's own daily spend cap; ``resets_at``: when the day ends."""

    code = "daily-spend-cap-reached"

    def __init__(self, *, cap: int, spent: int, needed: int, resets_at: datetime) -> None:
        super().__init__(f"your daily spend cap is {cap} credits and you have spent {spent} today: this needs "
                         f"{needed} more; the cap resets at {resets_at.isoformat()}")
        self.cap = cap
        self.spent = spent
        self.needed = needed
        self.resets_at = resets_at


class RechargesUnavailable(ServiceError):
    """Recharges are not taken here: no platform wallet is configured."""

    code = "recharges-unavailable"


class ReportRefused(ServiceError, ValueError):
    """A report of a shared image that cannot be taken as sent; names the field and what is wrong with it."""

    code = "invalid-report"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TooManyReports(ServiceError):
    """An address that sent as many reports as it may in the window; ``retry_after`` seconds until another."""

    code = "too-many-reports"

    def __init__(self, limit: int, window: int, retry_after: int) -> None:
        super().__init__(f"at most {limit} reports may be sent from one address in {window // 60} minutes: "
                         f"try again in {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after
