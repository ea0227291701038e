"""Reports and takedowns: anyone may report a shared image from its page (no sign-in, a bounded number from
each address), and an operator dismisses the reports or takes the image down, which deletes it as its owner's
delete does and counts against the owner, who loses sharing at the policy's limit until an operator restores it.

A reporter is kept as a keyed digest of their address, never the address: enough to count one report per
address and image, nothing that names a person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ledger import Ledger, Outcome
from media.ports import ImageStore
from media.threads import Lane
from service.commands import Run, direct
from service.errors import ReportRefused

MAX_TEXT = 500  # characters of a report's own words, once cleaned
MAX_NOTE = 500  # characters of an operator's note to the owner
SPACE = re.compile(r"\s+")


class ReportCategory(StrEnum):
    """Why an image is reported (the share page's short list); a takedown names one too."""

    HATE = "hate"
    HARASSMENT = "harassment"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    SELF_HARM = "self_harm"
    ILLEGAL = "illegal"
    MISLEADING = "misleading"
    SPAM = "spam"
    OTHER = "other"


def category_of(value: str, *, field: str = "category") -> ReportCategory:
    """The category ``value`` names; ``ReportRefused`` naming the field and the list otherwise."""
    try:
        return ReportCategory(value)
    except ValueError:
        names = ", ".join(c.value for c in ReportCategory)
        raise ReportRefused(field, f"choose one of {names}") from None


def clean_text(value: str, *, field: str, limit: int) -> str:
    """Words typed into a report or a note, as kept: NFC, runs of whitespace as one space, trimmed; refused when
    they hold control or invisible formatting characters (a bidirectional override can make a note read
    otherwise than it is) or are longer than ``limit`` characters."""
    text = unicodedata.normalize("NFC", value)
    for char in text:
        kind = unicodedata.category(char)
        if (kind in ("Cc", "Cs", "Co", "Cn") and not char.isspace()) or kind == "Cf":
            raise ReportRefused(field, f"holds the character U+{ord(char):04X}, which cannot be shown; "
                                       "remove it")
    text = SPACE.sub(" ", text).strip()
    if len(text) > limit:
        raise ReportRefused(field, f"is {len(text)} characters long; at most {limit} are kept")
    return text


def reporter_of(address: str, *, secret: bytes) -> str:
    """The keyed digest a report keeps in place of the reporter's address."""
    return hmac.new(secret, b"report:" + address.encode(), hashlib.sha256).hexdigest()[:32]


def report_image(ledger: Ledger, *, generation_id: UUID, category: str, text: str, reporter: str, at: datetime,
                 max_open: int, run: Run = direct) -> Outcome:
    """Report a shared image; value: how many reports are open on it (a reporter's repeat records nothing)."""
    kind = category_of(category)
    words = clean_text(text, field="text", limit=MAX_TEXT)
    return run("report_image", lambda: ledger.report_generation(
        generation_id=generation_id, category=kind.value, text=words, reporter=reporter, at=at, max_open=max_open))


async def take_down(ledger: Ledger, images: ImageStore, *, generation_id: UUID, category: str, note: str, by: str,
                    at: datetime, suspend_after: int, lane: Lane, run: Run = direct) -> Outcome:
    """Take a reported image down: recorded first (no read shows it after), then deleted from the image store; a
    repeat records nothing and tries the store again."""
    kind = category_of(category)
    words = clean_text(note, field="note", limit=MAX_NOTE)
    outcome = await lane.run(lambda: run("take_down", lambda: ledger.take_down_generation(
        generation_id=generation_id, category=kind.value, note=words, by=by, at=at, suspend_after=suspend_after)))
    if outcome.value:
        await images.delete(str(outcome.value))
    return outcome


def dismiss_reports(ledger: Ledger, *, generation_id: UUID, note: str, by: str, at: datetime,
                    run: Run = direct) -> Outcome:
    """Keep a reported image and close its reports; value: how many were closed."""
    words = clean_text(note, field="note", limit=MAX_NOTE)
    return run("dismiss_reports", lambda: ledger.dismiss_reports(generation_id=generation_id, note=words, by=by,
                                                                 at=at))


def restore_sharing(ledger: Ledger, *, user_id: str, reason: str, by: str, at: datetime,
                    run: Run = direct) -> Outcome:
    """Give a learner who lost sharing to takedowns their sharing back, saying why (a reason is required)."""
    words = clean_text(reason, field="reason", limit=MAX_NOTE)
    if not words:
        raise ReportRefused("reason", "say why sharing is restored")
    return run("restore_sharing", lambda: ledger.restore_sharing(user_id=user_id, by=by, reason=words, at=at))
