"""Hostile values for the boundary campaign: what a careless partner or an attacker sends at an edge.

Every strategy here draws from the inputs that broke edges before, or that break edges in general:
integers past every column and every JSON number's precision, dates from year 1 to 9999 at every
offset, Unicode that looks like ASCII, whitespace and control characters, huge strings and deep JSON.
Messages start from the JSON Schema of the real message models (the one the AsyncAPI and OpenAPI
documents publish), so the campaign also reaches the code behind validation, and then have some of
their fields swapped for hostile values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

EXTREME_INTS = st.sampled_from([
    0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**20, -(10**20), 10**100,
])
INTEGERS = st.one_of(EXTREME_INTS, st.integers())

HOSTILE_TEXT = st.sampled_from([
    "", " ", "\t", "\n", "alice ", " alice", "ali\x00ce", "ali\x1bce", "\u202eecila", "a\u200bb", "\ufeffalice",
    "ａｌｉｃｅ", "ALICE", "al\u0131ce", "e\u0301", "\u00e9", "👩\u200d👩\u200d👧", "नमस्ते", "نستعلیق", "\U0001f6f8",
    "x" * 10_000, "९९", "²", "١٢٣", "NaN", "Infinity", "null", "0x10", "1e309", "-0", "Robert'); DROP TABLE--",
    "../../etc/passwd", "%00", "webhook:payments", "a:b", "{}", "[]",
])
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=64), st.text(alphabet=st.characters(codec="utf-8"), max_size=8))

OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
DATES = st.one_of(
    st.sampled_from(["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
                     "9999-12-31T23:59:59Z", "2035-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2026-13-01T00:00:00Z",
                     "2026-01-01T00:00:00", "2026-01-01", "tomorrow"]),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS).map(
        lambda moment: moment.isoformat()),
    st.integers(min_value=-5 * 3600, max_value=5 * 3600).map(
        lambda seconds: (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, st.floats(allow_nan=False), TEXT, DATES)
JSON: st.SearchStrategy[Any] = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


def hostile_for(name: str) -> st.SearchStrategy[Any]:
    """Values that attack a field called ``name``: numbers for amounts, dates for times, text for the rest."""
    if "amount" in name or "credits" in name or name == "version":
        return st.one_of(INTEGERS, JSON)
    if name.endswith("_at"):
        return st.one_of(DATES, JSON)
    return st.one_of(TEXT, JSON)


def from_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None,
                name: str = "") -> st.SearchStrategy[Any]:
    """Values that a JSON Schema of the kind pydantic writes for our messages accepts (refs, unions,
    consts, bounded strings and integers, date-times, objects); ``hints`` bias some fields towards
    values the ledger takes, so that the campaign reaches it and not only the validation."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    for union in ("oneOf", "anyOf"):
        if union in schema:
            return st.one_of([from_schema(option, defs, name) for option in schema[union]])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", ()))
        fields = {key: from_schema(value, defs, key) for key, value in schema.get("properties", {}).items()}
        return st.fixed_dictionaries({key: value for key, value in fields.items() if key in required},
                                     optional={key: value for key, value in fields.items() if key not in required})
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(2**70) - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 2**70 + 1) - 1)
        return st.one_of(HINTS.get(name, st.nothing()), st.integers(min_value=low, max_value=high))
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1),
                                timezones=OFFSETS).map(lambda moment: moment.isoformat())
        low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
        text = st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else st.text()
        return st.one_of(HINTS.get(name, st.nothing()),
                         text.filter(lambda value: low <= len(value) <= high))
    if kind == "null":
        return st.none()
    return JSON


HINTS: dict[str, st.SearchStrategy[Any]] = {
    "pack_id": st.sampled_from(["starter", "creator", "studio"]),
    "amount_minor": st.sampled_from([900, 4900, 9900, 1000, 5000, 2**31, 2**63 - 1, 10**20]),
    "currency": st.just("INR"),
    "user_id": st.sampled_from(["alice", "bob"]),
    "referrer_user_id": st.sampled_from(["alice", "bob"]),
    "referee_user_id": st.sampled_from(["carol", "dev"]),
}


def hostile_messages(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Messages of a JSON Schema (a ``oneOf`` of message types), with some fields swapped for hostile values."""
    valid = from_schema(schema)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        message = draw(valid)
        if not isinstance(message, dict):
            return {"value": message}
        names = sorted(set(message) | {"occurred_at", "amount_minor", "user_id"})
        for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
            message[name] = draw(hostile_for(name))
        return message

    return build()


def deep_json(depth: int) -> bytes:
    """A JSON document nested ``depth`` arrays deep: a parser that recurses runs out of stack."""
    return b"[" * depth + b"]" * depth
