"""The worker encodes each image once at the quality its use needs: the finished image as a JPEG that looks the same
as the lossless picture, the AI mark added to its bytes, and the thumbnail from one cheap downscale (the share
preview waits for its first request); the faster paths give the same pixels as the ones they replaced."""

from __future__ import annotations

import io
import math
import uuid
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from media import samples
from media.art.canvas import Canvas, gradient, premultiplied, rgba
from media.compositor.compose import BOX, _cover, _ease, _fill, _scrim, compose
from media.compositor.contrast import RGB
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


@pytest.mark.parametrize("area", [(60, 700, 900, 1000), (100, 760, 1820, 1020), (100, 60, 1820, 300)])
def test_a_scrim_widened_from_its_one_line_has_the_pixels_of_the_mask_resampled_and_turned(area: BOX) -> None:
    canvas = Image.effect_noise((1920, 1080), 60).convert("RGB")
    bounds, pad, shade = (area[0] + 20, area[1] + 30, area[2] - 40, area[3] - 20), 30, (20, 10, 40)
    old = canvas.copy()
    # the way it was made before: the line resampled to the whole canvas (turned for a top or bottom scrim)
    reach = max(5 * pad, min(canvas.size) // 3)
    left, low = area[2] < canvas.width * 0.7, (area[1] + area[3]) / 2 > canvas.height / 2
    length, span = (canvas.width, canvas.height) if left else (canvas.height, canvas.width)
    solid = bounds[2] if left else canvas.height - bounds[1] if low else bounds[3]
    line = Image.new("L", (length, 1))
    line.putdata([round(210 * _ease(1 - (i - solid) / reach)) if i > solid else 210 for i in range(length)])
    mask = line.resize((length, span))
    if not left:
        mask = mask.transpose(Image.Transpose.ROTATE_270)
        if low:
            mask = mask.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    old.paste(shade, (0, 0, *canvas.size), mask)
    _scrim(canvas, area, bounds, pad, shade)
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


def neon_shapes(pen: ImageDraw.ImageDraw, color: Callable[[RGB, int], tuple[int, int, int, int]]) -> None:
    """A ring, a crossing line, a fan of floor lines and a star, in ``color`` (plain or premultiplied)."""
    pen.ellipse((300, 100, 660, 460), outline=color((255, 200, 80), 255), width=8)
    pen.line((0, 500, 960, 300), fill=color((60, 220, 255), 200), width=4)
    for x in range(40, 960, 90):
        pen.line((480, 330, x, 540), fill=color((255, 60, 200), 200), width=3)
    pen.ellipse((100, 60, 106, 66), fill=color((255, 255, 255), 180))


def test_a_light_layer_holds_the_values_of_a_plain_layer_premultiplied_by_pillow_and_lays_the_same() -> None:
    canvas = Canvas.start((960, 540), ("#101020", "#f59e0b", "#f9fafb"), 3, "teaser")
    light, pen = canvas.light_layer()
    neon_shapes(pen, premultiplied)
    plain = Image.new("RGBA", light.size, (0, 0, 0, 0))
    neon_shapes(ImageDraw.Draw(plain), rgba)
    assert light.mode == "RGBa" and light.tobytes() == plain.convert("RGBa").tobytes()
    assert [premultiplied((v, 255 - v, 7), a)[:3] for v in (0, 1, 127, 128, 254, 255) for a in (0, 1, 128, 200, 255)] \
        == [Image.new("RGBA", (1, 1), (v, 255 - v, 7, a)).convert("RGBa").getpixel((0, 0))[:3]  # type: ignore[index]
            for v in (0, 1, 127, 128, 254, 255) for a in (0, 1, 128, 200, 255)]
    laid = Image.effect_noise(light.size, 60).convert("RGB")
    pasted = laid.copy()
    laid.paste(light, (0, 0), light)
    pasted.paste(plain, (0, 0), plain)
    assert max(e[1] for e in ImageChops.difference(laid, pasted).getextrema()) <= 1


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080), (1081, 1441), (7, 3), (1, 700), (300, 1)])
def test_the_gradient_widened_from_one_column_has_the_pixels_of_mixing_two_full_size_fills(size: tuple[int, int]
                                                                                           ) -> None:
    for top, bottom in (((10, 8, 30), (60, 20, 80)), ((255, 255, 255), (0, 0, 0)), ((3, 200, 17), (250, 1, 99))):
        old = Image.new("RGB", size, top)
        old.paste(bottom, (0, 0, *size), Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR))
        assert gradient(size, top, bottom).tobytes() == old.tobytes()


def test_the_lit_ground_made_at_a_quarter_size_looks_as_the_one_screened_at_full_size() -> None:
    top, bottom = (10, 8, 30), (60, 20, 80)
    canvas = Canvas.start((960, 540), ("#101020", "#f59e0b", "#f9fafb"), 3, "teaser")
    light, pen = canvas.light_layer()
    neon_shapes(pen, premultiplied)
    layer = Image.new("RGBA", light.size, (0, 0, 0, 0))
    neon_shapes(ImageDraw.Draw(layer), rgba)
    # the way it was made before: a full-size gradient, the quarter-size bloom enlarged, laid on black and
    # screened twice at full size, then the plain layer laid on top
    ground = Image.new("RGB", layer.size, top)
    ground.paste(bottom, (0, 0, *layer.size), Image.linear_gradient("L").resize(layer.size, Image.Resampling.BILINEAR))
    small = layer.resize((240, 135), Image.Resampling.BILINEAR)
    bloom = small.filter(ImageFilter.GaussianBlur(50 / 4)).resize(layer.size, Image.Resampling.BILINEAR)
    lit = Image.new("RGB", layer.size, (0, 0, 0))
    lit.paste(bloom, (0, 0), bloom)
    before = ImageChops.screen(ImageChops.screen(ground, lit), lit)
    before.paste(layer, (0, 0), layer)
    canvas.glow(light, 50, top=top, bottom=bottom)
    difference = max(e[1] for e in ImageChops.difference(canvas.image, before).getextrema())
    assert psnr(canvas.image, before) > 50 and difference <= 4  # measured 55.7 dB, 3 levels
    plain = Canvas.start((960, 540), ("#101020", "#f59e0b", "#f9fafb"), 3, "teaser")
    plain.glow(layer, 50, top=top, bottom=bottom)  # a plain layer is converted: the same picture
    assert max(e[1] for e in ImageChops.difference(plain.image, canvas.image).getextrema()) <= 1


def test_the_composed_picture_is_returned_with_the_finished_image_for_the_derived_images() -> None:
    art, values = artwork("social-tip")
    template = load_catalog().get("social-tip")
    done = finish(template, values, art)
    assert done.picture.tobytes() == compose(art.picture, template, values).image.tobytes()
