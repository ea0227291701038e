"""Request and response bodies of the API (``XxxCreate`` in, ``XxxPublic`` out), with examples."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.http.report_schemas import TakedownPublic
from ledger import MAX_CREDITS, MAX_TERM
from service.messages import UserId

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PackPublic(BaseModel):
    """A credit pack for sale."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "starter", "title": "Starter", "credits": 100, "price_minor": 900, "currency": "INR"}]})
    id: str
    title: str
    credits: int
    price_minor: int
    currency: str


class VariablePublic(BaseModel):
    """A slot of a template the learner fills in."""

    name: str
    label: str = Field(description="what the field is called on a form")
    type: str = Field(description="text, choice or color")
    max_length: int | None = Field(default=None, description=(
        "the longest value accepted, in characters as a reader counts them (grapheme clusters: an emoji sequence "
        "or a conjunct is one); null for a choice"))
    choices: list[str]
    required: bool
    default: str | None = None
    sample: str = Field(description="an example value that fits, for hints and previews")
    hint: str = Field(default="", description="a line under the label on the learner's form (may be empty)")


class TemplatePublic(BaseModel):
    """A ready-made image recipe."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "poster-webinar", "title": "Webinar poster",
        "description": "A poster for a live session with the speaker's topic and time.",
        "category": "poster", "cost": 5, "version": 1, "aspect_ratio": "3:4", "needs_input_image": False,
        "variables": [{"name": "topic", "label": "Webinar topic", "type": "text", "max_length": 60, "choices": [],
                       "required": True, "default": None, "sample": "Intro to SQL"},
                      {"name": "style", "label": "Illustration style", "type": "choice", "max_length": None,
                       "choices": ["flat", "isometric", "photographic"], "required": True, "default": "flat",
                       "sample": "flat"}]}]})
    id: str
    title: str
    description: str
    category: str
    cost: int
    version: int
    aspect_ratio: str
    needs_input_image: bool
    variables: list[VariablePublic]


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(description="null on the last page")


class Lifetime(BaseModel):
    """What the wallet received and lost over its life."""

    purchased: int = Field(description="credits bought with money: packs and redeemed wallet balance")
    granted: int = Field(description="free credits: referral, share, promo and positive adjustments")
    spent: int
    expired: int
    clawed_back: int = Field(description="taken back by refunds, reversals and negative adjustments")


class NextExpiry(BaseModel):
    """The wallet's credits that lapse soonest, and when."""

    credits: int = Field(description="available credits that lapse at expires_at")
    expires_at: datetime


class WalletPublic(BaseModel):
    """A wallet's credits now, as projected at ``position``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "user_id": "alice", "available": 90, "held": 10, "by_source": {"purchase": 70, "share": 20},
        "lifetime": {"purchased": 100, "granted": 20, "spent": 0, "expired": 0, "clawed_back": 0},
        "next_expiry": {"credits": 20, "expires_at": "2027-03-03T00:00:00Z"}, "position": 42}]})
    user_id: str
    available: int = Field(description="credits that can be spent now")
    held: int = Field(description="credits reserved by generations in progress")
    by_source: dict[str, int]
    lifetime: Lifetime
    next_expiry: NextExpiry | None = Field(default=None, description="the soonest-expiring available credits; "
                                           "null when none of them expire")
    position: int = Field(description="the ledger position the projections had reached")


class StatementGeneration(BaseModel):
    """The generation a statement line is about: which template, and the learner's own words in it."""

    generation_id: UUID
    template_id: str
    template_version: int = Field(description="the template version that made it (its words name the line)")
    template_titles: dict[str, str] = Field(default_factory=dict, description="that version's title by "
                                            'language: {"en": "Webinar poster", "hi": "वेबिनार पोस्टर"}')
    text: str = Field(description='the main text the learner gave, shortened: "Intro to SQL"')
    image_deleted: bool = Field(default=False, description="the learner deleted the image: no text any more")


class StatementLinePublic(BaseModel):
    """One wallet event: its effect on the balance and the balance after it."""

    position: int
    occurred_at: datetime
    type: str
    change: int
    held_change: int
    balance: int
    held: int
    reference: str
    description: str = Field(description='what the line is, in words: "Webinar poster: Intro to SQL", '
                             '"Referral bonus for inviting bob"')
    details: dict[str, Any]
    generation: StatementGeneration | None = Field(default=None, description=(
        "for a line about one of the caller's generations (its hold, its charge, its share bonus): which "
        "template and text, so that a client can say the line in its own language"))


class GenerationCreate(_In):
    """A request for an image from a template."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"template_id": "poster-webinar", "variables": {"topic": "Intro to SQL", "time": "Friday 6 pm IST"},
         "input_image_url": None}]})
    template_id: str = Field(min_length=1, max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict, description=(
        "the template's variables by name; control characters become spaces, invisible ones (bidi controls, "
        "zero-width spaces) are dropped except joiners inside an emoji or a word, and a character no font of the "
        "template can print is a 422 naming the variable"))
    input_image_url: str | None = Field(default=None, max_length=2048, description=(
        "the learner's photo as an https URL, for templates that take one (fetched and checked now)"))
    input_upload_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description=(
        "the learner's photo as an `upload_id` from POST /v1/uploads, for templates that take one"))


GenerationStatus = Literal["requested", "started", "completed", "failed"]


class GenerationAccepted(BaseModel):
    """The generation was requested and its cost is held."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "generation_id": "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d", "status": "requested", "cost": 10,
        "hold_id": "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d", "position": 57}]})
    generation_id: UUID
    status: str
    cost: int
    hold_id: str
    position: int = Field(description="pass as min_position to read your own write")


class GenerationPublic(BaseModel):
    """A generation and, once finished, its image."""

    generation_id: UUID
    template_id: str
    template_version: int
    status: GenerationStatus = Field(description="requested, started, then completed or failed")
    cost: int
    variables: dict[str, Any]
    image_url: str | None
    thumbnail_url: str | None
    reason: str | None
    share_url: str | None
    requested_at: datetime
    updated_at: datetime


class GalleryItemPublic(BaseModel):
    """A finished image in the user's gallery."""

    generation_id: UUID
    template_id: str
    template_version: int | None = Field(default=None, description="the template version that made the image")
    template_title: str = Field(default="", description="that version's title (a later version changes it not)")
    template_titles: dict[str, str] | None = Field(default=None, description="that version's title in the other "
                                                   "languages it has, by language")
    title: str
    image_url: str
    thumbnail_url: str | None
    share_url: str | None
    created_at: datetime
    taken_down: TakedownPublic | None = Field(default=None, description="taken down after reports: why (the image "
                                              "is gone: image_url is empty)")


class ShareCreated(BaseModel):
    """The public link to a finished image."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "generation_id": "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d", "share_url": "http://127.0.0.1:8000/s/Xy12abCD",
        "bonus_credits": 5, "position": 61}]})
    generation_id: UUID
    share_url: str
    bonus_credits: int = Field(description="credits granted for this share (0 once the daily limit is reached)")
    position: int


class UploadCreated(BaseModel):
    """A photo kept privately for the templates that take one, until ``expires_at`` unless used."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "upload_id": "q3ZkR1b0vWm8yT2xLpA9cQ", "content_type": "image/jpeg", "width": 1536, "height": 2048,
        "expires_at": "2026-03-02T10:00:00Z"}]})
    upload_id: str = Field(description="pass as input_upload_id to POST /v1/generations")
    content_type: str = Field(description="image/jpeg, image/png or image/webp")
    width: int
    height: int
    expires_at: datetime = Field(description="when the upload is deleted if no generation is using it")


class ShareRemoved(BaseModel):
    """The image is private again; its share link answers 404 from now on."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "generation_id": "0d6f0c1e-3f7a-5d5e-9c1e-6d0f5b1a2c3d", "shared": False, "position": 62}]})
    generation_id: UUID
    shared: bool
    position: int = Field(description="pass as min_position to read your own write")


class GrantCreate(_In):
    """Promotional credits for a wallet, usually expiring."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": 50, "reason": "launch week", "expires_at": "2026-12-31T00:00:00Z"}]})
    amount: int = Field(gt=0, le=MAX_CREDITS)
    reason: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the credits lapse, with a time zone (`Z` or `+05:30`), within "
                                  f"{MAX_TERM.days} days; null: never")

    @field_validator("expires_at")
    @classmethod
    def _within_the_longest_term(cls, value: datetime | None) -> datetime | None:
        if value is not None and value - datetime.now(UTC) > MAX_TERM:
            raise ValueError(f"must be at most {MAX_TERM.days} days from now")
        return value


class AdjustmentCreate(_In):
    """A correction by an admin: adds (delta > 0) or takes (delta < 0) credits, with a reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"delta": -20, "reason": "duplicate referral bonus"}]})
    delta: int = Field(ge=-MAX_CREDITS, le=MAX_CREDITS)
    reason: str = Field(min_length=1, max_length=200)


class CommandAccepted(BaseModel):
    """A ledger command was applied (or had already been)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": "alice", "position": 64,
                                                               "repeated": False}]})
    user_id: str
    position: int
    repeated: bool


class GrantPublic(BaseModel):
    """One grant of credits in a wallet."""

    grant_id: str
    source: str
    amount: int
    remaining: int
    expires_at: datetime | None = None
    closed: str | None = None
    granted_at: datetime


class AdminWalletPublic(WalletPublic):
    """A wallet with its grants, for support and finance."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "user_id": "alice", "available": 90, "held": 10, "by_source": {"purchase": 90},
        "lifetime": {"purchased": 100, "granted": 0, "spent": 0, "expired": 0, "clawed_back": 0}, "position": 42,
        "grants": [{"grant_id": "5b1e0f0a-8d6c-5f4e-9a3b-2c1d0e9f8a7b", "source": "purchase", "amount": 100,
                    "remaining": 90, "expires_at": None, "closed": None, "granted_at": "2026-03-01T10:00:00Z"}]}]})
    grants: list[GrantPublic]


class WebhookAccepted(BaseModel):
    """A payment message was applied to the ledger (or had already been)."""

    type: str
    position: int
    repeated: bool


class DevTokenCreate(_In):
    """Who to sign in as (embedded default only)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"user_id": "alice", "role": None}]})
    user_id: UserId
    role: Literal["user", "admin", "templates", "moderation"] | None = Field(
        default=None, description="admin opens /v1/admin; templates opens /v1/admin/templates only; moderation "
        "opens /v1/admin/reports and a learner's sharing only")


class DevToken(BaseModel):
    """A bearer token, the same as `studio-ledger token` prints."""

    token: str
    expires_at: datetime


class DemoPurchaseCreate(_In):
    """A pack to buy with the demo payment flow (embedded default only)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pack_id": "starter"}]})
    pack_id: str = Field(min_length=1, max_length=64)


class DemoPurchaseAccepted(WebhookAccepted):
    """The signed payment message the demo sent through the payments webhook, and the webhook's answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "CreditPackPurchased", "position": 12, "repeated": False, "payment_id": "demo-4f3c2a1b",
        "pack_id": "starter", "credits": 100}]})
    payment_id: str
    pack_id: str
    credits: int = Field(description="credits the pack gives")


class RedemptionPublic(BaseModel):
    """How the platform's wallet balance converts to credits."""

    currency: str
    credits_per_major_unit: int
    minor_per_major: int


class ConfigPublic(BaseModel):
    """What the studio page needs to know about this deployment."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "embedded": True, "checkout_url": "https://learn.example.com/checkout?pack={pack_id}&user={user_id}",
        "embed_origins": ["https://learn.example.com"],
        "redemption": {"currency": "INR", "credits_per_major_unit": 10, "minor_per_major": 100}}]})
    embedded: bool = Field(description="the embedded default: /v1/dev routes (sign in as, demo purchase) answer")
    checkout_url: str | None = Field(description="the platform's checkout page; fill {pack_id} and {user_id} "
                                     "URL-encoded; null when none is configured")
    embed_origins: list[str] = Field(description="parent-frame origins allowed to embed the studio and "
                                     "post it a token")
    redemption: RedemptionPublic


class ProblemPublic(BaseModel):
    """An error, as RFC 9457 problem details; ``type`` is stable, ``detail`` says what to fix."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "urn:studio-ledger:problem:insufficient-credits", "title": "Not enough credits", "status": 402,
        "detail": "wallet alice has 4 credits available, 10 needed", "instance": "/v1/generations",
        "needed": 10, "available": 4}]})
    type: str
    title: str
    status: int
    detail: str
    instance: str


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem statuses a route can answer."""
    text = {400: "Bad request", 401: "Missing, expired or invalid token",
            402: "Not enough credits, or past the learner's daily spend cap",
            403: "Needs the admin role (media: a bad or expired signature; spending: a frozen wallet)",
            404: "Not found",
            409: "Conflict (Idempotency-Key reused, state)", 422: "Invalid input; `field` names it",
            429: "Too many uploads kept: retry after Retry-After",
            503: "Projection not caught up, or the words cannot be checked now: retry after Retry-After"}
    return {s: {"model": ProblemPublic, "description": text[s],
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemPublic"}}}}
            for s in statuses}
