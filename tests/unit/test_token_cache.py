"""The verifier remembers tokens that passed, but never past their expiry, and never a bad one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.http.problems import translate
from service import auth
from service.auth import TokenVerifier, Unauthorized, issue_token

pytestmark = pytest.mark.unit
SECRET = "s" * 40


def verifier() -> TokenVerifier:
    return TokenVerifier(algorithm="HS256", secret=SECRET, issuer="studio-ledger", audience="studio-ledger", leeway=0)


def token(user: str, ttl: timedelta, roles: tuple[str, ...] = ()) -> str:
    return issue_token(SECRET, user, issuer="studio-ledger", audience="studio-ledger", roles=roles, ttl=ttl)


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    check, now = verifier(), datetime.now(UTC).timestamp()
    good = token("alice", timedelta(seconds=60), roles=("admin",))
    assert check.verify(good).user_id == "alice"
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)
    with pytest.raises(Unauthorized) as raised:
        check.verify(good)
    assert translate(raised.value).status == 401 and "expired" in str(raised.value)


def test_a_bad_token_is_refused_every_time_and_a_good_one_keeps_its_roles() -> None:
    check = verifier()
    forged = issue_token("x" * 40, "mallory", issuer="studio-ledger", audience="studio-ledger")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            check.verify(forged)
    good = token("bob", timedelta(minutes=5), roles=("admin",))
    assert check.verify(good) == check.verify(good)
    assert check.verify(good).is_admin


def test_the_cache_is_bounded_and_checks_again_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_KEPT", 3)
    check = verifier()
    tokens = [token(f"user-{n}", timedelta(hours=1)) for n in range(5)]
    for t in tokens:
        check.verify(t)
    assert list(check._verified) == tokens[2:]
    calls: list[str] = []
    original = check._check
    monkeypatch.setattr(check, "_check", lambda t: calls.append(t) or original(t))
    check.verify(tokens[4])
    assert calls == []
    later = datetime.now(UTC).timestamp() + auth.VERIFIED_FOR + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    check.verify(tokens[4])
    assert calls == [tokens[4]]
