"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<raw body>``, with a timestamp against replays.

Header: ``Studio-Signature: t=<unix seconds>,v1=<hex digest>``. A signature older or newer than the
tolerance is refused, so a captured request cannot be replayed later; within the tolerance a
replay is answered from the Idempotency-Key store and the ledger's references, changing nothing.
"""

from __future__ import annotations

import hmac
import re
from typing import NamedTuple

from api.http.problems import Problem
from service.signing import HEADER, sign

__all__ = ["HEADER", "Signed", "check_signature", "parse_header", "sign"]
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class Signed(NamedTuple):
    """A signature header's timestamp and hex digest."""

    timestamp: int
    digest: str


def parse_header(header: str | None, *, now: float, tolerance: int) -> Signed:
    """The timestamp and digest of a signature header that is well formed and within the tolerance: what
    can be checked before the body is read. A 401 problem saying what is wrong otherwise."""
    if not header:
        raise _bad(f"the {HEADER} header is missing")
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    # ASCII only: str.isdigit() and int() also take '²' or '٣', which no signer sends (and '²' breaks int()).
    if not UNIX_SECONDS.fullmatch(timestamp) or not HEX_DIGEST.fullmatch(given):
        raise _bad(f"the {HEADER} header must look like t=<unix seconds>,v1=<hex HMAC-SHA256>")
    if abs(now - int(timestamp)) > tolerance:
        raise _bad(f"the signature's timestamp is more than {tolerance} seconds away from now: a replay is refused")
    return Signed(int(timestamp), given.lower())


def check_signature(secret: str, body: bytes, signed: Signed) -> None:
    """Check a parsed signature against ``body``; a 401 problem when it does not match."""
    expected = sign(secret, body, signed.timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, signed.digest):
        raise _bad("the signature does not match the body")


def _bad(detail: str) -> Problem:
    return Problem(401, "invalid-signature", "Invalid webhook signature", detail)
