"""Reading a payment provider's settlement report: the documented generic CSV, Razorpay's settlement reconciliation
report and Stripe's itemized balance-transaction export, each to the same ``SettlementLine``s.

A file is refused whole, with one line naming where (``line 7, column amount_minor: ...``), when it is not UTF-8
text, is too large or too long, lacks a column the format needs, or has a cell that is not what its column holds
(an amount that is not a whole number of minor units or is beyond ``ledger.values.MAX_MINOR``, an id with spaces
or characters outside printable ASCII, an instant without a time zone). The columns each format reads are listed
in ``docs/finance.md``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ledger.values import MAX_MINOR
from service.errors import ServiceError

FORMATS = ("generic", "razorpay", "stripe")
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 20_000
MAX_CELL = 1_000
MAX_ID = 200
# Stripe writes amounts in major units; these currencies have no minor unit (Stripe's zero-decimal list).
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
REQUIRED = {
    "generic": ("payment_id", "amount_minor", "currency", "settled_at", "fee_minor", "tax_minor", "kind"),
    "razorpay": ("entity_id", "type", "amount", "currency", "fee", "tax", "settled_at", "payment_id"),
    "stripe": ("balance_transaction_id", "created_utc", "currency", "gross", "fee", "reporting_category"),
}
Kind = Literal["payment", "refund"]
_WHOLE = re.compile(r"[0-9]{1,19}")
_DECIMAL = re.compile(r"(-?)([0-9]{1,19})(?:\.([0-9]{1,4}))?")
_ID = re.compile(r"[!-~]+")  # printable ASCII, no spaces


class SettlementFileError(ServiceError, ValueError):
    """A settlement report that cannot be read; the message names the line and column."""

    code = "invalid-settlement-file"


@dataclass(frozen=True)
class SettlementLine:
    """One payment or refund the provider settled (amounts in minor units, the refund's as a positive amount)."""

    line: int  # the file's line number, the header being line 1
    payment_id: str  # "" when the line names none: matched by amount, currency and time
    kind: Kind
    amount_minor: int
    currency: str
    settled_at: datetime
    fee_minor: int
    tax_minor: int


@dataclass(frozen=True)
class Report:
    """A report's lines, and how many of its rows were of kinds reconciliation does not look at (payouts...)."""

    lines: list[SettlementLine]
    skipped: int


class Row:
    """One data row's cells by column, naming its line in every error."""

    def __init__(self, number: int, cells: dict[str, str]) -> None:
        self.number = number
        self.cells = cells

    def fail(self, column: str, problem: str) -> SettlementFileError:
        """The error of this row's ``column``."""
        return SettlementFileError(f"line {self.number}, column {column}: {problem}")

    def text(self, column: str) -> str:
        """The cell, stripped of surrounding whitespace ("" when the file lacks the column)."""
        return self.cells.get(column, "").strip()

    def ident(self, column: str, *, required: bool) -> str:
        """An id: printable ASCII without spaces, at most 200 characters ("" allowed unless ``required``)."""
        value = self.text(column)
        if not value:
            if required:
                raise self.fail(column, "is empty")
            return ""
        if len(value) > MAX_ID:
            raise self.fail(column, f"id of {len(value)} characters, at most {MAX_ID}")
        if not _ID.fullmatch(value):
            raise self.fail(column, f"id {value[:40]!r} has spaces or characters outside printable ASCII")
        return value

    def minor(self, column: str, *, empty_zero: bool = False) -> int:
        """A whole, non-negative number of minor units, at most ``MAX_MINOR``."""
        value = self.text(column)
        if not value and empty_zero:
            return 0
        if not _WHOLE.fullmatch(value):
            raise self.fail(column, f"{value[:40]!r} is not a whole non-negative number of minor units")
        return self.bounded(column, int(value))

    def decimal(self, column: str, currency: str) -> int:
        """An amount in major units ("12.34", "-5.00") as signed minor units of ``currency``."""
        value = self.text(column)
        found = _DECIMAL.fullmatch(value)
        places = 0 if currency in ZERO_DECIMAL else 2
        if found is None or len(found.group(3) or "") > places:
            raise self.fail(column, f"{value[:40]!r} is not an amount in {currency} (at most {places} decimals)")
        sign, whole, fraction = found.groups()
        minor = int(whole) * 10 ** places + int((fraction or "").ljust(places, "0") or 0)
        return -self.bounded(column, minor) if sign else self.bounded(column, minor)

    def bounded(self, column: str, minor: int) -> int:
        """``minor`` when within the ledger's bound for one amount."""
        if minor > MAX_MINOR:
            raise self.fail(column, f"{minor} minor units is beyond the largest amount the ledger holds ({MAX_MINOR})")
        return minor

    def currency(self, column: str) -> str:
        """A three-letter ISO currency code, upper-cased."""
        value = self.text(column).upper()
        if len(value) != 3 or not value.isascii() or not value.isalpha():
            raise self.fail(column, f"{value[:40]!r} is not a three-letter currency code")
        return value

    def instant(self, column: str, *, naive_utc: bool = False) -> datetime:
        """An instant: ISO 8601 with a time zone, or Unix seconds; ``naive_utc``: one without a zone is UTC."""
        value = self.text(column)
        try:
            at = (datetime.fromtimestamp(int(value), UTC) if _WHOLE.fullmatch(value)
                  else datetime.fromisoformat(value.replace(" ", "T", 1)))
        except (ValueError, OverflowError, OSError):
            raise self.fail(column, f"{value[:40]!r} is not an instant (ISO 8601 or Unix seconds)") from None
        if at.tzinfo is None:
            if not naive_utc:
                raise self.fail(column, f"{value[:40]!r} has no time zone (add Z or +05:30)")
            at = at.replace(tzinfo=UTC)
        if not 2000 <= at.year <= 2100:
            raise self.fail(column, f"{value[:40]!r} is not between the years 2000 and 2100")
        return at.astimezone(UTC)


def read_report(data: bytes, file_format: str) -> Report:
    """The settlement lines of a report in ``file_format``; ``SettlementFileError`` naming where it is wrong."""
    if file_format not in FORMATS:
        raise SettlementFileError(f"unknown format {file_format!r}: use one of {', '.join(FORMATS)}")
    parse = {"generic": _generic, "razorpay": _razorpay, "stripe": _stripe}[file_format]
    lines: list[SettlementLine] = []
    skipped = 0
    for row in _rows(data, file_format):
        found = parse(row)
        if found is None:
            skipped += 1
        else:
            lines.append(found)
    return Report(lines, skipped)


def _text(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise SettlementFileError(f"the file is {len(data)} bytes, more than {MAX_FILE_BYTES}: split the report")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SettlementFileError("line 1: the file is UTF-16 text: save it as UTF-8 (CSV UTF-8)")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise SettlementFileError(f"line {line}, character {column}: byte 0x{data[error.start]:02x} is not UTF-8: "
                                  "save the report as UTF-8 (CSV UTF-8)") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SettlementFileError(f"line {line}: a NUL character: this is not a CSV text file")
    return text


def _rows(data: bytes, file_format: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(_text(data), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise SettlementFileError("line 1: the file is empty: a header line comes first")
        names = [h.strip().lower() for h in header]
        repeated = sorted({n for n in names if names.count(n) > 1 and n})
        if repeated:
            raise SettlementFileError(f"line 1: column {repeated[0]} appears twice in the header")
        missing = [c for c in REQUIRED[file_format] if c not in names]
        if missing:
            raise SettlementFileError(f"line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                      f"for a {file_format} report (found: {', '.join(n for n in names if n)[:200]})")
        rows = 0
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            rows += 1
            if rows > MAX_ROWS:
                raise SettlementFileError(f"line {number}: more than {MAX_ROWS} rows: split the report")
            if len(cells) != len(names):
                raise SettlementFileError(f"line {number}: {len(cells)} cells where the header has {len(names)}")
            for name, cell in zip(names, cells, strict=True):
                if len(cell) > MAX_CELL:
                    raise SettlementFileError(f"line {number}, column {name}: a cell of {len(cell)} characters, "
                                              f"at most {MAX_CELL}")
            yield Row(number, dict(zip(names, cells, strict=True)))
    except csv.Error as error:
        raise SettlementFileError(f"line {reader.line_num}: not valid CSV ({error})") from None


def _generic(row: Row) -> SettlementLine:
    kind = row.text("kind").lower()
    if kind not in ("payment", "refund"):
        raise row.fail("kind", f"{kind[:40]!r} is neither payment nor refund")
    return SettlementLine(row.number, row.ident("payment_id", required=False), kind,  # type: ignore[arg-type]
                          row.minor("amount_minor"), row.currency("currency"), row.instant("settled_at"),
                          row.minor("fee_minor", empty_zero=True), row.minor("tax_minor", empty_zero=True))


def _razorpay(row: Row) -> SettlementLine | None:
    # A payment's own id is its entity_id (pay_...); a refund's entity_id is the refund (rfnd_...) and its
    # payment_id names the payment refunded. Adjustments, transfers and the like are not payments.
    kind = row.text("type").lower()
    if kind not in ("payment", "refund"):
        return None
    payment_id = row.ident("entity_id" if kind == "payment" else "payment_id", required=True)
    return SettlementLine(row.number, payment_id, kind,  # type: ignore[arg-type]
                          row.minor("amount"), row.currency("currency"), row.instant("settled_at"),
                          row.minor("fee", empty_zero=True), row.minor("tax", empty_zero=True))


def _stripe(row: Row) -> SettlementLine | None:
    # Amounts in major units, signed (a refund's gross is negative); the payment is the payment intent, else
    # the charge, else the balance transaction's source; settled when its funds became available (else when
    # created). Stripe's fee includes its tax: tax is 0 here.
    category = row.text("reporting_category").lower()
    kinds: dict[str, Kind] = {"charge": "payment", "refund": "refund"}
    if category not in kinds:
        return None
    column = next((c for c in ("payment_intent_id", "charge_id", "source_id") if row.text(c)), "payment_intent_id")
    currency = row.currency("currency")
    gross = row.decimal("gross", currency)
    kind = kinds[category]
    if (gross < 0) != (kind == "refund"):
        raise row.fail("gross", f"a {category} of {row.text('gross')[:40]} has the wrong sign")
    fee = row.decimal("fee", currency)
    when = "available_on_utc" if row.text("available_on_utc") else "created_utc"  # settled: funds available
    return SettlementLine(row.number, row.ident(column, required=True), kind, abs(gross), currency,
                          row.instant(when, naive_utc=True), fee, 0)


