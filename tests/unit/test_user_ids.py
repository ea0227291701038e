"""One rule for a user id at every edge: a token's sub, the webhook and Kafka bodies, the admin routes,
the command line and the ledger itself; a refusal says what is wrong and names the field."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import jwt
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from api.cli import app
from api.http.schemas import DevTokenCreate
from ledger import Ledger, Money
from ledger.errors import InvalidUserId
from ledger.names import USER_ID_MAX, check_user_id
from service.auth import TokenVerifier, Unauthorized, issue_token
from service.messages import PAYMENT_MESSAGES, REFERRAL_MESSAGES

pytestmark = pytest.mark.unit
AT = datetime(2026, 3, 1, tzinfo=UTC)
SECRET = "a-test-secret-that-is-long-enough-for-hs256"

REFUSED = [
    ("", "1 to 128 characters"),
    ("a" * (USER_ID_MAX + 1), "1 to 128 characters, got 129"),
    ("alice ", "must not begin or end with whitespace"),
    (" alice", "must not begin or end with whitespace"),
    ("alice\n", "must not begin or end with whitespace"),
    ("al\x00ice", r"a control character \(U\+0000 at character 3\)"),
    ("al\x1bice", r"a control character \(U\+001B"),
    ("al\u200bice", r"an invisible format character \(U\+200B"),
    ("ali\u202ece", r"an invisible format character \(U\+202E"),  # right-to-left override
    ("\ufeffalice", r"an invisible format character \(U\+FEFF"),
    ("al\u2028ice", "a line separator"),
    ("al\u2029ice", "a paragraph separator"),
    ("al\u00a0ice", r"a space other than U\+0020 \(U\+00A0"),
    ("al\ue000ice", "a private-use character"),
    ("al\u3164ice", r"an invisible character \(U\+3164"),  # Hangul filler, a letter that draws nothing
    ("ali\ufe0fce", r"an invisible character \(U\+FE0F"),  # a variation selector
    ("Mari\u0301a", r"normal form C \(NFC\): send its composed form, 'María'"),
]
ACCEPTED = ["alice", "a", "a" * USER_ID_MAX, "Ana María", "auth0|5f7c", "a:b", "google-oauth2:1234",
            "राधा", "user@example.com", "ünïcødé"]


@pytest.mark.parametrize(("user_id", "reason"), REFUSED)
def test_a_user_id_that_breaks_the_rule_is_refused_with_the_reason_and_the_field(user_id: str, reason: str) -> None:
    with pytest.raises(InvalidUserId, match=f"^referrer_user_id .*{reason}"):
        check_user_id(user_id, field="referrer_user_id")


@pytest.mark.parametrize("user_id", ACCEPTED)
def test_ordinary_user_ids_pass_unchanged(user_id: str) -> None:
    assert check_user_id(user_id) == user_id


def test_a_user_id_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidUserId, match="user_id must be a string, got int"):
        check_user_id(7)


@pytest.mark.parametrize(("user_id", "reason"), REFUSED[2:])
def test_payment_messages_refuse_such_a_user_id_naming_the_field(user_id: str, reason: str) -> None:
    message = {"type": "CreditPackPurchased", "payment_id": "pay-1", "user_id": user_id, "pack_id": "starter",
               "amount_minor": 900, "currency": "INR"}
    with pytest.raises(ValidationError) as refused:
        PAYMENT_MESSAGES.validate_python(message)
    [error] = refused.value.errors()
    assert error["loc"] == ("CreditPackPurchased", "user_id")
    assert error["msg"].startswith("Value error, user_id must")


def test_a_referral_from_a_user_to_the_same_id_with_a_trailing_space_is_refused_not_paid() -> None:
    message = {"type": "ReferralConverted", "referral_id": "r-1", "referrer_user_id": "a", "referee_user_id": "a ",
               "occurred_at": AT.isoformat()}
    with pytest.raises(ValidationError) as refused:
        REFERRAL_MESSAGES.validate_python(message)
    [error] = refused.value.errors()
    assert error["loc"] == ("ReferralConverted", "referee_user_id")
    assert "referee_user_id must not begin or end with whitespace" in error["msg"]


def test_the_dev_sign_in_refuses_such_a_user_id() -> None:
    with pytest.raises(ValidationError, match="user_id must not contain an invisible format character"):
        DevTokenCreate.model_validate({"user_id": "al\u200bice"})


def token_for(sub: object) -> str:
    claims = {"sub": sub, "iss": "studio-ledger", "aud": "studio-ledger", "exp": int(time.time()) + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(("sub", "reason"), [
    ("alice ", "the token's sub must not begin or end with whitespace"),
    ("al\u200bice", r"the token's sub must not contain an invisible format character \(U\+200B"),
    ("x" * 201, "the token's sub must be 1 to 128 characters, got 201"),
    (42, "the token is not valid: Subject must be a string"),
])
def test_a_token_whose_sub_breaks_the_rule_is_refused_saying_why(sub: object, reason: str) -> None:
    verifier = TokenVerifier(algorithm="HS256", secret=SECRET, issuer="studio-ledger", audience="studio-ledger")
    with pytest.raises(Unauthorized, match=f"^{reason}"):
        verifier.verify(token_for(sub))


def test_tokens_are_issued_only_for_valid_user_ids() -> None:
    with pytest.raises(InvalidUserId, match="must not begin or end with whitespace"):
        issue_token(SECRET, "alice ", issuer="studio-ledger", audience="studio-ledger")


def test_the_command_line_refuses_such_a_user_id_before_doing_anything() -> None:
    result = CliRunner().invoke(app, ["wallet", "alice "])
    assert result.exit_code == 2
    assert "user_id must not begin or end with whitespace" in result.output


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def test_the_ledger_opens_no_wallet_for_a_user_id_that_breaks_the_rule(ledger: Ledger) -> None:
    with pytest.raises(InvalidUserId, match="user_id must not begin or end with whitespace"):
        ledger.purchase(user_id="alice ", payment_id="pay-1", pack_id="starter", amount=100,
                        price=Money(900, "INR"), at=AT)
    assert ledger.wallet("alice ") is None
    ledger.purchase(user_id="alice", payment_id="pay-1", pack_id="starter", amount=100, price=Money(900, "INR"), at=AT)
    assert ledger.wallet("alice") is not None
