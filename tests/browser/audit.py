"""In-page checks of two quality bars: every control has an accessible name, and text meets WCAG AA contrast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

HERE = Path(__file__).parent


def unnamed_controls(page: Page) -> list[Any]:
    """Controls and images on the page without an accessible name (or alt attribute)."""
    result: list[Any] = page.evaluate((HERE / "names.js").read_text())
    return result


def low_contrast_text(page: Page) -> list[Any]:
    """Visible text below WCAG AA contrast against what is behind it."""
    result: list[Any] = page.evaluate((HERE / "contrast.js").read_text())
    return result
