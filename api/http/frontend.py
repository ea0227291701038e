"""The studio page's checkout link, and its settings errors in one line (the checks are in
``service.settings.frontend``)."""

from __future__ import annotations

from pydantic import ValidationError

from service.settings.frontend import CHECKOUT_PLACEHOLDERS, check_checkout_url, check_origins

__all__ = ["CHECKOUT_PLACEHOLDERS", "check_checkout_url", "check_origins", "checkout_link", "settings_problem"]


def checkout_link(template: str, *, pack_id: str, user_id: str) -> str:
    """The checkout URL for one pack and learner, the values URL-encoded."""
    from urllib.parse import quote

    return template.format(pack_id=quote(pack_id, safe=""), user_id=quote(user_id, safe=""))


def settings_problem(error: ValidationError) -> str:
    """One line naming each ``STUDIO_*`` variable a settings error is about, and what is wrong with it."""
    parts = []
    for item in error.errors():
        name = "STUDIO_" + str(item["loc"][0]).upper() if item["loc"] else error.title
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts)
