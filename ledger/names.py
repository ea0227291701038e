"""Names that come from outside: the one rule for a user id, and the unambiguous encoding that ids
and scopes derived from several names are made of.

A user id is the same text at every edge (a token's ``sub``, the webhook, Kafka, the command line,
the admin routes) and names exactly one wallet, so two ids that look alike must be the same id, and
one that only differs by what cannot be seen is refused rather than made a second wallet.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.errors import InvalidUserId

USER_ID_MAX = 128

# Characters that do not show, or that change how the text around them shows: two ids differing
# only by one of them would look the same in every list, statement and log line.
REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned character",
}

# Default-ignorable characters outside those categories: fillers and variation selectors that draw
# nothing (Unicode's DerivedCoreProperties, Default_Ignorable_Code_Point).
INVISIBLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF),
)


def _refused(char: str) -> str | None:
    """What ``char`` is, when a user id may not hold it."""
    category = unicodedata.category(char)
    if category in REFUSED_CATEGORIES:
        return REFUSED_CATEGORIES[category]
    if category == "Zs" and char != " ":
        return "a space other than U+0020"
    if any(low <= ord(char) <= high for low, high in INVISIBLE):
        return "an invisible character"
    return None


def check_user_id(value: object, *, field: str = "user_id") -> str:
    """``value`` if it is a user id, else ``InvalidUserId`` naming ``field`` and what is wrong: 1 to 128
    characters, no whitespace at either end, no space but U+0020, nothing invisible, in Unicode NFC."""
    if not isinstance(value, str):
        raise InvalidUserId(f"{field} must be a string, got {type(value).__name__}")
    if not 1 <= len(value) <= USER_ID_MAX:
        raise InvalidUserId(f"{field} must be 1 to {USER_ID_MAX} characters, got {len(value)}")
    if value != value.strip():
        raise InvalidUserId(f"{field} must not begin or end with whitespace")
    for position, char in enumerate(value, start=1):
        what = _refused(char)
        if what:
            raise InvalidUserId(f"{field} must not contain {what} (U+{ord(char):04X} at character {position})")
    if not unicodedata.is_normalized("NFC", value):
        raise InvalidUserId(f"{field} must be in Unicode normal form C (NFC): send its composed form, "
                            f"{unicodedata.normalize('NFC', value)!r}")
    return value


def encode(*parts: str) -> str:
    """``parts`` as one text that gives them back: each one's length, a colon, then the part itself."""
    # Length-prefixed, so no part can end early or run into the next whatever characters it holds:
    # ("a", "b:c") and ("a:b", "c") are 1:a3:b:c and 3:a:b1:c.
    return "".join(f"{len(part)}:{part}" for part in parts)


class IdKind(StrEnum):
    """What a derived id names: each kind has a namespace of its own, so two kinds never share an id."""

    GENERATION = "generation"
    GRANT = "grant"
    RECHARGE = "recharge"
    TOPUP = "topup"
    STANDING = "standing"
    ERASURE = "erasure"
    RECONCILIATION = "reconciliation"


def derived_id(kind: IdKind, *parts: str) -> UUID:
    """The deterministic id of ``parts`` as a ``kind``: uuid5 of their encoding in the kind's namespace."""
    return uuid5(_NAMESPACES[kind], encode(*parts))


_NAMESPACES = {kind: uuid5(NAMESPACE_URL, f"https://studio-ledger/ids/{kind.value}") for kind in IdKind}
