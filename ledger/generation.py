"""The Generation aggregate: one image requested from a template, paid for by a hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import ConflictingCommand, InvalidTransition, ReportsFull
from ledger.values import digest

# How a result that arrived after its hold lapsed was paid for: "" on time, charged again, or written off.
Late = Literal["", "charged", "written_off"]
FINISHED = frozenset({"completed", "failed"})  # the states a generation never leaves


def is_paid(late: Late) -> bool:
    """Whether a result that arrived so was paid for: on time, or charged again after its hold lapsed."""
    return late != "written_off"


def late_hold_id(hold_id: str) -> str:
    """The id of the hold that charges again for a result that arrived after hold ``hold_id`` lapsed."""
    return f"{hold_id}:late"


class Generation(Aggregate):
    """An image generation from request to a stored image, or to a failure."""

    class GenerationRequested(Aggregate.Created):
        user_id: str
        wallet_id: UUID
        template_id: str
        template_version: int
        variables: dict[str, Any]
        input_image: str | None
        cost: int
        hold_id: str
        expires_at: datetime
        digest: str
        # The W3C trace context of the request ("" untraced; absent from events recorded before it was kept):
        # the relay publishes the event long after the request answered, and carries it on from here.
        traceparent: str = ""

    class GenerationStarted(Aggregate.Event):
        worker: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "started"
            aggregate.attempts += 1

    class GenerationCompleted(Aggregate.Event):
        image_url: str
        storage_id: str
        provider: str
        model: str
        seed: int | None
        timings: dict[str, float]
        captured: int
        late: Late  # "" on time; "charged" or "written_off" when the hold had expired
        digest: str
        # What the model calls cost at the provider: {provider, model, calls, micro_usd, source}; None in
        # events recorded before it was kept, or from a worker that did not say (unknown, never free).
        provider_cost: dict[str, Any] | None = None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "completed"
            aggregate.image_url = self.image_url
            aggregate.storage_id = self.storage_id
            aggregate.captured = self.captured
            aggregate.outcome = self.digest

    class GenerationFailed(Aggregate.Event):
        reason: str
        retryable: bool
        digest: str
        provider_cost: dict[str, Any] | None = None  # as on ``GenerationCompleted``: a failed call may cost too

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "failed"
            aggregate.reason = self.reason
            aggregate.outcome = self.digest

    class GenerationShared(Aggregate.Event):
        token: str

        def apply(self, aggregate: Any) -> None:
            aggregate.share_token = self.token
            if getattr(aggregate, "first_shared_at", None) is None:  # a share after an unshare is not the first
                aggregate.first_shared_at = self.timestamp

    class GenerationUnshared(Aggregate.Event):
        token: str  # the share token that stops working

        def apply(self, aggregate: Any) -> None:
            aggregate.share_token = ""

    class GenerationImageDeleted(Aggregate.Event):
        """The image, its thumbnail, preview and share link are gone; the hold and its capture stay."""

        reason: str  # "owner": the learner deleted it; "retention": kept unshared past the retention period
        token: str  # the share token that stops working ("" when it was not shared)

        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = True
            aggregate.share_token = ""

    class GenerationTakenDown(GenerationImageDeleted):
        """An operator upheld reports of the shared image: deleted as an owner's delete is (reason "takedown"),
        with the report's category and a note the owner is shown."""

        category: str  # one of the report categories (``ReportCategory``)
        note: str  # the operator's words to the owner
        by: str  # the operator

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.taken_down = self.category
            aggregate.open_reports = []

    class GenerationReported(Aggregate.Event):
        """Someone reported the shared image (no sign-in): a category, optional words, and who, as a keyed digest
        of their address (never the address itself)."""

        category: str
        text: str
        reporter: str
        token: str  # the share link it was reported from

        def apply(self, aggregate: Any) -> None:
            aggregate.open_reports = [*getattr(aggregate, "open_reports", []), self.reporter]

    class GenerationReportsDismissed(Aggregate.Event):
        """An operator read the open reports and kept the image."""

        reports: int  # how many open reports this dismissed
        note: str
        by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.open_reports = []

    def __init__(self, user_id: str, wallet_id: UUID, template_id: str, template_version: int,
                 variables: dict[str, Any], input_image: str | None, cost: int, hold_id: str,
                 expires_at: datetime, digest: str, traceparent: str = "") -> None:
        self.user_id = user_id
        self.wallet_id = wallet_id
        self.template_id = template_id
        self.template_version = template_version
        self.variables = variables
        self.input_image = input_image
        self.cost = cost
        self.hold_id = hold_id
        self.expires_at = expires_at
        self.digest = digest
        self.traceparent = traceparent
        self.status = "requested"
        self.attempts = 0
        self.image_url = ""
        self.storage_id = ""
        self.captured = 0
        self.reason = ""
        self.outcome = ""
        self.share_token = ""
        self.first_shared_at: datetime | None = None
        self.deleted = False
        self.taken_down = ""
        self.open_reports: list[str] = []

    @classmethod
    def request(cls, generation_id: UUID, *, at: datetime, **fields: Any) -> Generation:
        """Record a request for an image from a template, paid for by a hold."""
        return cls._create(cls.GenerationRequested, id=generation_id, timestamp=at, **fields)

    @property
    def is_finished(self) -> bool:
        """Whether the generation completed or failed."""
        return self.status in FINISHED

    def start(self, *, worker: str, at: datetime) -> None:
        """A worker began to render the image."""
        if self.is_finished:
            raise InvalidTransition(f"generation {self.id} is already {self.status}")
        self.trigger_event(self.GenerationStarted, worker=worker, timestamp=at)

    def complete(self, *, at: datetime, captured: int, late: Late, provider_cost: dict[str, Any] | None = None,
                 **result: Any) -> bool:
        """Record the stored image; False when this exact result was already recorded (whatever the cost a
        repeat reports: the first report of a generation's cost is the one kept)."""
        fingerprint = digest({"status": "completed", **result})
        if self._already(fingerprint):
            return False
        self.trigger_event(
            self.GenerationCompleted, timestamp=at, captured=captured, late=late,
            digest=fingerprint, provider_cost=provider_cost, **result,
        )
        return True

    def fail(self, *, reason: str, retryable: bool, at: datetime, provider_cost: dict[str, Any] | None = None) -> bool:
        """Record that no image will come; False when this failure was already recorded."""
        fingerprint = digest({"status": "failed", "reason": reason, "retryable": retryable})
        if self._already(fingerprint):
            return False
        self.trigger_event(
            self.GenerationFailed, reason=reason, retryable=retryable, digest=fingerprint, timestamp=at,
            provider_cost=provider_cost,
        )
        return True

    @property
    def image_deleted(self) -> bool:
        """Whether the image was deleted (aggregates rebuilt from snapshots taken before deletion existed say no)."""
        return bool(getattr(self, "deleted", False))

    def share(self, *, token: str, at: datetime) -> bool:
        """Make the image public under ``token``; False when it already is."""
        if self.status != "completed":
            raise InvalidTransition(f"generation {self.id} is {self.status}: only a finished image can be shared")
        if self.image_deleted:
            raise InvalidTransition(f"the image of generation {self.id} was deleted: there is nothing to share")
        if self.share_token:
            return False
        self.trigger_event(self.GenerationShared, token=token, timestamp=at)
        return True

    def unshare(self, *, at: datetime) -> bool:
        """Make the image private again (its share link stops working); False when it is not shared."""
        if not self.share_token:
            return False
        self.trigger_event(self.GenerationUnshared, token=self.share_token, timestamp=at)
        return True

    def delete_image(self, *, reason: str, at: datetime) -> bool:
        """Delete the finished image (and its share link); False when it is deleted already."""
        if self.status != "completed":
            raise InvalidTransition(f"generation {self.id} is {self.status}: only a finished image can be deleted")
        if self.image_deleted:
            return False
        self.trigger_event(self.GenerationImageDeleted, reason=reason, token=self.share_token, timestamp=at)
        return True

    @property
    def reports(self) -> list[str]:
        """The reporters of the reports still open (aggregates from snapshots older than reports have none)."""
        return list(getattr(self, "open_reports", []))

    def report(self, *, category: str, text: str, reporter: str, at: datetime, max_open: int) -> bool:
        """Report the shared image; False when ``reporter`` already has a report open on it."""
        if not self.share_token:
            raise InvalidTransition(f"generation {self.id} is not shared: only a shared image can be reported")
        if reporter in self.reports:
            return False
        if len(self.reports) >= max_open:
            raise ReportsFull(f"the image already has {len(self.reports)} reports awaiting review")
        self.trigger_event(self.GenerationReported, category=category, text=text, reporter=reporter,
                           token=self.share_token, timestamp=at)
        return True

    def take_down(self, *, category: str, note: str, by: str, at: datetime) -> bool:
        """Uphold the reports: delete the image and its share link, saying why; False when already taken down."""
        if getattr(self, "taken_down", ""):
            return False
        if self.image_deleted:
            raise InvalidTransition(f"the image of generation {self.id} was deleted: there is nothing to take down")
        if self.status != "completed":
            raise InvalidTransition(f"generation {self.id} is {self.status}: only a finished image can be taken down")
        self.trigger_event(self.GenerationTakenDown, reason="takedown", token=self.share_token, category=category,
                           note=note, by=by, timestamp=at)
        return True

    def dismiss_reports(self, *, note: str, by: str, at: datetime) -> bool:
        """Keep the image: close its open reports; False when none is open."""
        if not self.reports:
            return False
        self.trigger_event(self.GenerationReportsDismissed, reports=len(self.reports), note=note, by=by, timestamp=at)
        return True

    def _already(self, fingerprint: str) -> bool:
        if not self.is_finished:
            return False
        if self.outcome == fingerprint:
            return True
        raise ConflictingCommand(f"generation {self.id} is already {self.status} with another result")
