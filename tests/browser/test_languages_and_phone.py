"""Hindi from the browser's language or ?lang=hi, with numbers, dates and prices in the learner's locale;
a 375 px phone without sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Studio, Watch, open_context, user_name
from tests.browser.steps import available, demo_purchase, make_poster, screenshot, sign_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def hindi(browser: Browser, studio: Studio) -> Iterator[tuple[BrowserContext, Watch]]:
    """A browser whose language is Hindi."""
    context, watch = open_context(browser, studio, locale="hi-IN")
    yield context, watch
    context.close()
    assert watch.errors == [] and watch.elsewhere == []


@pytest.fixture
def phone(browser: Browser, studio: Studio) -> Iterator[tuple[BrowserContext, Watch]]:
    """A 375 px wide phone."""
    context, watch = open_context(browser, studio, **PHONE)
    yield context, watch
    context.close()
    assert watch.errors == [] and watch.elsewhere == []


def no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


def test_a_browser_in_hindi_gets_the_studio_in_hindi_with_prices_and_dates_in_its_locale(
        hindi: tuple[BrowserContext, Watch], studio: Studio, request: pytest.FixtureRequest) -> None:
    page = hindi[0].new_page()
    user = user_name(request)
    page.goto(f"{studio.base}/")
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    page.get_by_label("इस नाम से साइन इन करें").fill(user)
    page.get_by_role("button", name="साइन इन करें", exact=True).click()
    expect(page.get_by_role("heading", name="आज आप क्या बनाएँगे?")).to_be_visible()
    expect(page.get_by_text("₹99.00")).to_be_visible()
    expect(page.get_by_text("हर ₹1.00 पर 10 क्रेडिट")).to_be_visible()
    page.get_by_role("button", name="डेमो खरीद: Studio").click()
    expect(page.get_by_role("status").filter(has_text="1,200 क्रेडिट जोड़े गए")).to_be_visible()
    expect(available(page)).to_have_text("1,200")
    expect(page.locator("#statement")).to_contain_text("+1,200")
    # The templates' own words come in Hindi too: title, description, every field's label.
    expect(page.get_by_text("नए कोर्स की घोषणा करता एक दमदार पोस्टर", exact=False).first).to_be_visible()
    page.get_by_role("button", name="यह टेम्पलेट चुनें: कोर्स लॉन्च पोस्टर").click()
    form = page.get_by_role("form", name="कोर्स लॉन्च पोस्टर")
    form.get_by_label("कोर्स का नाम").fill("डेटा साइंस बूटकैंप")
    expect(form.get_by_text("60 में से 11 अक्षर")).to_be_visible()  # as a reader counts: डे टा सा इं स बू ट कैं प
    form.get_by_label("शुरू होने की तारीख").fill("3 मार्च")
    expect(form.get_by_role("group", name="डिज़ाइन शैली")).to_be_visible()
    form.get_by_role("button", name="बनाएँ · 5 क्रेडिट").click()
    expect(form.get_by_role("status")).to_contain_text("हो गया! आपकी इमेज गैलरी में है।")
    image = page.get_by_role("img", name="कोर्स लॉन्च पोस्टर: डेटा साइंस बूटकैंप")
    expect(image).to_be_visible()
    # The statement in Hindi too: the purchase with its price, the hold and its charge by the template's name.
    statement = page.locator("#statement")
    expect(statement).to_contain_text("क्रेडिट खरीदे · ₹99.00")
    expect(statement).to_contain_text("कोर्स लॉन्च पोस्टर: डेटा साइंस बूटकैंप (चार्ज हुआ)")
    expect(statement).not_to_contain_text("Course launch poster")
    expect(page.locator(".shot-meta").first).to_contain_text(re.compile(r"\d+ (जनवरी|फ़रवरी|मार्च|अप्रैल|मई|जून|जुलाई|"
                                                                        r"अगस्त|सितंबर|अक्तूबर|नवंबर|दिसंबर) \d{4}"))
    page.get_by_role("heading", name="आपकी गैलरी").scroll_into_view_if_needed()
    screenshot(page, "desktop-gallery-hi")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "desktop-studio-hi")


def test_lang_in_the_address_wins_over_the_browser_language(
        hindi: tuple[BrowserContext, Watch], studio: Studio) -> None:
    page = hindi[0].new_page()
    page.goto(f"{studio.base}/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Sign in as")).to_be_visible()
    page.get_by_role("navigation", name="Language").get_by_role("link", name="हिन्दी").click()
    expect(page.get_by_label("इस नाम से साइन इन करें")).to_be_visible()


def test_on_a_375_px_phone_the_whole_loop_fits_without_sideways_scrolling(
        phone: tuple[BrowserContext, Watch], studio: Studio, request: pytest.FixtureRequest) -> None:
    page = phone[0].new_page()
    page.goto(f"{studio.base}/")
    no_sideways_scroll(page)
    screenshot(page, "phone-sign-in-en")
    sign_in_as(page, studio, user_name(request))
    no_sideways_scroll(page)
    demo_purchase(page)
    form = make_poster(page, course="A rather long course title that fills the line")
    expect(form.get_by_role("status")).to_contain_text("Done! Your image is in your gallery.")
    expect(page.get_by_role("img", name=re.compile("^Course launch poster: A rather long"))).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_role("heading", name="Make your image").scroll_into_view_if_needed()
    screenshot(page, "phone-form-en")
    page.get_by_role("heading", name="Your gallery").scroll_into_view_if_needed()
    screenshot(page, "phone-gallery-en")
    page.goto(f"{studio.base}/?lang=hi")
    expect(page.get_by_role("heading", name="आज आप क्या बनाएँगे?")).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, "phone-studio-hi")
    page.get_by_role("heading", name="आपके क्रेडिट", exact=True).scroll_into_view_if_needed()
    screenshot(page, "phone-wallet-hi")
