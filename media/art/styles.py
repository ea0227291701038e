"""Hard-edged styles: minimal, retro, neon and corporate."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from media.art.canvas import Canvas, premultiplied, rgba
from media.compositor.contrast import mix


def minimal(c: Canvas) -> None:
    """Flat shapes and space: a pale ground, one large disc, one small one, a thin rule."""
    ground = mix(c.ink, c.accent, 0.12)
    c.image.paste(ground, (0, 0, c.width, c.height))
    pen = c.pen()
    fx, fy = c.focus
    r = round(min(c.width, c.height) * c.rng.uniform(0.26, 0.34))
    dx = round(r * c.rng.uniform(-0.35, 0.35))
    pen.ellipse((fx + dx - r, fy - r, fx + dx + r, fy + r), fill=c.accent)
    small = round(r * c.rng.uniform(0.28, 0.4))
    sx, sy = fx + dx + round(r * 0.85), fy - round(r * 0.75)
    pen.ellipse((sx - small, sy - small, sx + small, sy + small), fill=c.base)
    y = fy + r + 6 * c.unit
    pen.line((c.width * 0.18, y, c.width * 0.82, y), fill=mix(c.base, ground, 0.55), width=max(2, c.unit // 2))
    for i in range(3):  # three dots: a quiet rhythm beside the disc
        cx = fx + dx - r - 8 * c.unit + i * 3 * c.unit
        if cx > 2 * c.unit:
            pen.ellipse((cx - c.unit, fy - c.unit, cx + c.unit, fy + c.unit), fill=c.base)


def retro(c: Canvas) -> None:
    """Warm ground, a sunburst from the focus, a striped setting sun, and film grain."""
    warm = mix(c.accent, (255, 160, 60), 0.45)
    cream = mix(c.ink, (255, 236, 200), 0.6)
    c.vertical_gradient(cream, mix(warm, cream, 0.35))
    layer, pen = c.layer()
    fx, fy = c.focus
    reach = max(c.width, c.height) * 1.5
    rays = c.rng.choice((16, 20, 24))
    for i in range(rays):
        if i % 2:
            continue
        a0, a1 = math.tau * i / rays, math.tau * (i + 1) / rays
        pen.polygon([(fx, fy), (fx + reach * math.cos(a0), fy + reach * math.sin(a0)),
                     (fx + reach * math.cos(a1), fy + reach * math.sin(a1))], fill=rgba(warm, 70))
    c.paste(layer)
    pen = c.pen()
    r = round(min(c.width, c.height) * 0.27)
    sun = Image.new("RGB", (2 * r, 2 * r))
    ImageDraw.Draw(sun).rectangle((0, 0, 2 * r, 2 * r), fill=mix(warm, (255, 90, 60), 0.35))
    top = Image.new("RGB", (2 * r, r), mix(warm, (255, 220, 90), 0.5))
    sun.paste(top, (0, 0), Image.linear_gradient("L").resize((2 * r, r)).point(lambda v: 255 - v))
    mask = Image.new("L", (2 * r, 2 * r), 0)
    mpen = ImageDraw.Draw(mask)
    mpen.ellipse((0, 0, 2 * r - 1, 2 * r - 1), fill=255)
    band = max(3, r // 9)
    for k in range(5):  # the cut-out stripes of a retro sun, thicker towards the bottom
        y = r + k * band * 2 - band // 2
        mpen.rectangle((0, y, 2 * r, y + band * (k + 2) // 4), fill=0)
    c.image.paste(sun, (fx - r, fy - r), mask)
    ground = fy + r - band
    pen.rectangle((0, ground, c.width, c.height), fill=mix(c.base, warm, 0.25))
    for k in range(1, 7):  # horizon lines that bunch up towards the horizon
        y = ground + round((c.height - ground) * (k / 7) ** 1.6)
        pen.line((0, y, c.width, y), fill=mix(c.base, warm, 0.45), width=max(2, c.unit // 2))
    c.grain(7)


def neon(c: Canvas) -> None:
    """A dark ground, a glowing ring and a perspective grid of light lines."""
    night = mix(c.base, (8, 6, 24), 0.75)
    layer, pen = c.light_layer()
    fx, fy = c.focus
    horizon = round(c.height * 0.64) if c.category != "teaser" else round(c.height * 0.7)
    glow_color = mix(c.accent, (255, 255, 255), 0.15)
    second = mix((255, 60, 200), c.ink, 0.2) if c.rng.random() < 0.5 else mix((60, 220, 255), c.ink, 0.2)
    line = max(2, c.unit // 2)
    for k in range(12):  # grid floor: lines converge on the focus column
        x = -c.width + k * c.width * 3 / 11
        pen.line((fx, horizon, x, c.height), fill=premultiplied(second, 200), width=line)
    for k in range(1, 9):
        y = horizon + round((c.height - horizon) * (k / 9) ** 1.8)
        pen.line((0, y, c.width, y), fill=premultiplied(second, 200), width=line)
    r = round(min(c.width, c.height) * 0.24)
    pen.ellipse((fx - r, fy - r, fx + r, fy + r), outline=premultiplied(glow_color, 255), width=max(4, 1 + c.unit))
    inner = round(r * 0.72)
    pen.ellipse((fx - inner, fy - inner, fx + inner, fy + inner), outline=premultiplied(second, 230),
                width=max(2, c.unit))
    for _ in range(c.rng.randint(18, 30)):  # stars
        sx, sy, s = c.rng.randrange(c.width), c.rng.randrange(horizon), c.rng.choice((1, 1, 2)) * c.unit // 2 + 1
        pen.ellipse((sx - s, sy - s, sx + s, sy + s), fill=premultiplied((255, 255, 255), c.rng.randint(120, 230)))
    c.glow(layer, 10 * c.unit, top=night, bottom=mix(night, c.accent, 0.18))


def corporate(c: Canvas) -> None:
    """A clean grid: a fine ruled ground, aligned blocks in the palette and one diagonal band."""
    ground = mix(c.base, (255, 255, 255), 0.06)
    c.image.paste(ground, (0, 0, c.width, c.height))
    pen = c.pen()
    cell = round(min(c.width, c.height) / 12)
    rule = mix(ground, c.ink, 0.1)
    for x in range(0, c.width, cell):
        pen.line((x, 0, x, c.height), fill=rule, width=1)
    for y in range(0, c.height, cell):
        pen.line((0, y, c.width, y), fill=rule, width=1)
    layer, lpen = c.layer()
    cols, rows = c.width // cell, c.height // cell
    fx, fy = c.focus[0] // cell, c.focus[1] // cell
    for _ in range(c.rng.randint(5, 8)):  # blocks snap to the grid around the focus
        w, h = c.rng.randint(1, 4), c.rng.randint(1, 3)
        x = min(cols - w, max(0, fx + c.rng.randint(-4, 3)))
        y = min(rows - h, max(0, fy + c.rng.randint(-3, 2)))
        color = c.rng.choice((c.accent, c.ink, mix(c.accent, c.base, 0.5)))
        lpen.rectangle((x * cell, y * cell, (x + w) * cell, (y + h) * cell), fill=rgba(color, c.rng.randint(60, 220)))
    lpen.polygon([(0, c.height * 0.78), (c.width, c.height * 0.52), (c.width, c.height * 0.6), (0, c.height * 0.86)],
                 fill=rgba(c.accent, 90))
    c.paste(layer)
    pen = c.pen()
    r = cell // 3
    for k in range(4):  # a small data-dot motif on the grid
        x, y = (fx + k - 1) * cell, (fy - 3) * cell
        pen.ellipse((x - r, y - r, x + r, y + r), fill=c.accent if k % 2 else c.ink)
