"""Procedural artwork for the local model: a style per learner's choice, a composition per template category."""

from __future__ import annotations

import math

from PIL import Image

from media.art import soft, styles
from media.art.canvas import Canvas, rgba
from media.compositor.contrast import mix

STYLES = {"minimal": styles.minimal, "retro": styles.retro, "neon": styles.neon, "corporate": styles.corporate,
          "watercolour": soft.watercolour, "geometric": soft.geometric, "papercut": soft.papercut}


def draw(category: str, style: str, size: tuple[int, int], seed: int, palette: tuple[str, ...],
         tint: str | None = None) -> Image.Image:
    """The artwork for one generation: the same arguments always give the same pixels."""
    canvas = Canvas.start(size, palette, seed, category, tint)
    kind, _, motif = style.partition(":")
    if kind == "scenic":
        soft.scenic(canvas, motif or "mountains")
    else:
        STYLES.get(kind, styles.minimal)(canvas)
    MOTIFS.get(category, lambda c, s: None)(canvas, kind)
    return canvas.image


def _confetti(c: Canvas, style: str) -> None:
    """Social posts celebrate: a scatter of confetti away from the middle."""
    if style in ("corporate", "minimal"):
        return
    layer, pen = c.layer()
    colors = (c.accent, c.ink, mix(c.accent, (255, 80, 120), 0.5), mix(c.accent, (90, 200, 255), 0.5))
    for _ in range(c.rng.randint(28, 44)):
        x, y = c.rng.randrange(c.width), c.rng.randrange(round(c.height * 0.6))
        if abs(x - c.width / 2) < c.width * 0.18 and abs(y - c.focus[1]) < c.height * 0.15:
            continue
        s, angle = c.unit * c.rng.uniform(0.8, 1.8), c.rng.uniform(0, math.pi)
        dx, dy = s * 1.8 * math.cos(angle), s * 1.8 * math.sin(angle)
        pen.polygon([(x - dx - dy / 3, y - dy + dx / 3), (x + dx - dy / 3, y + dy + dx / 3),
                     (x + dx + dy / 3, y + dy - dx / 3), (x - dx + dy / 3, y - dy - dx / 3)],
                    fill=rgba(c.rng.choice(colors), 220))
    c.paste(layer)


def _streaks(c: Canvas, style: str) -> None:
    """Teasers move: light streaks running towards the focus on the right."""
    layer, pen = c.layer()
    for _ in range(c.rng.randint(5, 8)):
        y = c.rng.uniform(0.1, 0.9) * c.height
        length = c.rng.uniform(0.2, 0.45) * c.width
        x = c.focus[0] + c.rng.uniform(-0.1, 0.2) * c.width
        pen.line((x - length, y + length * 0.18, x, y), fill=rgba(mix(c.accent, (255, 255, 255), 0.4), 110),
                 width=max(2, c.unit // 2))
    c.paste(layer)


def _frame(c: Canvas, style: str) -> None:
    """Posters get a thin inner frame, as printed posters do."""
    inset = 3 * c.unit
    color = mix(c.ink, c.accent, 0.3) if style in ("neon", "retro") else mix(c.base, c.accent, 0.4)
    c.pen().rectangle((inset, inset, c.width - inset, c.height - inset), outline=color, width=max(2, c.unit // 3))


MOTIFS = {"social_post": _confetti, "teaser": _streaks, "poster": _frame}
