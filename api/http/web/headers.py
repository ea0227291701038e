"""Security headers of the studio page and its files: a strict Content-Security-Policy, framing by origin."""

from __future__ import annotations


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
