"""The learner's photo, cropped square around its subject and given a treatment per style.

A pure function of the photo's bytes, the treatment and the palette: fetching the photo is the caller's job.
"""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps, UnidentifiedImageError

from media.compositor.contrast import RGB, mix, rgb

MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded


class UnreadablePhoto(ValueError):
    """The input photo is not an image we can read."""


def open_photo(data: bytes) -> Image.Image:
    """The photo as RGB, upright as its EXIF says; ``UnreadablePhoto`` if it is not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UnreadablePhoto(f"the photo is {image.width}x{image.height}, too large to read")
            image.draft("RGB", (2048, 2048))  # a large JPEG decodes at 1/2 to 1/8: no model needs more
            upright = ImageOps.exif_transpose(image) or image
            return upright.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise UnreadablePhoto(f"the input image is not a readable photo: {error}") from error


def subject_centre(photo: Image.Image) -> tuple[float, float]:
    """The centre of mass of detail (edge strength), as fractions of the width and height."""
    small = photo.convert("L").resize((64, 64), Image.Resampling.BILINEAR)
    edges = small.filter(ImageFilter.FIND_EDGES).crop((1, 1, 63, 63))
    data = edges.tobytes()
    total = sum(data)
    if total == 0:
        return 0.5, 0.5
    sx = sum((i % 62) * v for i, v in enumerate(data))
    sy = sum((i // 62) * v for i, v in enumerate(data))
    return (sx / total + 1.5) / 64, (sy / total + 1.5) / 64


def square_crop(photo: Image.Image, side: int) -> Image.Image:
    """The largest square around the subject, scaled down to ``side`` pixels if it is larger (never up)."""
    cx, cy = subject_centre(photo)
    edge = min(photo.size)
    left = min(max(0, round(cx * photo.width - edge / 2)), photo.width - edge)
    top = min(max(0, round(cy * photo.height - edge / 2)), photo.height - edge)
    square = photo.crop((left, top, left + edge, top + edge))
    return square.resize((side, side), Image.Resampling.LANCZOS) if edge > side else square


def treat(data: bytes, treatment: str, side: int, palette: tuple[str, ...], tint: str | None = None) -> Image.Image:
    """The learner's photo, square, with ``treatment`` applied in the template's colours."""
    photo = square_crop(open_photo(data), side)
    colors = [rgb(c) for c in palette]
    accent = rgb(tint) if tint else colors[1]
    return TREATMENTS[treatment](photo, colors[0], accent, colors[-1])


def duotone(photo: Image.Image, base: RGB, accent: RGB, ink: RGB) -> Image.Image:
    """Shadows in the base colour, highlights in the accent, contrast stretched."""
    gray = ImageOps.autocontrast(photo.convert("L"), cutoff=1)
    return ImageOps.colorize(gray, black=mix(base, (0, 0, 0), 0.35), white=mix(accent, (255, 255, 255), 0.35),
                             mid=accent if sum(accent) < 600 else None)


def popart(photo: Image.Image, base: RGB, accent: RGB, ink: RGB) -> Image.Image:
    """Posterised into four flat, saturated colours with a halftone dot screen in the lights."""
    small = photo.convert("L").resize((max(1, photo.width // 2), max(1, photo.height // 2)), Image.Resampling.BOX)
    small = small.filter(ImageFilter.MedianFilter(3))
    gray = ImageOps.equalize(small.resize(photo.size, Image.Resampling.BICUBIC))  # each colour gets a quarter
    levels = [mix(base, (0, 0, 0), 0.4), mix(accent, (255, 0, 90), 0.35), mix(accent, (255, 220, 0), 0.5),
              mix(ink, (255, 255, 220), 0.5)]
    lut = [levels[min(3, v // 64)][channel] for channel in range(3) for v in range(256)]
    flat = gray.convert("RGB").point(lut)
    step = max(6, photo.width // 90)
    cell = Image.new("L", (step * 8, step * 16), 0)  # a tile of the halftone screen, rows offset by half a step
    pen = ImageDraw.Draw(cell)
    for row in range(17):
        for col in range(9):
            cx, cy = col * step + (step // 2 if row % 2 == 0 else 0), row * step + step // 2
            pen.ellipse((cx - step // 4, cy - step // 4, cx + step // 4, cy + step // 4), fill=90)
    screen = Image.new("L", photo.size)
    for y in range(0, photo.height, cell.height):
        for x in range(0, photo.width, cell.width):
            screen.paste(cell, (x, y))
    band = gray.point(lambda v: 255 if 150 < v < 192 else 0)  # dots only in the light middle tones
    dots = ImageChops.multiply(screen, band)
    return Image.composite(Image.new("RGB", photo.size, levels[1]), flat, dots)


def watercolour(photo: Image.Image, base: RGB, accent: RGB, ink: RGB) -> Image.Image:
    """Soft washes: colours smoothed into patches, a light edge line, paper showing at the border."""
    small = photo.resize((photo.width // 4, photo.height // 4), Image.Resampling.BILINEAR)
    washed = small.filter(ImageFilter.ModeFilter(5)).filter(ImageFilter.GaussianBlur(1.5))
    washed = ImageEnhance.Color(washed.resize(photo.size, Image.Resampling.BICUBIC)).enhance(1.25)
    lines = ImageOps.invert(photo.convert("L").filter(ImageFilter.FIND_EDGES)).point(lambda v: 255 - (255 - v) // 3)
    painted = ImageChops.multiply(washed, lines.convert("RGB"))
    paper = Image.new("RGB", photo.size, mix(ink, (252, 248, 238), 0.7))
    mask = Image.radial_gradient("L").resize(photo.size)
    mask = mask.point(lambda v: 255 if v < 150 else max(0, 255 - (v - 150) * 3))
    return Image.composite(painted, paper, mask.filter(ImageFilter.GaussianBlur(photo.width // 40)))


def oil(photo: Image.Image, base: RGB, accent: RGB, ink: RGB) -> Image.Image:
    """Oil paint: colours pooled into strokes, richer saturation, a warm glaze and canvas relief."""
    half = photo.resize((photo.width // 2, photo.height // 2), Image.Resampling.BOX)
    strokes = half.filter(ImageFilter.MedianFilter(5)).filter(ImageFilter.ModeFilter(5)).filter(ImageFilter.SMOOTH)
    strokes = ImageEnhance.Color(strokes.resize(photo.size, Image.Resampling.BICUBIC)).enhance(1.45)
    glazed = Image.blend(strokes, Image.new("RGB", photo.size, mix(accent, (200, 140, 60), 0.5)), 0.12)
    relief = strokes.convert("L").filter(ImageFilter.EMBOSS).convert("RGB")
    return ImageEnhance.Contrast(ImageChops.overlay(glazed, relief)).enhance(1.1)


def sketch(photo: Image.Image, base: RGB, accent: RGB, ink: RGB) -> Image.Image:
    """A charcoal sketch: contour lines over soft tone on warm paper."""
    gray = ImageOps.autocontrast(photo.convert("L"), cutoff=1)
    contour = gray.filter(ImageFilter.GaussianBlur(1)).filter(ImageFilter.CONTOUR)
    tone = gray.point(lambda v: 150 + v * 105 // 255)
    drawn = ImageChops.multiply(ImageOps.autocontrast(contour, cutoff=2), tone)
    return ImageOps.colorize(drawn, black=mix(base, (20, 20, 20), 0.7), white=(246, 240, 228))


def professional(photo: Image.Image, base: RGB, accent: RGB, ink: RGB) -> Image.Image:
    """The subject, graded, on a studio backdrop in the accent colour that fades in with a vignette."""
    graded = ImageEnhance.Contrast(ImageEnhance.Color(photo).enhance(0.92)).enhance(1.08)
    backdrop = Image.radial_gradient("L").resize(photo.size)
    light, dark = mix(accent, (255, 255, 255), 0.25), mix(accent, (0, 0, 0), 0.45)
    studio = Image.composite(Image.new("RGB", photo.size, dark), Image.new("RGB", photo.size, light), backdrop)
    keep = Image.new("L", photo.size, 0)
    w, h = photo.size
    ImageDraw.Draw(keep).ellipse((w * 0.16, h * 0.06, w * 0.84, h * 1.15), fill=255)
    keep = keep.filter(ImageFilter.GaussianBlur(w // 14))
    framed = Image.composite(graded, studio, keep)
    corners = Image.radial_gradient("L").resize(photo.size).point(lambda v: max(0, v - 110) * 2 // 3)
    return Image.composite(Image.new("RGB", photo.size, mix(base, (0, 0, 0), 0.5)), framed, corners)


TREATMENTS = {"duotone": duotone, "oil": oil, "popart": popart, "watercolour": watercolour, "sketch": sketch,
              "professional": professional}
