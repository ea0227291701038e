"""Colour contrast as WCAG measures it, and picking a text colour that meets the floor against a background."""

from __future__ import annotations

from PIL import Image

RGB = tuple[int, int, int]
FLOOR = 4.5  # WCAG AA for normal text
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)


def rgb(color: str) -> RGB:
    """``#1a2b3c`` as a tuple of three bytes."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _linear(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


LINEAR = [_linear(v) for v in range(256)]


def luminance(color: RGB) -> float:
    """Relative luminance (WCAG 2)."""
    return 0.2126 * LINEAR[color[0]] + 0.7152 * LINEAR[color[1]] + 0.0722 * LINEAR[color[2]]


def ratio(a: float, b: float) -> float:
    """The contrast ratio of two luminances."""
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)


def background_range(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """The darkest and lightest luminance behind ``box`` (2nd and 98th percentile of a 24 px sample)."""
    region = image.resize((24, 24), Image.Resampling.BOX, box=box)
    data = region.tobytes()
    values = sorted(0.2126 * LINEAR[data[i]] + 0.7152 * LINEAR[data[i + 1]] + 0.0722 * LINEAR[data[i + 2]]
                    for i in range(0, len(data), 3))
    return values[len(values) // 50], values[-1 - len(values) // 50]


def worst_contrast(color: RGB, dark: float, light: float) -> float:
    """The contrast of ``color`` against the least contrasting part of a background."""
    own = luminance(color)
    return min(ratio(own, dark), ratio(own, light))


def readable(color: RGB, dark: float, light: float, floor: float = FLOOR) -> RGB | None:
    """``color``, or the nearest mix of it towards white or black that meets ``floor``; None if none does."""
    if worst_contrast(color, dark, light) >= floor:
        return color
    for target in sorted((WHITE, BLACK), key=lambda t: -worst_contrast(t, dark, light)):
        for step in range(1, 11):
            candidate = mix(color, target, step / 10)
            if worst_contrast(candidate, dark, light) >= floor:
                return candidate
    return None
