"""Reconciling settlement reports against the ledger, on every store: each sample report (generic, Razorpay,
Stripe) comes to the expected counts, the same file is one run however often imported, the run is in the audit's
journal and verified, and a paid-but-no-credits line is resolved through the purchase command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from ledger import Ledger, Money
from ledger.errors import InvalidTransition
from ledger.reconciliation import Reconciliation
from projections import Projector, all_projections, reconciliations
from projections.alerts import alerts_of, wallet_alerts
from projections.audit.replay import replay
from projections.audit.reports import JournalWindow
from service.policy import Pack, Policy, load_policy
from service.reconciliation import Imported, ResolveRefused, import_report, resolve_line
from tests.support.settlements import EXPECTED, PREFIX, RULES, SAMPLES, a_week_of_payments, at

pytestmark = pytest.mark.integration


@pytest.fixture
def projector(app: Ledger, read_engine: Engine) -> Iterator[Projector]:
    found = Projector(app, read_engine, all_projections())
    found.setup()
    yield found


def reconcile(app: Ledger, projector: Projector, fmt: str, data: bytes | None = None) -> Imported:
    projector.catch_up()
    data = data if data is not None else (SAMPLES / f"{fmt}.csv").read_bytes()
    imported = import_report(app, projector.engine.connect, data=data, file_name=f"{fmt}.csv", file_format=fmt,
                             by="finance@studio", at=at("07T09:00"), rules=RULES)
    projector.catch_up()
    return imported


@pytest.mark.parametrize("fmt", ["generic", "razorpay", "stripe"])
def test_each_sample_report_reconciles_to_the_expected_counts(app: Ledger, projector: Projector, fmt: str) -> None:
    a_week_of_payments(app, PREFIX[fmt])
    run = reconcile(app, projector, fmt).run
    assert run.counts == EXPECTED
    by_outcome = {(line["outcome"], line["payment_id"]) for line in run.lines}
    p = PREFIX[fmt]
    assert {("amount_mismatch", f"{p}B1002"), ("paid_no_credits", f"{p}X9999"), ("duplicate", f"{p}A1001"),
            ("refund_mismatch", f"{p}D1004"), ("matched", f"{p}G1007")} <= by_outcome
    unsettled = {line["payment_id"]: line["overdue"] for line in run.lines if line["outcome"] == "credits_not_settled"}
    assert unsettled == {f"{p}E1005": True, f"{p}F1006": False}
    fees = {"generic": 6188, "razorpay": 6188, "stripe": 7304}[fmt]
    assert run.totals["INR"]["fee"] == fees  # the duplicate line is not counted twice


def test_the_same_file_is_one_run_however_often_imported(app: Ledger, projector: Projector) -> None:
    a_week_of_payments(app, "pay_")
    first = reconcile(app, projector, "generic")
    again = reconcile(app, projector, "generic")
    assert (again.run_id, again.repeated, again.position) == (first.run_id, True, first.position)
    with projector.engine.connect() as conn:
        assert [r["run_id"] for r in reconciliations.runs(conn, limit=10)] == [first.run_id]
        rows = reconciliations.lines(conn, first.run_id, outcomes=["paid_no_credits"])
    assert [(r["line"], r["payment_id"]) for r in rows] == [(9, "pay_X9999")]


def test_an_overdue_unsettled_purchase_is_one_alert_for_finance_not_the_learner(app: Ledger,
                                                                               projector: Projector) -> None:
    a_week_of_payments(app, "pay_")
    reconcile(app, projector, "generic")
    reconcile(app, projector, "razorpay")  # a second run that finds the same payment unsettled
    with projector.engine.connect() as conn:
        told = conn.execute(wallet_alerts.select().where(wallet_alerts.c.kind == "reconciliation")).mappings().all()
        assert [(a["user_id"], a["details"]["payment_id"]) for a in told] == [("ravi", "pay_E1005")]
        assert all(a["kind"] != "reconciliation" for a in alerts_of(conn, "ravi", before=None, limit=50))


def test_a_paid_line_without_credits_is_resolved_by_the_purchase_command(app: Ledger, projector: Projector) -> None:
    a_week_of_payments(app, "pay_")
    imported = reconcile(app, projector, "generic")
    index = next(i for i, line in enumerate(imported.run.lines) if line["outcome"] == "paid_no_credits")
    policy = load_policy().model_copy(update={"packs": [Pack(id="p299", title="Pack", credits=30, price_minor=29900,
                                                              currency="INR")]})
    with pytest.raises(ResolveRefused, match="costs"):
        resolve_line(app, _priced(policy, 19900), run_id=imported.run_id, index=index, user_id="nik",
                     pack_id="p299", by="finance@studio", at=at("07T10:00"))
    with pytest.raises(ResolveRefused, match="only a paid_no_credits line"):
        resolve_line(app, policy, run_id=imported.run_id, index=0, user_id="nik", pack_id="p299",
                     by="finance@studio", at=at("07T10:00"))
    resolved = resolve_line(app, policy, run_id=imported.run_id, index=index, user_id="nik", pack_id="p299",
                            by="finance@studio", at=at("07T10:00"))
    again = resolve_line(app, policy, run_id=imported.run_id, index=index, user_id="nik", pack_id="p299",
                         by="finance@studio", at=at("07T11:00"))
    assert again.repeated and again.position == resolved.position
    wallet = app.wallet("nik")
    assert wallet is not None and wallet.available(at("07T12:00")) == 30
    run = app.load(imported.run_id)
    assert isinstance(run, Reconciliation) and run.lines[index]["outcome"] == "paid_no_credits"  # never edited
    assert run.resolved == {index: "finance@studio"}
    with pytest.raises(InvalidTransition):
        run.resolve(index=0, user_id="nik", pack_id="p299", by="x", at=at("08T00:00"))
    projector.catch_up()
    with projector.engine.connect() as conn:
        line = reconciliations.lines(conn, imported.run_id, outcomes=["paid_no_credits"])[0]
        assert line["resolved_by"] == "finance@studio"
        assert reconciliations.run(conn, imported.run_id)["resolved"] == 1  # type: ignore[index]


def _priced(policy: Policy, minor: int) -> Policy:
    pack = Pack(id="p299", title="Pack", credits=30, price_minor=minor, currency="INR")
    return policy.model_copy(update={"packs": [pack]})


def test_a_run_is_in_the_journal_and_verified_by_the_audit(app: Ledger, projector: Projector) -> None:
    a_week_of_payments(app, "pay_")
    imported = reconcile(app, projector, "generic")
    entries: list[dict[str, object]] = []
    window = JournalWindow(None, None, entries.append)
    folded = replay(app, on_entry=window, on_template=window.template, on_trust=window.trust)
    assert folded.findings == []
    mine = [e for e in entries if e["event"] == "ReconciliationRecorded"]
    assert len(mine) == 1
    memo = mine[0]["lines"][0]["memo"]  # type: ignore[index]
    assert "generic.csv" in memo and "finance@studio" in memo and "5 matched" in memo
    assert mine[0]["lines"][0]["account"] == f"reconciliation:{imported.run_id}"  # type: ignore[index]


def test_a_resolution_without_its_purchase_is_an_audit_finding(app: Ledger, projector: Projector) -> None:
    a_week_of_payments(app, "pay_")
    imported = reconcile(app, projector, "generic")
    index = next(i for i, line in enumerate(imported.run.lines) if line["outcome"] == "paid_no_credits")
    # Noting the resolution alone, as no operator can (the service credits the payment first): the audit sees it.
    app.resolve_reconciliation_line(run_id=imported.run_id, index=index, user_id="nik", pack_id="p299", by="x",
                                    at=at("07T10:00"))
    problems = [f.problem for f in replay(app).findings]
    assert problems == [f"reconciliation {imported.run_id}: line {index} was resolved but no purchase credited "
                        "payment pay_X9999"]
    app.purchase(user_id="nik", payment_id="pay_X9999", pack_id="p299", amount=30, price=Money(29900, "INR"),
                 at=at("07T10:00") + timedelta(minutes=1))
    assert replay(app).findings == []
