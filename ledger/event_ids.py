"""Event ids: the deterministic id of a stored event, the same on every publication so consumers can deduplicate.

The relay puts it in every envelope it publishes; the in-process pipeline gives its requests the same id.
"""

from __future__ import annotations

import hashlib
from uuid import NAMESPACE_URL, UUID, uuid5

EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://studio-ledger/events")
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes


def event_id(originator_id: UUID, version: int) -> UUID:
    """The id of the event ``version`` of aggregate ``originator_id``: uuid5 of both."""
    return uuid5(EVENT_NAMESPACE, f"{originator_id}:{version}")


def event_id_text(aggregate_id: str, version: int) -> str:
    """``str(event_id(...))`` without building UUID objects: the relay computes one per event it publishes."""
    name = _NAMESPACE_BYTES + f"{aggregate_id}:{version}".encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])  # uuid5 is SHA-1 by definition
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
