"""Bearer tokens: JWTs signed with a shared secret (HS256) or a key from a JWKS URL (RS256)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ledger.errors import InvalidUserId
from ledger.names import check_user_id


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user id (the token's ``sub``) and their roles."""

    user_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        """Whether the caller may use the admin routes that touch wallets (money)."""
        return "admin" in self.roles

    @property
    def moderates(self) -> bool:
        """Whether the caller may review reports, take images down and restore sharing: ``moderation``, or
        ``admin`` (a moderator touches no money)."""
        return bool({"moderation", "admin"} & self.roles)

    @property
    def manages_templates(self) -> bool:
        """Whether the caller may manage templates: the ``templates`` role, or ``admin``."""
        return bool({"templates", "admin"} & self.roles)

    @property
    def does_finance(self) -> bool:
        """Whether the caller may read the finance reports (revenue, liability, breakage, margins) and reconcile
        settlement reports (crediting their unmatched payments through the purchase command): the ``finance``
        role, or ``admin``."""
        return bool({"finance", "admin"} & self.roles)


class Unauthorized(Exception):
    """A token that is missing, malformed, expired or not ours; the message says which."""


VERIFIED_KEPT = 10_000
VERIFIED_FOR = 300.0  # seconds: a token is checked in full again after this, as JWKS keys are re-read


class TokenVerifier:
    """Checks a token's signature, expiry, issuer and audience, and reads the caller from it."""

    def __init__(self, *, algorithm: str, secret: str, issuer: str, audience: str, jwks_url: str = "",
                 leeway: int = 30) -> None:
        if algorithm == "RS256" and not jwks_url:
            raise ValueError("RS256 tokens need a JWKS URL (STUDIO_JWKS_URL)")
        self.algorithm = algorithm
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5) if jwks_url else None
        self._verified: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The caller named by a valid token; ``Unauthorized`` for anything else.

        A client sends the same token with every request, so a token that passed every check is
        remembered (the last ``VERIFIED_KEPT``, each for at most ``VERIFIED_FOR`` seconds, as long as
        the JWKS keys are kept) and only its expiry is checked again."""
        now = time.time()
        with self._lock:
            known = self._verified.get(token)
            if known is not None:
                self._verified.move_to_end(token)
        if known is not None:
            principal, expires, checked = known
            if now > expires + self.leeway:
                raise Unauthorized("the token has expired")
            if now - checked < VERIFIED_FOR:
                return principal
        principal, expires = self._check(token)
        with self._lock:
            self._verified[token] = (principal, expires, now)
            if len(self._verified) > VERIFIED_KEPT:
                self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            key: Any = self.secret if self.jwks is None else self.jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=[self.algorithm], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={"require": ["sub", "exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.PyJWKClientError as error:
            raise Unauthorized(f"the token's signing key cannot be found: {error}") from None
        except jwt.DecodeError:  # the decoder's own words ("'utf-8' codec can't decode byte ...") help nobody
            raise Unauthorized("the token is not a JWT: expected three base64url parts separated by dots, "
                               "a header and claims in JSON, and a signature") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"the token is not valid: {error}") from None
        try:
            subject = check_user_id(claims.get("sub"), field="the token's sub")
        except InvalidUserId as error:
            raise Unauthorized(str(error)) from None
        roles = claims.get("roles", [])
        role = claims.get("role")
        names = {r for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()
        if isinstance(role, str):
            names.add(role)
        return Principal(subject, frozenset(names)), float(claims["exp"])


def issue_token(secret: str, user_id: str, *, issuer: str, audience: str, roles: tuple[str, ...] = (),
                ttl: timedelta = timedelta(days=1), now: datetime | None = None) -> str:
    """An HS256 token for ``user_id`` (the embedded default's `studio-ledger token`, and tests)."""
    check_user_id(user_id)
    issued = now or datetime.now(UTC)
    claims = {"sub": user_id, "iss": issuer, "aud": audience, "iat": issued, "exp": issued + ttl, "roles": list(roles)}
    return jwt.encode(claims, secret, algorithm="HS256")
