"""Settlement reports as files: the three formats read to the same lines, and every hostile file refused whole
with one line naming where it is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.values import MAX_MINOR
from service.settlement_files import MAX_FILE_BYTES, MAX_ROWS, SettlementFileError, read_report
from tests.support.settlements import SAMPLES

pytestmark = pytest.mark.unit
HEADER = "payment_id,amount_minor,currency,settled_at,fee_minor,tax_minor,kind\n"


def generic(*rows: str) -> bytes:
    return (HEADER + "".join(f"{r}\n" for r in rows)).encode()


def refused(data: bytes, fmt: str = "generic") -> str:
    with pytest.raises(SettlementFileError) as caught:
        read_report(data, fmt)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("fmt", ["generic", "razorpay", "stripe"])
def test_the_three_sample_formats_read_to_the_same_payments(fmt: str) -> None:
    report = read_report((SAMPLES / f"{fmt}.csv").read_bytes(), fmt)
    kinds = [(line.kind, line.amount_minor, line.currency) for line in report.lines]
    assert kinds == [("payment", 49900, "INR"), ("payment", 89900, "INR"), ("payment", 49900, "INR"),
                     ("refund", 49900, "INR"), ("payment", 49900, "INR"), ("refund", 49900, "INR"),
                     ("payment", 39900, "INR"), ("payment", 29900, "INR"), ("payment", 49900, "INR")]
    assert report.skipped == (0 if fmt == "generic" else 1)  # a Razorpay adjustment, a Stripe payout
    assert report.lines[0].settled_at == datetime(2026, 3, 3, 6, tzinfo=UTC)
    assert report.lines[7].settled_at == datetime(2026, 3, 5, 6, tzinfo=UTC)  # 11:30 +05:30 in the generic one


def test_a_utf8_bom_and_whitespace_around_cells_and_names_are_read() -> None:
    data = b"\xef\xbb\xbf" + b" Payment_ID , amount_minor,currency,settled_at,fee_minor,tax_minor,KIND\r\n" \
        + "  pay_1\u00a0, 100 ,inr, 2026-03-01T00:00:00Z ,,, Payment \r\n".encode()
    line = read_report(data, "generic").lines[0]
    assert (line.payment_id, line.amount_minor, line.currency, line.fee_minor, line.kind) == (
        "pay_1", 100, "INR", 0, "payment")


@pytest.mark.parametrize(("data", "expected"), [
    ("pay_1,1O0,INR,2026-03-01T00:00:00Z,0,0,payment", "line 2, column amount_minor: '1O0' is not a whole"),
    ("pay_1,-100,INR,2026-03-01T00:00:00Z,0,0,payment", "line 2, column amount_minor: '-100' is not a whole"),
    ("pay_1,1.5,INR,2026-03-01T00:00:00Z,0,0,payment", "line 2, column amount_minor: '1.5' is not a whole"),
    (f"pay_1,{MAX_MINOR + 1},INR,2026-03-01T00:00:00Z,0,0,payment",
     f"line 2, column amount_minor: {MAX_MINOR + 1} minor units is beyond the largest amount"),
    ("pay_1,100,INR,2026-03-01T00:00:00Z,99999999999999999999,0,payment", "line 2, column fee_minor:"),
    ("pay_1,100,RUPEES,2026-03-01T00:00:00Z,0,0,payment", "line 2, column currency: 'RUPEES' is not a three"),
    ("pay_1,100,₹₹₹,2026-03-01T00:00:00Z,0,0,payment", "line 2, column currency:"),
    ("pay_1,100,INR,2026-03-01T00:00:00,0,0,payment", "line 2, column settled_at: '2026-03-01T00:00:00' has no"),
    ("pay_1,100,INR,yesterday,0,0,payment", "line 2, column settled_at: 'yesterday' is not an instant"),
    ("pay_1,100,INR,99999999999999,0,0,payment", "line 2, column settled_at:"),
    ("pay_1,100,INR,1900-01-01T00:00:00Z,0,0,payment", "not between the years 2000 and 2100"),
    ("pay_1,100,INR,2026-03-01T00:00:00Z,0,0,chargeback", "line 2, column kind: 'chargeback' is neither"),
    ("pay 1,100,INR,2026-03-01T00:00:00Z,0,0,payment", "line 2, column payment_id: id 'pay 1' has spaces"),
    ("pay_\u0661,100,INR,2026-03-01T00:00:00Z,0,0,payment", "line 2, column payment_id: id"),
    ("pay_\u200b1,100,INR,2026-03-01T00:00:00Z,0,0,payment", "outside printable ASCII"),
    ("p" * 201 + ",100,INR,2026-03-01T00:00:00Z,0,0,payment", "id of 201 characters, at most 200"),
    ("pay_1,100,INR,2026-03-01T00:00:00Z,0,0", "line 2: 6 cells where the header has 7"),
    ('pay_1,"100,INR,2026-03-01T00:00:00Z,0,0,payment', "line 2: not valid CSV"),
])
def test_a_bad_cell_is_refused_naming_its_line_and_column(data: str, expected: str) -> None:
    assert expected in refused(generic("pay_0,1,INR,2026-03-01T00:00:00Z,0,0,payment", data).replace(
        b"pay_0,1,INR,2026-03-01T00:00:00Z,0,0,payment\n", b"", 1))


def test_the_line_named_is_the_files_line_blank_lines_included() -> None:
    message = refused(generic("pay_1,100,INR,2026-03-01T00:00:00Z,0,0,payment", "", "pay_2,x,INR,,0,0,payment"))
    assert message.startswith("line 4, column amount_minor:")


@pytest.mark.parametrize(("fmt", "header", "missing"), [
    ("generic", "payment_id,amount,currency,settled_at,fee_minor,tax_minor,kind", "amount_minor"),
    ("razorpay", "entity_id,type,amount,currency,fee,tax,payment_id", "settled_at"),
    ("stripe", "balance_transaction_id,created_utc,currency,net,fee,reporting_category", "gross"),
])
def test_a_missing_column_is_named_with_the_format(fmt: str, header: str, missing: str) -> None:
    assert refused(f"{header}\n".encode(), fmt).startswith(f"line 1: missing column {missing} for a {fmt} report")


def test_a_column_named_twice_an_empty_file_and_an_unknown_format_are_refused() -> None:
    assert "column kind appears twice" in refused((HEADER.rstrip() + ",kind\n").encode())
    assert refused(b"") == "line 1: the file is empty: a header line comes first"
    assert refused(b"\xef\xbb\xbf\n\n") == "line 1: the file is empty: a header line comes first"
    assert "unknown format 'paypal'" in refused(HEADER.encode(), "paypal")


def test_text_in_another_encoding_is_refused_naming_the_line() -> None:
    latin1 = generic("pay_1,100,INR,2026-03-01T00:00:00Z,0,0,payment") + "pay_é,1,INR,x,0,0,payment\n".encode("latin-1")
    assert refused(latin1).startswith("line 3, character 5: byte 0xe9 is not UTF-8")
    assert "UTF-16" in refused(HEADER.encode("utf-16"))
    assert "NUL character" in refused(generic("pay_1,100,INR,2026-03-01T00:00:00Z,0,0,pay\x00ment"))


def test_a_huge_file_is_refused_by_its_size_and_by_its_rows() -> None:
    assert f"more than {MAX_FILE_BYTES}" in refused(b"x" * (MAX_FILE_BYTES + 1))
    row = "pay_{},1,INR,2026-03-01T00:00:00Z,0,0,payment"
    assert refused(generic(*(row.format(i) for i in range(MAX_ROWS + 1)))) == (
        f"line {MAX_ROWS + 2}: more than {MAX_ROWS} rows: split the report")
    assert "a cell of 1001 characters" in refused(generic("pay_1,100,INR,2026-03-01T00:00:00Z,0,0," + "x" * 1001))


def test_stripe_amounts_follow_the_currency_s_decimals_and_sign() -> None:
    header = "balance_transaction_id,created_utc,currency,gross,fee,reporting_category,payment_intent_id\n"
    ok = read_report((header + "t1,2026-03-01 00:00:00,jpy,500,15,charge,pi_1\n"
                      "t2,2026-03-01 00:00:00,usd,-0.5,0,refund,pi_1\n").encode(), "stripe")
    assert [(line.amount_minor, line.currency, line.kind) for line in ok.lines] == [
        (500, "JPY", "payment"), (50, "USD", "refund")]
    assert "'5.5' is not an amount in JPY" in refused((header + "t1,2026-03-01,jpy,5.5,0,charge,pi_1\n").encode(),
                                                       "stripe")
    assert "'1.234' is not an amount in USD" in refused(
        (header + "t1,2026-03-01,usd,1.234,0,charge,pi_1\n").encode(), "stripe")
    assert "line 2, column gross: a refund of 5.00 has the wrong sign" in refused(
        (header + "t1,2026-03-01,usd,5.00,0,refund,pi_1\n").encode(), "stripe")


def test_a_razorpay_refund_is_matched_by_the_payment_it_refunds() -> None:
    data = (b"entity_id,type,amount,currency,fee,tax,settled_at,payment_id\n"
            b"rfnd_1,refund,100,INR,0,0,1772517600,pay_9\n"
            b"rfnd_2,refund,100,INR,0,0,1772517600,\n")
    assert refused(data, "razorpay") == "line 3, column payment_id: is empty"
