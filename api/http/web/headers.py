"""Security headers of the studio page and its files: a strict Content-Security-Policy, framing by origin."""

from __future__ import annotations

from urllib.parse import urlsplit


class OriginError(ValueError):
    """An embedding origin that is not ``scheme://host[:port]``."""


def parse_origins(value: str) -> tuple[str, ...]:
    """The comma-separated origins allowed to frame the page, each checked (``https://dash.example.com``)."""
    origins = []
    for raw in (part.strip() for part in value.split(",")):
        if not raw:
            continue
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username:
            raise OriginError(f"STUDIO_EMBED_ORIGINS: {raw!r} is not an origin like https://dashboard.example.com")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)


def content_security_policy(embed_origins: tuple[str, ...], image_origins: tuple[str, ...] = ()) -> str:
    """Scripts, styles, fonts and requests only from this service; images also from the image store's origin."""
    ancestors = " ".join(("'self'", *embed_origins))
    images = " ".join(("'self'", "blob:", "data:", *image_origins))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; connect-src 'self'; "
            f"img-src {images}; manifest-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}")


def page_headers(embed_origins: tuple[str, ...], image_origins: tuple[str, ...] = ()) -> dict[str, str]:
    """The headers of every response of the page and its static files."""
    return {"Content-Security-Policy": content_security_policy(embed_origins, image_origins),
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin"}
