"""Bearer tokens: JWTs signed with a shared secret (HS256) or a key from a JWKS URL (RS256)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.http.problems import Problem


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user id (the token's ``sub``) and their roles."""

    user_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        """Whether the caller may use the admin routes."""
        return "admin" in self.roles


def unauthorized(detail: str) -> Problem:
    """A 401 asking for a bearer token."""
    return Problem(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="studio"'})


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

    def verify(self, token: str) -> Principal:
        """The caller named by a valid token; a 401 problem for anything else."""
        try:
            key: Any = self.secret if self.jwks is None else self.jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=[self.algorithm], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway, options={"require": ["sub", "exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise unauthorized("the token has expired") from None
        except jwt.PyJWKClientError as error:
            raise unauthorized(f"the token's signing key cannot be found: {error}") from None
        except jwt.InvalidTokenError as error:
            raise unauthorized(f"the token is not valid: {error}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
            raise unauthorized("the token's subject must be a user id of 1 to 200 characters")
        roles = claims.get("roles", [])
        role = claims.get("role")
        names = {r for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()
        if isinstance(role, str):
            names.add(role)
        return Principal(subject, frozenset(names))


def issue_token(secret: str, user_id: str, *, issuer: str, audience: str, roles: tuple[str, ...] = (),
                ttl: timedelta = timedelta(days=1), now: datetime | None = None) -> str:
    """An HS256 token for ``user_id`` (the embedded default's `studio-ledger token`, and tests)."""
    if not user_id.strip():
        raise ValueError("a token needs a user id")
    issued = now or datetime.now(UTC)
    claims = {"sub": user_id, "iss": issuer, "aud": audience, "iat": issued, "exp": issued + ttl, "roles": list(roles)}
    return jwt.encode(claims, secret, algorithm="HS256")
