"""A profile photo from the learner's own picture: the photo picker uploads it, then the image is made."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.browser.conftest import Studio, Watch, user_name
from tests.browser.steps import choose, demo_purchase, screenshot, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def selfie(path: Path) -> Path:
    """A small JPEG standing in for the learner's photo."""
    image = Image.new("RGB", (480, 640), "#f4d7c4")
    pen = ImageDraw.Draw(image)
    pen.ellipse((120, 140, 360, 440), fill="#c68e6a")
    pen.ellipse((180, 250, 210, 280), fill="#222")
    pen.ellipse((270, 250, 300, 280), fill="#222")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def test_a_learner_makes_a_cartoon_avatar_from_their_own_photo(
        page: Page, studio: Studio, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    sign_in_as(page, studio, user_name(request))
    demo_purchase(page)
    form = choose(page, "Cartoon avatar")
    form.get_by_label("Your photo").set_input_files(selfie(tmp_path / "me.jpg"))
    expect(form.get_by_role("img", name="The photo you chose")).to_be_visible()
    form.get_by_role("radio", name="confident").check()
    screenshot(page, "desktop-photo-en")
    form.get_by_role("button", name="Generate · 3 credits").click()
    expect(form.get_by_role("status")).to_contain_text("Done! Your image is in your gallery.", timeout=20_000)
    expect(page.get_by_role("img", name=re.compile("^Cartoon avatar"))).to_be_visible()
    expect(page.locator("#available")).to_have_text("97")


def test_generating_a_profile_photo_without_a_photo_asks_for_one_at_the_photo_field(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest) -> None:
    sign_in_as(page, studio, user_name(request))
    form = choose(page, "Cartoon avatar")
    form.get_by_role("button", name="Generate · 3 credits").click()
    expect(form.get_by_role("alert").get_by_role("link", name="Choose a photo of yourself")).to_be_visible()
    expect(form.get_by_label("Your photo")).to_have_attribute("aria-invalid", "true")
    form.get_by_role("alert").get_by_role("link", name="Choose a photo of yourself").click()
    expect(form.get_by_label("Your photo")).to_be_focused()


def test_a_file_that_is_not_an_image_is_refused_at_the_photo_field(
        page: Page, watch: Watch, studio: Studio, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    watch.expect_answer(422)
    sign_in_as(page, studio, user_name(request))
    demo_purchase(page)
    form = choose(page, "Cartoon avatar")
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"these are my notes, not a picture")
    form.get_by_label("Your photo").set_input_files(fake)
    form.get_by_role("button", name="Generate · 3 credits").click()
    expect(form.get_by_role("alert")).to_contain_text("Your photo")
    expect(form.get_by_label("Your photo")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#available")).to_have_text("100")
