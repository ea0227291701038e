"""Checks of the settings the studio page needs: the platform's checkout URL and the origins that may embed it.

Both are checked when the settings are read, so a typo stops the service at start-up with one
line naming the variable, not on the first learner's click.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

CHECKOUT_PLACEHOLDERS = ("pack_id", "user_id")


def check_checkout_url(value: str) -> str:
    """``value`` if it is empty or an http(s) URL whose only placeholders are ``{pack_id}`` and ``{user_id}``."""
    value = value.strip()
    if not value:
        return ""
    known = ", ".join("{" + name + "}" for name in CHECKOUT_PLACEHOLDERS)
    try:
        fields = list(string.Formatter().parse(value))
    except ValueError as error:
        raise ValueError(f"{value!r} is not a URL template ({error}); write a literal brace as {{{{ or }}}}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in CHECKOUT_PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} in {value!r}; the known ones are {known}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} in {value!r} takes no format or conversion")
    sample = value.format(**dict.fromkeys(CHECKOUT_PLACEHOLDERS, "x"))
    parts = urlsplit(sample)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} must be an absolute http:// or https:// URL")
    return value


def check_origins(value: Any) -> list[str]:
    """Origins (``scheme://host[:port]``) from a list or a comma- or space-separated string, normalised."""
    items: Iterable[Any]
    if value is None:
        return []
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ValueError(f"must be a list of origins, got {type(value).__name__}")
    origins: list[str] = []
    for item in items:
        origin = _origin(str(item).strip())
        if origin not in origins:
            origins.append(origin)
    return origins


def _origin(text: str) -> str:
    example = "like https://learn.example.com or http://localhost:3000"
    if text == "*":
        raise ValueError(f"'*' is not allowed: name each origin that may embed the studio, {example}")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin: write the scheme and host, {example}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{text!r} is not an origin: only the scheme, host and port, {example}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")
