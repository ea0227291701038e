"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<raw body>``, with a timestamp against replays.

Header: ``Studio-Signature: t=<unix seconds>,v1=<hex digest>``. A signature older or newer than the
tolerance is refused, so a captured request cannot be replayed later; within the tolerance a
replay is answered from the Idempotency-Key store and the ledger's references, changing nothing.
"""

from __future__ import annotations

import hashlib
import hmac

from api.http.problems import Problem

HEADER = "Studio-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value signing ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, *, now: float, tolerance: int) -> None:
    """Check the signature header against ``body``; a 401 problem saying what is wrong otherwise."""
    if not header:
        raise _bad(f"the {HEADER} header is missing")
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not given:
        raise _bad(f"the {HEADER} header must look like t=<unix seconds>,v1=<hex HMAC-SHA256>")
    if abs(now - int(timestamp)) > tolerance:
        raise _bad(f"the signature's timestamp is more than {tolerance} seconds away from now: a replay is refused")
    expected = sign(secret, body, int(timestamp)).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise _bad("the signature does not match the body")


def _bad(detail: str) -> Problem:
    return Problem(401, "invalid-signature", "Invalid webhook signature", detail)
