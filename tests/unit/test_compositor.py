"""The compositor: every template in every style and script at its native size, text inside the safe margin,
readable, in the font of its script, and never a missing glyph or a clipped line."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from media import samples
from media.compositor import MissingGlyph, TextDoesNotFit, compose
from media.compositor.contrast import FLOOR, readable, worst_contrast
from media.compositor.fit import fit, hyphenate
from media.compositor.fonts import check_glyphs, font, font_path, missing_glyphs, script_of, shaping_available
from media.compositor.result import finish
from media.errors import InvalidInput
from media.ports import ImageResult
from media.templates import Template, load_catalog
from tests.support.compositor import art, check

pytestmark = pytest.mark.unit
CATALOG = load_catalog()
SCRIPT_SAMPLES = {
    "latin": "Zoë\u2019s café — naïve façade, Ünïcödé ÀÉÎÕÜ ñ ß “quotes” 2026 ₹499 50% · São Paulo",
    "devanagari": "डेटा विश्लेषण के लिए पायथन: क्षत्रिय, ज्ञान, श्रृंखला, द्वार, ॐ, ₹४९९ — मराठी: यश मिळवले",
    "tamil": "இன்றே புதிதாகக் கற்றுக்கொள்ளுங்கள்: க்ஷ ஸ்ரீ, தமிழ் ௧௨௩",
    "telugu": "ఈరోజే కొత్తగా నేర్చుకోండి: క్ష శ్రీ, తెలుగు ౧౨౩",
}
@pytest.mark.parametrize("case", list(samples.cases(CATALOG.all())), ids=lambda c: f"{c[0].id}-{c[1]}-{c[2]}")
def test_every_template_style_and_language_renders_at_its_native_size_inside_the_margin_and_readable(
        case: samples.Case) -> None:
    template, style, language = case
    check(template, samples.variables(template, style, language), language)


@pytest.mark.parametrize("language", ["ta", "te"])
@pytest.mark.parametrize("template", CATALOG.all(), ids=lambda t: t.id)
def test_tamil_and_telugu_text_renders_in_every_template(template: Template, language: str) -> None:
    check(template, samples.variables(template, samples.styles(template)[0], language), language)


@pytest.mark.parametrize("script", list(SCRIPT_SAMPLES))
def test_every_character_of_a_sample_in_each_script_has_a_glyph_in_the_chosen_font(script: str) -> None:
    text = SCRIPT_SAMPLES[script]
    assert script_of(text) == script
    for role in ("display", "text"):
        assert missing_glyphs(text, font_path(script, role)) == []
        check_glyphs(text, script, role)


def test_raqm_shapes_devanagari_conjuncts_into_fewer_glyph_advances_than_letters() -> None:
    assert shaping_available()
    face = font("devanagari", "display", "bold", 64)
    # क्ष is three code points shaped into one conjunct: narrower than its letters set side by side
    assert face.getlength("क्ष") < face.getlength("क") + face.getlength("्") + face.getlength("ष")


def test_a_character_no_font_has_is_an_error_never_a_box() -> None:
    with pytest.raises(MissingGlyph, match=r"U\+ABC3"):
        check_glyphs("Well done \uabc3", "latin", "display")  # Meitei Mayek: no packaged font has it
    template = CATALOG.get("social-announcement")
    with pytest.raises(MissingGlyph, match=r"U\+4E2D"):
        compose(Image.new("RGB", (8, 8)), template, {"headline": "中文 course"})


def test_a_missing_glyph_fails_the_generation_as_invalid_input_not_a_broken_image() -> None:
    template = CATALOG.get("social-announcement")
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    artwork = ImageResult(data=out.getvalue(), content_type="image/png", provider="p", model="m", seed=1)
    with pytest.raises(InvalidInput, match="no glyph"):
        finish(template, {"headline": "Launch 中文"}, artwork)
    finished = finish(template, {"headline": "Launch"}, artwork)
    with Image.open(io.BytesIO(finished.data)) as image:
        assert image.size == (1080, 1080) and "compose" in finished.timings


def test_text_wraps_at_words_and_shrinks_within_its_range_before_it_would_overflow() -> None:
    short = fit("Python", script="latin", role="display", weight="bold", sizes=(40, 120), width=900, height=400,
                max_lines=3)
    long = fit("Python for data analysis with pandas and numpy", script="latin", role="display", weight="bold",
               sizes=(40, 120), width=900, height=400, max_lines=3)
    assert short.size == 120 and short.lines == ("Python",)
    assert 40 <= long.size < 120 and 1 < len(long.lines) <= 3 and long.width <= 900 and long.height <= 400
    assert " ".join(long.lines) == "Python for data analysis with pandas and numpy"


def test_a_word_longer_than_the_line_is_hyphenated_and_one_that_cannot_fit_is_refused() -> None:
    face = font("latin", "display", "bold", 60)
    pieces = hyphenate("Internationalisation", face.getlength, 300)
    assert len(pieces) > 1 and all(p.endswith("-") for p in pieces[:-1])
    assert "".join(p.removesuffix("-") for p in pieces) == "Internationalisation"
    assert all(face.getlength(p) <= 300 for p in pieces)
    assert hyphenate("2026-05-03-report.xlsx", face.getlength, 420)[0].endswith(("-", "."))
    with pytest.raises(TextDoesNotFit, match="does not fit"):
        fit("A headline far too long for a tiny box " * 3, script="latin", role="display", weight="bold",
            sizes=(40, 80), width=300, height=100, max_lines=2)


@pytest.mark.parametrize("template", CATALOG.all(), ids=lambda t: t.id)
def test_every_text_variable_at_its_longest_still_fits(template: Template) -> None:
    for words in ("Masterclass", "विश्लेषण"):
        values = samples.variables(template, samples.styles(template)[0], "en")
        for variable in template.variables:
            if variable.type == "text":
                values[variable.name] = " ".join([words] * 40)[: variable.max_length].strip()
        compose(Image.new("RGB", (8, 8), "gray"), template, values)


def test_text_colour_is_adjusted_until_it_meets_the_contrast_floor() -> None:
    assert readable((250, 250, 250), 0.9, 1.0) is not None
    adjusted = readable((250, 200, 200), 0.85, 0.95)
    assert adjusted is not None and worst_contrast(adjusted, 0.85, 0.95) >= FLOOR
    assert worst_contrast((255, 255, 255), 0.0, 0.0) == pytest.approx(21.0)


def test_the_same_generation_id_draws_the_same_image_and_another_id_a_different_one() -> None:
    for template in (CATALOG.get("poster-course-launch"), CATALOG.get("social-story")):
        values = samples.variables(template, samples.styles(template)[1], "en")
        first = samples.render(template, values, uuid.UUID(int=11), scale=0.2).png()
        again = samples.render(template, values, uuid.UUID(int=11), scale=0.2).png()
        other = samples.render(template, values, uuid.UUID(int=12), scale=0.2).png()
        assert first == again and first != other


def test_each_style_draws_different_art_for_the_same_template_and_id() -> None:
    template = CATALOG.get("poster-course-launch")
    drawn = {style: art(template, samples.variables(template, style, "en")).tobytes()
             for style in samples.styles(template)}
    assert len(set(drawn.values())) == len(drawn) == 4


def test_every_prompt_asks_for_artwork_without_text() -> None:
    for template in CATALOG.all():
        values = samples.variables(template, samples.styles(template)[0], "en")
        prompt = template.render(values)
        assert "no text" in prompt.text and prompt.negative.endswith("text, letters, watermark")


def test_a_worker_without_raqm_shaping_refuses_to_start_naming_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    from media.compositor import fonts
    from media.templates import TemplateError
    from service.bootstrap import build_catalog
    from service.settings.media import MediaSettings

    assert build_catalog(MediaSettings()).all()
    monkeypatch.setattr(fonts, "shaping_available", lambda: False)
    with pytest.raises(TemplateError, match="without raqm"):
        build_catalog(MediaSettings())
