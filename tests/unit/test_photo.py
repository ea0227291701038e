"""The learner's photo: cropped square around its subject, transformed per style, read safely; share variants."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from media import samples
from media.art.photo import TREATMENTS, UnreadablePhoto, square_crop, subject_centre, treat
from media.errors import StorageError
from media.image_stores.thumbnails import open_graph, thumbnail
from media.ports import ImageResult

pytestmark = pytest.mark.unit
PALETTE = ("#0f172a", "#38bdf8", "#f8fafc")


def busy_on_the_right() -> Image.Image:
    """A flat landscape photo whose only detail (a striped 'face') is near its right edge."""
    photo = Image.new("RGB", (900, 400), (200, 200, 200))
    pen = ImageDraw.Draw(photo)
    for k in range(0, 200, 10):
        pen.rectangle((640, 100 + k, 840, 104 + k), fill=(20, 20, 20))
    return photo


def result(data: bytes, picture: Image.Image | None = None) -> ImageResult:
    """A rendered image as a store receives it."""
    return ImageResult(data=data, content_type="image/png", provider="local", model="local", seed=1, picture=picture)


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def test_the_square_crop_follows_the_centre_of_detail_not_the_middle_of_the_frame() -> None:
    photo = busy_on_the_right()
    cx, _ = subject_centre(photo)
    assert 0.7 < cx < 0.95
    square = square_crop(photo, 400)
    assert square.size == (400, 400)
    assert square.crop((300, 0, 400, 400)).getextrema()[0][0] < 50  # the stripes are inside the crop
    assert square.crop((0, 0, 100, 400)).getextrema()[0] == (200, 200)  # the flat left part is mostly cut away


@pytest.mark.parametrize("treatment", sorted(TREATMENTS))
def test_each_style_transforms_the_learners_photo_into_a_square(treatment: str) -> None:
    photo = samples.SAMPLE_PHOTO.read_bytes()
    treated = treat(photo, treatment, 256, PALETTE, None)
    plain = square_crop(Image.open(io.BytesIO(photo)).convert("RGB"), 256)
    assert treated.size == (256, 256)
    difference = sum(abs(a - b) for a, b in zip(treated.tobytes(), plain.tobytes(), strict=True)) / (256 * 256 * 3)
    assert difference > 8, f"{treatment} left the photo almost unchanged"
    others = {name: treat(photo, name, 256, PALETTE, None).tobytes() for name in TREATMENTS}
    assert sum(v == treated.tobytes() for v in others.values()) == 1


def test_the_learners_colour_tints_the_duotone() -> None:
    photo = samples.SAMPLE_PHOTO.read_bytes()
    green = treat(photo, "duotone", 64, PALETTE, "#22c55e").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    red = treat(photo, "duotone", 64, PALETTE, "#ef4444").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(green, tuple) and isinstance(red, tuple) and green[1] > red[1] and red[0] > green[0]


def test_a_file_that_is_not_an_image_is_refused_by_name() -> None:
    with pytest.raises(UnreadablePhoto, match="not a readable photo"):
        treat(b"%PDF-1.7 not a photo", "duotone", 64, PALETTE)


def test_the_open_graph_variant_is_1200_by_630_and_keeps_a_portrait_whole() -> None:
    poster = Image.new("RGB", (1024, 1536), (250, 0, 0))
    ImageDraw.Draw(poster).rectangle((0, 1400, 1024, 1536), fill=(0, 0, 250))  # the bottom band (a date line)
    with Image.open(io.BytesIO(open_graph(result(encoded(poster))))) as preview:
        assert preview.format == "JPEG" and preview.size == (1200, 630)
        bottom = preview.getpixel((600, 625))
        assert isinstance(bottom, tuple) and bottom[2] > 150  # the band is still there, not cropped away


def test_a_thumbnail_keeps_the_whole_picture_at_most_640_pixels_long() -> None:
    poster = Image.new("RGB", (1080, 1350), (0, 120, 0))
    with Image.open(io.BytesIO(thumbnail(result(encoded(poster))))) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (512, 640)


def test_derived_images_come_from_the_picture_in_memory_when_the_compositor_kept_it() -> None:
    poster = Image.new("RGB", (1080, 1350), (0, 120, 0))
    kept = result(b"not decoded again", picture=poster)
    with Image.open(io.BytesIO(thumbnail(kept))) as thumb:
        assert thumb.size == (512, 640) and thumb.getpixel((10, 10))[1] > 100  # type: ignore[index]
    with Image.open(io.BytesIO(open_graph(kept))) as preview:
        assert preview.size == (1200, 630)
    with pytest.raises(StorageError, match="cannot read the image to make a thumbnail"):
        thumbnail(result(b"not an image"))
