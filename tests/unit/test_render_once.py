"""The worker encodes each image once at the quality its use needs: the finished image as a JPEG that looks the same
as the lossless picture, the AI mark added to its bytes, and the thumbnail from one cheap downscale (the share
preview waits for its first request); the faster paths give the same pixels as the ones they replaced."""

from __future__ import annotations

import io
import math
import uuid

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from media import samples
from media.art.canvas import Canvas
from media.compositor.compose import _cover, _fill, compose
from media.compositor.result import finish
from media.image_stores.thumbnails import THUMBNAIL_GAP, _jpeg, open_graph, shrunk, thumbnail
from media.marks import TRAINED_ALGORITHMIC_MEDIA, MarkError, with_xmp
from media.models.local import paint
from media.ports import ImageResult
from media.templates import load_catalog

pytestmark = pytest.mark.unit


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of two RGB pictures of the same size, in dB."""
    counts = ImageChops.difference(a, b).histogram()
    mse = sum(n * (level % 256) ** 2 for level, n in enumerate(counts)) / (3 * a.width * a.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def artwork(template_id: str) -> tuple[ImageResult, dict[str, str]]:
    """The local model's art for a template (its first style, English text), handed over as a picture."""
    template = load_catalog().get(template_id)
    values = samples.variables(template, samples.styles(template)[0], "en")
    ask = samples.request(template, values, uuid.UUID(int=5))
    return ImageResult(data=b"", content_type="image/png", provider="local", model="pillow", seed=1,
                       picture=paint(ask, 1.0)), values


@pytest.mark.parametrize("template_id", ["social-achievement", "teaser-banner", "poster-course-launch"])
def test_the_finished_jpeg_looks_the_same_as_the_lossless_picture(template_id: str) -> None:
    art, values = artwork(template_id)
    done = finish(load_catalog().get(template_id), values, art)
    assert done.content_type == "image/jpeg" and done.data[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(done.data)) as stored:
        assert stored.size == done.picture.size
        assert psnr(stored.convert("RGB"), done.picture) > 40  # no difference to the eye (measured 41.5-50 dB)


def test_the_compositor_takes_the_local_models_picture_as_it_is_and_leaves_it_unchanged() -> None:
    art, values = artwork("teaser-banner")
    before = art.picture.tobytes()
    done = finish(load_catalog().get("teaser-banner"), values, art)
    png = io.BytesIO()
    art.picture.save(png, format="PNG")
    from_bytes = finish(load_catalog().get("teaser-banner"), values, ImageResult(
        data=png.getvalue(), content_type="image/png", provider="local", model="pillow", seed=1))
    assert art.picture.tobytes() == before and done.picture.tobytes() == from_bytes.picture.tobytes()


def test_covering_resamples_only_the_kept_part_with_the_pixels_of_scaling_the_whole() -> None:
    art = Image.effect_noise((832, 1248), 60).convert("RGB")
    scaled = art.resize((1024, 1536), Image.Resampling.BICUBIC)  # the old way: all of it, then the crop
    assert max(e[1] for e in ImageChops.difference(_cover(art, (1024, 1536)), scaled).getextrema()) <= 1
    wide = Image.effect_noise((1344, 768), 60).convert("RGB")
    whole = wide.resize((1920, 1097), Image.Resampling.BICUBIC).crop((0, 8, 1920, 1088))
    assert max(e[1] for e in ImageChops.difference(_cover(wide, (1920, 1080)), whole).getextrema()) <= 1


def test_a_scrim_or_panel_is_laid_only_where_its_mask_shows_with_the_same_pixels() -> None:
    canvas = Image.effect_noise((300, 200), 60).convert("RGB")
    mask = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((40, 30, 220, 120), radius=20, fill=235)
    old = canvas.copy()
    old.paste(Image.new("RGB", canvas.size, (20, 30, 40)), (0, 0), mask)
    _fill(canvas, (20, 30, 40), mask)
    assert canvas.tobytes() == old.tobytes()
    _fill(canvas, (255, 0, 0), Image.new("L", canvas.size, 0))  # an empty mask changes nothing
    assert canvas.tobytes() == old.tobytes()


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1350), (1080, 1080), (1080, 1920), (1024, 1536)])
def test_the_thumbnail_reduced_by_a_whole_factor_first_matches_one_resampled_from_the_whole(
        size: tuple[int, int]) -> None:
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    ImageDraw.Draw(picture).rectangle((0, size[1] - 120, size[0], size[1]), fill=(0, 0, 250))  # a date line
    image = ImageResult(data=b"", content_type="image/jpeg", provider="local", model="pillow", seed=1,
                        picture=picture)
    with Image.open(io.BytesIO(thumbnail(image))) as small:
        assert small.format == "JPEG" and max(small.size) == 640
        whole = picture.resize(small.size, Image.Resampling.BICUBIC)
        assert psnr(small.convert("RGB"), whole) > 35
        assert f'DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in str(small.info.get("xmp"))
    with Image.open(io.BytesIO(open_graph(image))) as preview:
        assert preview.size == (1200, 630)
        band = preview.getpixel((600, 620))
        assert isinstance(band, tuple) and band[2] > 150  # the whole picture is kept: its bottom band shows
        assert f'DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in str(preview.info.get("xmp"))
    assert picture.size == size and picture.getpixel((0, 0)) == (0, 0, 0)  # the picture itself is untouched


@pytest.mark.parametrize("template_id", ["teaser-banner", "social-story", "poster-course-launch"])
def test_a_finished_images_thumbnail_looks_the_same_as_one_resampled_from_the_whole(template_id: str) -> None:
    art, values = artwork(template_id)
    done = finish(load_catalog().get(template_id), values, art)
    with Image.open(io.BytesIO(thumbnail(done))) as small:
        whole = done.picture.resize(small.size, Image.Resampling.BICUBIC)
        reduced = shrunk(done.picture, small.size, reducing_gap=THUMBNAIL_GAP)
        assert psnr(reduced, whole) > 39  # the cheap downscale itself: measured 40.5-47 dB
        with Image.open(io.BytesIO(_jpeg(whole, quality=80))) as before:  # the thumbnail as it was made
            assert psnr(small.convert("RGB"), whole) > psnr(before.convert("RGB"), whole) - 2  # measured 0.4-1.4 dB


def jpeg(app0: bool = True) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 8), (200, 40, 40)).save(out, format="JPEG", quality=95)
    data = out.getvalue()
    if not app0:  # a JPEG without its JFIF segment, as some encoders write it
        length = int.from_bytes(data[4:6], "big")
        data = data[:2] + data[4 + length:]
    return data


@pytest.mark.parametrize("app0", [True, False])
def test_the_ai_mark_goes_into_a_jpeg_without_touching_its_pixels(app0: bool) -> None:
    original = jpeg(app0)
    marked = with_xmp(original)
    with Image.open(io.BytesIO(marked)) as image, Image.open(io.BytesIO(original)) as plain:
        assert f'DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"' in str(image.info.get("xmp"))
        assert image.tobytes() == plain.tobytes()
    if app0:
        assert marked[2:4] == b"\xff\xe0"  # JFIF keeps its place first


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\xff\xd8", b"\xff\xd8\xff\xe0\x00", b"\xff\xd8\x00\x00",
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, "é".encode() * 20, b"\xff\xd8" + b"\x00" * 10**6])
def test_bytes_that_are_not_a_png_or_jpeg_are_refused_by_name(data: bytes) -> None:
    with pytest.raises(MarkError, match="cannot carry the AI mark"):
        with_xmp(data)


def test_the_bloom_made_at_a_quarter_size_looks_as_the_full_size_one_did() -> None:
    canvas = Canvas.start((960, 540), ("#101020", "#f59e0b", "#f9fafb"), 3, "teaser")
    canvas.vertical_gradient((10, 8, 30), (60, 20, 80))
    layer, pen = canvas.layer()
    pen.ellipse((300, 100, 660, 460), outline=(255, 200, 80, 255), width=8)
    pen.line((0, 500, 960, 300), fill=(60, 220, 255, 200), width=4)
    # the way it was made before: the blurred layer enlarged, laid on black, screened twice at full size
    small = layer.resize((240, 135), Image.Resampling.BILINEAR)
    bloom = small.filter(ImageFilter.GaussianBlur(50 / 4)).resize(layer.size, Image.Resampling.BILINEAR)
    lit = Image.new("RGB", layer.size, (0, 0, 0))
    lit.paste(bloom, (0, 0), bloom)
    before = ImageChops.screen(ImageChops.screen(canvas.image, lit), lit)
    before.paste(layer, (0, 0), layer)
    canvas.glow(layer, 50)
    assert psnr(canvas.image, before) > 45 and max(e[1] for e in ImageChops.difference(canvas.image, before)
                                                   .getextrema()) <= 4


def test_the_composed_picture_is_returned_with_the_finished_image_for_the_derived_images() -> None:
    art, values = artwork("social-tip")
    template = load_catalog().get("social-tip")
    done = finish(template, values, art)
    assert done.picture.tobytes() == compose(art.picture, template, values).image.tobytes()
