"""Urdu in Amiri (a Naskh): a static family set at the slot's weight, Noto Sans Arabic for what it lacks, lines far
enough apart that no letter touches the line above, and every mark inside the text's box."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image, ImageChops, ImageDraw

from media.compositor import compose, fonts
from media.compositor import runs as layout
from media.compositor.fit import fit
from media.compositor.fonts import coverage, face, face_for, font_path, unprintable, weighted
from media.templates import TemplateError, load_catalog

pytestmark = pytest.mark.unit
CATALOG = load_catalog()
# ج and its kin reach furthest below the baseline, a mark stacked over ی (اعلیٰ) furthest above it
TALL_AND_DEEP = "اعلیٰ حج کچھ عیسیٰ جج اعلیٰ گلگت حج اعلیٰ"


def test_urdu_is_set_in_amiri_at_the_file_nearest_the_slots_weight() -> None:
    family = font_path("arabic", "display")
    assert family.name == "Amiri-Regular.ttf"
    chosen = {weight: weighted(family, weight).name for weight in fonts.WEIGHTS}
    assert chosen == {"regular": "Amiri-Regular.ttf", "medium": "Amiri-Regular.ttf", "semibold": "Amiri-Bold.ttf",
                      "bold": "Amiri-Bold.ttf", "black": "Amiri-Bold.ttf"}
    assert face(family, "bold", 40).getname() == ("Amiri", "Bold")
    assert face(family, "regular", 40).getname() == ("Amiri", "Regular")
    template = CATALOG.get("social-announcement")
    composed = compose(Image.new("RGB", (8, 8), "gray"), template, {"headline": "آج ہی کچھ نیا سیکھیں"})
    assert {p.slot: p.font for p in composed.placements}["headline"] == "Amiri-Bold.ttf"  # a bold slot


def test_a_variable_font_is_still_one_file_set_on_its_weight_axis() -> None:
    latin = font_path("latin", "display")
    assert weighted(latin, "bold") == latin
    assert face(latin, "bold", 64).getlength("Python") > face(latin, "regular", 64).getlength("Python") + 5


def test_a_character_amiri_lacks_is_set_in_noto_sans_arabic_before_any_other_script() -> None:
    number_mark = "\u0605"  # ARABIC NUMBER MARK ABOVE: Noto Sans Arabic has it, Amiri does not
    chosen = face_for(number_mark, "arabic", "display")
    assert chosen is not None and chosen.name.startswith("NotoSansArabic")
    assert [run.font.name for run in layout.runs(f"کورس {number_mark}", "arabic", "display") if run.font] == [
        "Amiri-Regular.ttf", chosen.name]


def test_a_static_family_covers_only_what_every_weight_of_it_has() -> None:
    regular, bold = (weighted(font_path("arabic", "text"), w) for w in ("regular", "bold"))
    alef = "\U0001ee00"  # ARABIC MATHEMATICAL ALEF: in Amiri Regular only, and in no other font
    assert ord(alef) in fonts._cmap(regular) and ord(alef) not in fonts._cmap(bold)
    assert ord(alef) not in coverage(font_path("arabic", "text"))
    assert unprintable(f"کورس {alef}", "arabic", "text") == [alef]  # refused, never a box in a bold slot


def _ink(line: str, size: int, weight: str) -> tuple[int, int]:
    # how far the drawn line reaches above and below its baseline, in pixels
    baseline = 3 * size
    canvas = Image.new("RGB", (40 * size, 6 * size), "white")
    layout.draw_line(canvas, (0, 0), line, script="arabic", role="display", weight=weight, size=size,
                     ascent=baseline, color=(0, 0, 0), rtl=True)
    box = ImageChops.difference(canvas, Image.new("RGB", canvas.size, "white")).getbbox()
    assert box is not None
    return baseline - box[1], box[3] - baseline


@pytest.mark.parametrize("weight", ["regular", "bold"])
def test_lines_of_urdu_are_far_enough_apart_that_no_letter_touches_the_line_above(weight: str) -> None:
    fitted = fit(TALL_AND_DEEP, script="arabic", role="display", weight=weight, sizes=(60, 60), width=300,
                 height=2000, max_lines=8)
    assert len(fitted.lines) >= 3
    reach = [_ink(line, fitted.size, weight) for line in fitted.lines]
    for (_, below), (above, _) in itertools.pairwise(reach):
        assert below + above <= fitted.line_height, (reach, fitted.line_height)
    assert reach[0][0] <= fitted.ascent  # the first line's marks inside the box
    assert reach[-1][1] <= fitted.height - fitted.ascent - fitted.line_height * (len(fitted.lines) - 1)


@pytest.mark.parametrize("template_id", ["poster-motivational", "teaser-thumbnail"])  # one slot each
def test_a_mark_stacked_over_an_urdu_letter_stays_inside_the_box_its_contrast_is_measured_in(template_id: str) -> None:
    template = CATALOG.get(template_id)
    name = next(v.name for v in template.variables if v.type == "text")
    composed = compose(Image.new("RGB", (8, 8), "gray"), template, {name: "اعلیٰ عیسیٰ"})
    placed = next(p for p in composed.placements if "اعلیٰ" in p.text)
    ink = ImageChops.difference(composed.image, composed.background).getbbox()
    assert ink is not None
    x0, y0, x1, y1 = placed.bounds
    assert x0 - 2 <= ink[0] and ink[2] <= x1 + 2 and y0 <= ink[1] and ink[3] <= y1, (ink, placed.bounds)


def test_start_up_refuses_a_missing_fallback_font_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.bootstrap import check_typesetting

    check_typesetting()
    monkeypatch.setitem(fonts.FALLBACK, "arabic", ("fontpkg_noto_sans_arabic", "files/Missing.ttf"))
    with pytest.raises(TemplateError, match=r"^no arabic fallback \(files/Missing.ttf\) font: install .*"
                                            r"\(fontpkg-noto-sans-arabic\)$"):
        check_typesetting()
    monkeypatch.setitem(fonts.FONTS, "arabic", {"display": ("fontpkg_amiri", {"regular": "files/Amiri-Regular.ttf",
                                                                               "bold": "files/Gone-Bold.ttf"})})
    with pytest.raises(TemplateError, match="no arabic display"):
        check_typesetting()


def test_urdu_digits_are_drawn_in_urdus_own_forms_of_four_six_and_seven() -> None:
    digits, size = "۱۲۳۴۵۶۷", 80
    regular = face(font_path("arabic", "display"), "regular", size)

    def drawn(language: str | None) -> Image.Image:
        canvas = Image.new("RGB", (12 * size, 3 * size), "white")
        if language == "line":  # as the compositor sets an Urdu line
            layout.draw_line(canvas, (0, 0), digits, script="arabic", role="display", weight="regular", size=size,
                             ascent=2 * size, color=(0, 0, 0), rtl=True)
        else:
            ImageDraw.Draw(canvas).text((0, 2 * size), digits, font=regular, fill=(0, 0, 0), anchor="ls",
                                        direction="rtl", language=language)
        return canvas

    urdu, persian = drawn("ur"), drawn(None)
    assert ImageChops.difference(urdu, persian).getbbox() is not None  # Amiri has forms of its own for Urdu
    assert ImageChops.difference(drawn("line"), urdu).getbbox() is None
    assert layout.width(digits, script="arabic", role="display", weight="regular", size=size, rtl=True) == (
        regular.getlength(digits, direction="rtl", language="ur"))
