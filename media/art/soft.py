"""Soft and layered styles: watercolour, geometric tessellation, paper cut and scenic silhouettes."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFilter

from media.art.canvas import Canvas, blob, rgba
from media.compositor.contrast import RGB, mix


def watercolour(c: Canvas) -> None:
    """Soft washes of the palette on paper: layered translucent glazes, each with a darker drying rim."""
    paper = mix(c.ink, (252, 248, 238), 0.7)
    c.image.paste(paper, (0, 0, c.width, c.height))
    small = (max(1, c.width // 2), max(1, c.height // 2))  # paint at half size, then enlarge: washes are soft
    wash = Image.new("RGBA", small, (0, 0, 0, 0))
    colors = [c.accent, mix(c.base, paper, 0.35), mix(c.accent, c.base, 0.5), mix(c.accent, (80, 160, 220), 0.4)]
    fx, fy = c.focus[0] / 2, c.focus[1] / 2
    for i in range(c.rng.randint(5, 7)):
        r = min(small) * c.rng.uniform(0.16, 0.3)
        cx, cy = fx + c.rng.uniform(-0.42, 0.42) * small[0], fy + c.rng.uniform(-0.25, 0.35) * small[1]
        color = colors[i % len(colors)]
        glaze = Image.new("RGBA", small, (0, 0, 0, 0))
        pen = ImageDraw.Draw(glaze)
        for k in range(3):  # three glazes, each a little smaller: the pigment pools towards the middle
            outline = blob(c.rng, (cx, cy), r * (1 - 0.22 * k), points=18, wobble=0.18)
            pen.polygon(outline, fill=rgba(color, 64))
            if k == 0:
                pen.line([*outline, outline[0]], fill=rgba(mix(color, (0, 0, 0), 0.2), 110), width=3)
        wash.alpha_composite(glaze.filter(ImageFilter.GaussianBlur(max(1.5, min(small) / 300))))
    big = wash.resize(c.image.size, Image.Resampling.BICUBIC)
    c.image.paste(big, (0, 0), big)
    c.paper(5)


def geometric(c: Canvas) -> None:
    """A tessellation of triangles shaded across the palette, lighter around the focus."""
    cols = c.rng.choice((6, 7, 8))
    cell = c.width / cols
    rows = math.ceil(c.height / cell) + 1
    pen = c.pen()
    stops = [c.base, mix(c.base, c.accent, 0.55), c.accent, mix(c.accent, c.ink, 0.5)]
    for row in range(rows):
        for col in range(cols + 1):
            x0, y0 = col * cell - (cell / 2 if row % 2 else 0), row * cell
            quads = ((x0, y0), (x0 + cell, y0), (x0 + cell / 2, y0 + cell)), \
                    ((x0 + cell, y0), (x0 + cell * 1.5, y0 + cell), (x0 + cell / 2, y0 + cell))
            for tri in quads:
                cx = sum(p[0] for p in tri) / 3
                cy = sum(p[1] for p in tri) / 3
                near = math.hypot(cx - c.focus[0], cy - c.focus[1]) / math.hypot(c.width, c.height)
                t = min(0.999, max(0.0, 1 - near * 2.2 + c.rng.uniform(-0.18, 0.18))) * (len(stops) - 1)
                k = int(t)
                pen.polygon(tri, fill=mix(stops[k], stops[k + 1], t - k))
    c.vignette(0.3, mix(c.base, (0, 0, 0), 0.5))


def papercut(c: Canvas) -> None:
    """Layers of cut paper: wavy bands rising from the bottom, each casting a soft shadow."""
    c.vertical_gradient(mix(c.ink, c.accent, 0.2), mix(c.accent, c.ink, 0.35))
    layers = 5
    for k in range(layers):
        level = c.height * (0.42 + 0.12 * k)
        amplitude = c.height * c.rng.uniform(0.03, 0.06)
        phase, waves = c.rng.uniform(0, math.tau), c.rng.uniform(1.2, 2.4)
        edge = [(x, level + amplitude * math.sin(phase + waves * math.tau * x / c.width))
                for x in range(0, c.width + 40, 40)]
        shape = [*edge, (c.width, c.height), (0, c.height)]
        shadow, spen = c.layer()
        spen.polygon([(x, y - 2 * c.unit) for x, y in shape], fill=(0, 0, 0, 120))
        c.paste(shadow, blur=3 * c.unit)
        t = k / (layers - 1)
        color = mix(mix(c.accent, c.ink, 0.45), c.base, t) if k % 2 == 0 else mix(c.accent, c.base, t * 0.8)
        c.pen().polygon(shape, fill=color)
    r = round(min(c.width, c.height) * 0.1)
    fx, fy = c.focus[0], round(c.height * 0.22)
    shadow, spen = c.layer()
    spen.ellipse((fx - r, fy - r + c.unit, fx + r, fy + r + c.unit), fill=(0, 0, 0, 110))
    c.paste(shadow, blur=2 * c.unit)
    c.pen().ellipse((fx - r, fy - r, fx + r, fy + r), fill=mix(c.ink, (255, 240, 200), 0.4))


def scenic(c: Canvas, motif: str) -> None:
    """A golden-hour sky, a sun, and silhouettes of ``motif`` fading into the distance."""
    sky_top = mix((34, 40, 96), c.base, 0.25)
    c.vertical_gradient(sky_top, mix(c.accent, (255, 150, 90), 0.45))
    c.radial_light(mix(c.accent, (255, 240, 200), 0.5), 0.55, 0.6)
    sun = round(min(c.width, c.height) * 0.09)
    sx, sy = round(c.width * c.rng.uniform(0.3, 0.7)), round(c.height * 0.46)
    c.pen().ellipse((sx - sun, sy - sun, sx + sun, sy + sun), fill=mix(c.accent, (255, 250, 230), 0.7))
    near = mix(c.base, (0, 0, 0), 0.55)
    for k in range(4):
        color = mix(mix(c.accent, c.base, 0.55), near, k / 3)
        level = c.height * (0.5 + 0.11 * k)
        DRAW[motif](c, level, color, k)


def _mountains(c: Canvas, level: float, color: RGB, k: int) -> None:
    points, x = [(0.0, float(c.height))], 0.0
    while x <= c.width:
        points.append((x, level - c.rng.uniform(0.02, 0.16) * c.height / (1 + k * 0.4)))
        x += c.width * c.rng.uniform(0.08, 0.2)
    points += [(float(c.width), level), (float(c.width), float(c.height))]
    c.pen().polygon(points, fill=color)


def _ocean(c: Canvas, level: float, color: RGB, k: int) -> None:
    amplitude, phase = c.height * 0.012 * (k + 1), c.rng.uniform(0, math.tau)
    edge = [(x, level + amplitude * math.sin(phase + x / (c.width / (6 + k * 2)))) for x in range(0, c.width + 30, 30)]
    c.pen().polygon([*edge, (c.width, c.height), (0, c.height)], fill=color)
    pen = c.pen()
    for _ in range(4 + 2 * k):  # glints on the water
        x, y = c.rng.randrange(c.width), round(level + c.rng.uniform(0.02, 0.08) * c.height)
        pen.line((x, y, x + 4 * c.unit, y), fill=mix(color, (255, 230, 190), 0.5), width=max(1, c.unit // 2))


def _city(c: Canvas, level: float, color: RGB, k: int) -> None:
    pen, x = c.pen(), 0.0
    lit = mix(color, (255, 220, 140), 0.6)
    while x < c.width:
        w = c.width * c.rng.uniform(0.05, 0.11)
        top = level - c.height * c.rng.uniform(0.04, 0.2) / (1 + k * 0.5)
        pen.rectangle((x, top, x + w, c.height), fill=color)
        if k >= 2:  # windows on the nearer blocks
            step = max(4, round(w / 4))
            for wx in range(round(x + step / 2), round(x + w - step / 2), step):
                for wy in range(round(top + step), round(level + c.height * 0.1), step * 2):
                    if c.rng.random() < 0.3:
                        pen.rectangle((wx, wy, wx + step // 3, wy + step // 2), fill=lit)
        x += w + c.width * 0.005


def _forest(c: Canvas, level: float, color: RGB, k: int) -> None:
    pen = c.pen()
    pen.rectangle((0, level, c.width, c.height), fill=color)
    x = -c.width * 0.02
    while x < c.width * 1.02:
        h = c.height * c.rng.uniform(0.08, 0.18) * (1 + k * 0.25)
        w = h * c.rng.uniform(0.32, 0.42)
        base = level + c.rng.uniform(0, 0.02) * c.height
        pen.polygon([(x - w / 2, base), (x + w / 2, base), (x, base - h)], fill=color)
        x += w * c.rng.uniform(0.45, 0.8)


DRAW = {"mountains": _mountains, "ocean": _ocean, "city": _city, "forest": _forest}
