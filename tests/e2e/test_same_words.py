"""Words that mean the same everywhere: statement lines say what happened, the CLI's wallet uses the
API's words, every template variable has a label."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from ledger import Money
from media.templates import load_catalog
from service.container import Service
from service.messages import REFERRAL_MESSAGES
from service.referrals import apply_referral
from tests.support.http import bearer, client_for, finish, key, purchase, service_for, signed

pytestmark = pytest.mark.e2e
ALICE = bearer("alice")
ADMIN = bearer("root", "admin")
BOOTCAMP = {"template_id": "poster-webinar", "variables": {"topic": "Data Science Bootcamp", "time": "Friday 6 pm"}}


def refer(service: Service, referral_id: str, referrer: str, referee: str) -> int:
    """Apply a referral from the affiliate system; its ledger position."""
    message = REFERRAL_MESSAGES.validate_python({"type": "ReferralConverted", "referral_id": referral_id,
                                                 "referrer_user_id": referrer, "referee_user_id": referee,
                                                 "occurred_at": datetime.now(UTC).isoformat()})
    return apply_referral(service.ledger, service.policy, message, at=service.clock()).position


def statement(client: TestClient, headers: dict[str, str], position: int) -> list[dict[str, Any]]:
    """The caller's statement lines, oldest first, once the projections reached ``position``."""
    page = client.get(f"/v1/wallet/statement?min_position={position}", headers=headers)
    assert page.status_code == 200, page.text
    return list(reversed(page.json()["items"]))


def test_statement_lines_say_what_each_change_was(tmp_path: Path) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False)
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        refer(service, "ref-1", "alice", "bob")
        promo = client.post("/v1/admin/wallets/alice/grants", headers={**ADMIN, **key()},
                            json={"amount": 20, "reason": "launch week"})
        accepted = client.post("/v1/generations", json=BOOTCAMP, headers={**ALICE, **key()}).json()
        statement(client, ALICE, accepted["position"])  # the request is projected before its completion comes
        done = finish(service, accepted["generation_id"])
        shared = client.post(f"/v1/generations/{accepted['generation_id']}/share", headers={**ALICE, **key()})
        assert shared.status_code == 200, shared.text
        lines = statement(client, ALICE, max(done, shared.json()["position"], promo.json()["position"]))
        bob = statement(client, bearer("bob"), 0)
    described = [(line["type"], line["description"]) for line in lines]
    assert described == [
        ("WalletOpened", "Wallet opened"),
        ("CreditsPurchased", "Bought the starter pack for INR 9.00"),
        ("ReferralBonusGranted", "Referral bonus for inviting bob"),
        ("PromoCreditsGranted", "Promotional credits: launch week"),
        ("HoldPlaced", "Webinar poster: Data Science Bootcamp"),
        ("HoldCaptured", "Webinar poster: Data Science Bootcamp (charged)"),
        ("ShareBonusGranted", "Share bonus for Webinar poster: Data Science Bootcamp"),
    ]
    assert [line["description"] for line in bob] == ["Wallet opened",
                                                     "Referral bonus for joining on alice's invitation"]
    assert all(len(line["reference"]) < 80 for line in lines)
    # The lines about the generation name it (template and text), for a client saying them in its language.
    about = {line["type"]: line["generation"] for line in lines}
    named = {"generation_id": accepted["generation_id"], "template_id": "poster-webinar", "template_version": 1,
             "template_titles": {"en": "Webinar poster", "hi": "वेबिनार पोस्टर"}, "text": "Data Science Bootcamp",
             "image_deleted": False}
    assert about["HoldPlaced"] == about["HoldCaptured"] == about["ShareBonusGranted"] == named
    assert about["CreditsPurchased"] is None and about["PromoCreditsGranted"] is None


def test_the_cli_wallet_counts_purchased_and_granted_credits_as_the_api_does(tmp_path: Path) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False)
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        assert client.post("/v1/webhooks/payments", content=body, headers=headers).status_code == 200
        position = refer(service, "ref-2", "alice", "cy")
        api_wallet = client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()
    result = CliRunner().invoke(cli, ["wallet", "alice"], env={"STUDIO_STORE": "sqlite",
                                                               "STUDIO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    cli_wallet = json.loads(result.output)
    assert api_wallet["lifetime"] == {"purchased": 100, "granted": 50, "spent": 0, "expired": 0, "clawed_back": 0}
    assert cli_wallet["lifetime"] == api_wallet["lifetime"]
    assert {k: cli_wallet[k] for k in ("available", "held", "by_source")} == {
        k: api_wallet[k] for k in ("available", "held", "by_source")}
    assert "granted" not in cli_wallet  # only inside lifetime, meaning what it means there


def test_the_cli_wallet_takes_lifetime_totals_from_the_balances_projection_and_says_when_it_lags(
        tmp_path: Path) -> None:
    service = service_for("sqlite", tmp_path, with_pipeline=False)
    with client_for(service) as client:
        body, headers = signed(purchase("starter", "alice"))
        position = client.post("/v1/webhooks/payments", content=body, headers=headers).json()["position"]
        assert client.get(f"/v1/wallet?min_position={position}", headers=ALICE).json()["lifetime"]["purchased"] == 100
        # Stored while nothing projects it: the store has it, the balances projection does not yet.
        service.stop_projector()
        service.ledger.purchase(user_id="alice", payment_id="p-unprojected", pack_id="starter", amount=100,
                                price=Money(9900, "INR"), at=service.clock())
    result = CliRunner().invoke(cli, ["wallet", "alice"], env={"STUDIO_STORE": "sqlite",
                                                               "STUDIO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["available"] == 200  # credits now: the event store's
    assert shown["lifetime"]["purchased"] == 100  # over its life: the projection's, which lags
    assert "balances projection is at position" in result.stderr


def test_every_shipped_template_variable_has_a_label() -> None:
    unlabelled = [f"{t.id}.{v.name}" for t in load_catalog().all() for v in t.variables if not v.label.strip()]
    assert unlabelled == []


def test_a_choice_variable_has_choices_and_no_maximum_length(tmp_path: Path) -> None:
    with client_for(service_for("sqlite", tmp_path, with_pipeline=False)) as client:
        variables = {v["name"]: v for v in client.get("/v1/templates/poster-webinar").json()["variables"]}
    assert variables["style"]["type"] == "choice" and variables["style"]["max_length"] is None
    assert variables["style"]["choices"] == ["flat", "isometric", "photographic"]
    assert variables["topic"]["max_length"] == 60 and variables["topic"]["label"] == "Webinar topic"
