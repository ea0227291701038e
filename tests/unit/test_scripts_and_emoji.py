"""Every script learners write, and emoji: each sample sentence set with every character mapped to a glyph (or an
emoji picture), conjuncts shaped, Urdu right to left, emoji in colour at the text's size, at the native size of
every template."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from media import samples
from media.compositor import compose
from media.compositor import runs as layout
from media.compositor.fit import fit, hyphenate
from media.compositor.fonts import face_for, font, font_path, script_of, unprintable
from media.templates import Template, load_catalog
from media.text import clusters, is_emoji, right_to_left
from tests.support.compositor import art, check

pytestmark = pytest.mark.unit
CATALOG = load_catalog()
NEW = ("bn", "gu", "pa", "kn", "ml", "or", "ur")
SENTENCES = {  # a sentence in each script, with a conjunct (or Urdu's joined letters), digits and Latin
    "bengali": ("আজই নতুন কিছু শিখুন: বিদ্যা, ক্ষমতা, শ্রী, ২০২৬ Python", "ক্ষ"),
    "gujarati": ("આજે જ કંઈક નવું શીખો: વિદ્યા, ક્ષમતા, શ્રી, ૨૦૨૬ Python", "ક્ષ"),
    "gurmukhi": ("ਅੱਜ ਹੀ ਕੁਝ ਨਵਾਂ ਸਿੱਖੋ: ਪ੍ਰੀਤ, ਸ੍ਰੀ, ਦ੍ਵਾਰ, ੨੦੨੬ Python", "ਪ੍ਰ"),
    "kannada": ("ಇಂದೇ ಹೊಸದನ್ನು ಕಲಿಯಿರಿ: ವಿದ್ಯಾ, ಕ್ಷಮೆ, ಶ್ರೀ, ೨೦೨೬ Python", "ಕ್ಷ"),
    "malayalam": ("ഇന്ന് തന്നെ പുതിയത് പഠിക്കൂ: വിദ്യ, ക്ഷമ, ശ്രീ, 2026 Python", "ക്ഷ"),
    "oriya": ("ଆଜି ହିଁ କିଛି ନୂଆ ଶିଖନ୍ତୁ: ବିଦ୍ୟା, କ୍ଷମା, ଶ୍ରୀ, ୨୦୨୬ Python", "କ୍ଷ"),
    "devanagari": ("आज ही कुछ नया सीखें: विद्या, क्षमता, श्री, २०२६ Python", "क्ष"),
    "arabic": ("آج ہی کچھ نیا سیکھیں: Python کورس، 2026 میں ۳ نشستیں", ""),
}
EMOJI = ["🎉", "🔥", "🛸", "❤️", "👍🏽", "👩\u200d👩\u200d👧", "👩🏾\u200d💻", "🇮🇳", "🏳️\u200d🌈", "#️⃣", "1️⃣",
         "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"]


@pytest.mark.parametrize("script", list(SENTENCES))
def test_every_character_of_a_sentence_in_each_script_maps_to_a_glyph_of_its_own_font(script: str) -> None:
    text, _ = SENTENCES[script]
    assert script_of(text) == script
    for role in ("display", "text"):
        assert unprintable(text, script, role) == []
        for cluster in clusters(text):
            if any(char.isalpha() and not char.isascii() for char in cluster):
                assert face_for(cluster, script, role) == font_path(script, role), cluster
        letters = [run for run in layout.runs(text, script, role) if run.font == font_path(script, role)]
        assert letters and all(run.picture is None for run in layout.runs(text, script, role))


@pytest.mark.parametrize("script", [s for s in SENTENCES if SENTENCES[s][1]])
def test_a_conjunct_is_shaped_into_one_glyph_cluster_narrower_than_its_letters_with_a_visible_virama(
        script: str) -> None:
    conjunct = SENTENCES[script][1]
    face = font(script, "display", "bold", 64)
    explicit = conjunct[:2] + "\u200c" + conjunct[2:]  # ZWNJ after the virama: the letters side by side
    assert face.getlength(conjunct) < face.getlength(explicit) - 10


def line(text: str, script: str, size: int = 64) -> Image.Image:
    face = font(script, "display", "bold", size)
    canvas = Image.new("RGB", (900, size * 2), "white")
    layout.draw_line(canvas, (0, 0), text, script=script, role="display", weight="bold", size=size,
                     ascent=face.getmetrics()[0], color=(0, 0, 0), rtl=right_to_left(text))
    return canvas


def test_urdu_runs_right_to_left_with_latin_digits_and_words_in_reading_order() -> None:
    # the number ends the sentence, so it is set leftmost, exactly as it looks on its own
    whole, digits = line("کورس 2026", "arabic"), line("2026", "arabic")
    wide = round(font("arabic", "display", "bold", 64).getlength("2026"))
    assert ImageChops.difference(whole.crop((0, 0, wide, 128)), digits.crop((0, 0, wide, 128))).getbbox() is None
    assert digits.crop((0, 0, wide, 128)).convert("L").getextrema()[0] == 0  # there is ink to compare
    # an emoji at the start of an Urdu line is set at its right end
    drawn = line("🎉 اردو", "arabic")
    ink = ImageChops.difference(drawn, Image.new("RGB", drawn.size, "white")).getbbox()
    assert ink is not None
    colour = [x for x in range(ink[0], ink[2]) for y in range(0, drawn.height, 4)
              if len(set(drawn.getpixel((x, y)))) > 1]  # type: ignore[arg-type]
    assert colour and min(colour) > (ink[0] + ink[2]) / 2


def test_an_urdu_slot_keeps_to_the_right_of_its_box() -> None:
    template = CATALOG.get("social-announcement")
    left = next(s for s in template.layout.slots or () if s.name == "headline")
    composed = compose(Image.new("RGB", (8, 8), "gray"), template, {"headline": "آج ہی کچھ نیا سیکھیں"})
    placed = next(p for p in composed.placements if p.slot == "headline")
    assert placed.script == "arabic" and placed.font.startswith("Amiri-")
    assert left.align == "left"  # the slot keeps to the left in English...
    assert placed.bounds[2] == placed.area[2] and placed.bounds[0] > placed.area[0]  # ...and Urdu to the right


def test_every_emoji_of_a_set_is_drawn_in_colour_as_one_picture_scaled_to_the_text() -> None:
    text = " ".join(EMOJI)
    assert all(is_emoji(e) for e in EMOJI) and clusters(text)[::2] == EMOJI
    assert unprintable(text, "latin", "display") == []
    pictures = [run for run in layout.runs(text, "latin", "display") if run.picture is not None]
    assert [run.text for run in pictures] == EMOJI
    for size in (32, 96):
        step = layout.emoji_side(size) + 2 * round(size * layout.EMOJI_GAP)
        assert layout.width("🎉", script="latin", role="display", weight="bold", size=size) == step
        drawn = line("👩\u200d👩\u200d👧", "latin", size)
        ink = ImageChops.difference(drawn, Image.new("RGB", drawn.size, "white")).getbbox()
        assert ink is not None and abs((ink[2] - ink[0]) - layout.emoji_side(size)) <= 0.15 * size
        assert len(drawn.crop(ink).getcolors(1 << 16) or []) > 20  # in colour, not a black box


def test_emoji_wrap_and_fit_as_glyphs_of_their_own_width_never_split() -> None:
    family = "👩\u200d👩\u200d👧"
    fitted = fit(f"Family day {family}{family}{family} 🎉🔥", script="latin", role="display", weight="bold",
                 sizes=(40, 120), width=420, height=600, max_lines=4)
    assert all(family in ln or "\u200d" not in ln for ln in fitted.lines)
    assert fitted.width <= 420
    word = "Celebrate" + family * 4
    face_width = lambda piece: layout.width(piece, script="latin", role="display", weight="bold", size=60)  # noqa: E731
    pieces = hyphenate(word, face_width, 300)
    assert "".join(p.removesuffix("-") for p in pieces) == word
    assert all(not p.removesuffix("-").endswith("\u200d") for p in pieces)


@pytest.mark.parametrize("language", [*NEW, "emoji"])
@pytest.mark.parametrize("template", CATALOG.all(), ids=lambda t: t.id)
def test_each_script_and_emoji_render_in_every_template_at_native_size_inside_the_margin_and_readable(
        template: Template, language: str) -> None:
    check(template, samples.variables(template, samples.styles(template)[0], language), language)


def test_the_worker_refuses_nothing_the_request_accepted() -> None:
    template = CATALOG.get("social-story")
    values = {"offer": "Ünïcödé and émojis 🎉 — 30% off!"}
    composed = compose(art(template, values), template, values)
    assert any("🎉" in p.text for p in composed.placements)


def test_a_paragraph_reads_right_to_left_only_when_its_first_letter_is_urdu() -> None:
    assert right_to_left("کورس 2026") and right_to_left("🎉 2026 اردو Python")
    assert not right_to_left("Learn Urdu: اردو") and not right_to_left("🎉 2026")
    template = CATALOG.get("social-announcement")
    headline = next(s for s in template.layout.slots or () if s.name == "headline")
    composed = compose(Image.new("RGB", (8, 8), "gray"), template, {"headline": "Learn Urdu: اردو"})
    placed = next(p for p in composed.placements if p.slot == "headline")
    assert headline.align == "left"  # an English sentence with an Urdu word keeps the slot's own alignment
    assert placed.bounds[0] == placed.area[0]
