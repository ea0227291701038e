"""Bearer tokens over HTTP: the 401 problem; the tokens themselves are checked in ``service.auth``."""

from __future__ import annotations

from api.http.problems import Problem
from service.auth import Principal, TokenVerifier, Unauthorized, issue_token

__all__ = ["Principal", "TokenVerifier", "Unauthorized", "issue_token", "unauthorized"]


def unauthorized(detail: str) -> Problem:
    """A 401 asking for a bearer token."""
    return Problem(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="studio"'})
