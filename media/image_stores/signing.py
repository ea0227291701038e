"""Signed media URLs for the local store: an HMAC of the path and an expiry, checked by the service."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

EXPIRES = re.compile(r"[0-9]{1,12}")  # ASCII: str.isdigit() also takes '²', which int() then refuses
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")  # URL-safe base64 of 32 bytes, unpadded
EMBEDDED_MEDIA_KEY = "embedded-default-media-signing-key-do-not-use-in-production"


def expiry(now: float, ttl: int) -> int:
    """An expiry at least ``ttl`` seconds after ``now``, rounded up to a multiple of ``ttl``: within one
    such window every URL of an image is the same, so browsers and CDNs can cache it."""
    return (int(now) // ttl + 2) * ttl


def signature(key: str, path: str, expires: int) -> str:
    """The URL-safe HMAC-SHA256 of ``path`` and ``expires`` under ``key``."""
    mac = hmac.new(key.encode(), f"{path}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sign(key: str, path: str, ttl: int, now: float | None = None) -> str:
    """``path`` with ``expires`` and ``signature`` query parameters."""
    expires = expiry(time.time() if now is None else now, ttl)
    return f"{path}?expires={expires}&signature={signature(key, path, expires)}"


def check(key: str, path: str, expires: str | None, given: str | None, now: float | None = None) -> str | None:
    """None when the signature of ``path`` is valid and unexpired, else what is wrong with it."""
    if not expires or not given:
        return "the link is not signed"
    if not EXPIRES.fullmatch(expires):
        return "the link's expiry is not a time"
    if not SIGNATURE.fullmatch(given):  # compare_digest raises on non-ASCII text
        return "the link's signature is not valid"
    if not hmac.compare_digest(signature(key, path, int(expires)), given):
        return "the link's signature is not valid"
    if int(expires) < (time.time() if now is None else now):
        return "the link has expired"
    return None
