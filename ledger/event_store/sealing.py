"""Personal data in events, sealed under a key of its learner's own, kept outside the events (crypto-shredding).

The learner's words in a ``GenerationRequested`` (each value of ``variables``) and the photo it names
(``input_image``: an upload reference or a URL) are stored as ``{"sealed": <base64 AES-GCM>}``; destroying the
learner's key makes them unreadable for ever, and they read as ``ERASED``, while every money fact (user id, wallet,
hold, cost) stays in the clear for the audit. User ids stay clear: they are the platform's opaque ids, the key of
every money fact and of the key itself; erasing a learner does not make their wallet's history unreadable.

Stored events tell plaintext from ciphertext by shape: a value that is a string (or None) was written before
sealing, or by a ledger without keys, and reads as it is; only a ``{"sealed": ...}`` object is opened. The stored
bytes, sealed values included, are what the audit's hashes cover, so erasure changes no stored byte.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

ERASED = "[erased]"  # what a sealed value reads as once its learner's key is destroyed
SEALED = {"ledger.generation:Generation.GenerationRequested": ("variables", "input_image")}
OWNER = "user_id"  # the field naming whose key seals an event


class LearnerKeys(Protocol):
    """Where each learner's key is kept, outside the events (the port; adapters in ``service.keys``)."""

    def key(self, owner: str, *, create: bool) -> bytes | None:
        """``owner``'s key (made when ``create`` and there is none yet); None once destroyed or never made."""

    def destroy(self, owner: str) -> bool:
        """Destroy ``owner``'s key for good; whether there was one."""


class SealingMapper(Mapper[Any]):
    """The library's mapper, sealing the personal fields of the events that carry them on the way to the store
    and opening them on the way back (through ``Mapper``'s public methods only)."""

    def __init__(self, mapper: Mapper[Any], keys: LearnerKeys) -> None:
        super().__init__(transcoder=mapper.transcoder, compressor=mapper.compressor, cipher=mapper.cipher)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        """The stored event, its personal fields sealed under the learner's key."""
        fields = SEALED.get(get_topic(type(domain_event)))
        if not fields:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        key = self.keys.key(str(state[OWNER]), create=True)
        assert key is not None, "a learner's key is made on their first request"
        for name in fields:
            state[name] = seal_value(state[name], key)
        sealed = object.__new__(type(domain_event))
        object.__setattr__(sealed, "__dict__", state)
        return super().to_stored_event(sealed)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        """The domain event, its sealed fields opened (``ERASED`` where the learner's key is gone)."""
        event = super().to_domain_event(stored_event)
        open_state(stored_event.topic, vars(event), self.keys)
        return event


def open_state(topic: str, state: dict[str, Any], keys: LearnerKeys) -> dict[str, Any]:
    """Open, in place, the sealed fields of the state of an event of ``topic`` (plaintext needs no key)."""
    fields = SEALED.get(topic)
    if fields and any(has_sealed(state.get(name)) for name in fields):
        key = keys.key(str(state[OWNER]), create=False)
        for name in fields:
            state[name] = open_value(state[name], key)
    return state


def is_sealed(value: object) -> bool:
    """Whether ``value`` is a sealed value (as stored), not plaintext."""
    return isinstance(value, dict) and set(value) == {"sealed"} and isinstance(value["sealed"], str)


def has_sealed(value: object) -> bool:
    """Whether ``value`` is or holds a sealed value."""
    return is_sealed(value) or (isinstance(value, dict) and any(has_sealed(v) for v in value.values()))


def seal_value(value: Any, key: bytes) -> Any:
    """``value`` as stored: None stays None; a string is sealed; a dict has each of its values sealed."""
    if value is None or is_sealed(value):
        return value
    if isinstance(value, dict):
        return {name: seal_value(item, key) for name, item in value.items()}
    return {"sealed": base64.b64encode(_cipher(key).encrypt(str(value).encode())).decode()}


def open_value(value: Any, key: bytes | None) -> Any:
    """``value`` as read: plaintext as it is, sealed values opened, ``ERASED`` without a key."""
    if is_sealed(value):
        if key is None:
            return ERASED
        try:
            return _cipher(key).decrypt(base64.b64decode(value["sealed"])).decode()
        except ValueError:  # sealed under a key destroyed since (the learner came back and has a new one)
            return ERASED
    if isinstance(value, dict):
        return {name: open_value(item, key) for name, item in value.items()}
    return value


def _cipher(key: bytes) -> Any:
    # Imported when first used: importing the ledger loads no cryptography library.
    from eventsourcing.cryptography import AESCipher
    from eventsourcing.utils import Environment

    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: base64.b64encode(key).decode()}))
