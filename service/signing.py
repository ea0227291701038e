"""The one HMAC signature of our signed HTTP: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

The payments webhook checks it on what the platform sends us (``api/http/signatures.py``); the platform
wallet adapter and the alert webhooks put it on what we send."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Studio-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value signing ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
