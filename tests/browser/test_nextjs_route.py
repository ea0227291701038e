"""The Next.js example (examples/nextjs): its /creative-studio route generates an image through the
platform's server, and its embedded route hands the studio page a token by postMessage."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from service.settings.api import EMBEDDED_JWT_SECRET
from tests.browser.conftest import Studio, open_context, serving
from tests.support.embedded import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
EXAMPLE = Path(__file__).parents[2] / "examples" / "nextjs"


@dataclass
class Platform:
    """The studio service and the platform's Next.js dashboard in front of it, signed in as ``learner``."""

    studio: Studio
    base: str
    learner: str


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`studio-ledger serve` and `next start` on free ports; the dashboard's origin may frame the studio."""
    if shutil.which("node") is None:
        pytest.skip("node not found: the Next.js example runs only where Node 20+ is installed")
    if not (EXAMPLE / ".next" / "BUILD_ID").exists():
        pytest.skip("examples/nextjs is not built: `make nextjs` (part of `make test`) installs and builds it")
    folder = tmp_path_factory.mktemp("nextjs")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    learner = f"next-{os.urandom(3).hex()}"
    with serving(folder, STUDIO_EMBED_ORIGINS=base) as studio:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "NEXT_"))}
        env.update(STUDIO_API_URL=studio.base, STUDIO_JWT_SECRET=EMBEDDED_JWT_SECRET, PLATFORM_LEARNER_ID=learner,
                   NEXT_TELEMETRY_DISABLED="1")
        log = folder / "next.log"
        process = subprocess.Popen([str(EXAMPLE / "node_modules" / ".bin" / "next"), "start", "-H", "127.0.0.1",
                                    "-p", str(port)], cwd=EXAMPLE, env=env, start_new_session=True,
                                   stdout=log.open("wb"), stderr=subprocess.STDOUT)
        try:
            for _ in range(600):
                try:
                    if httpx.get(base, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            yield Platform(studio, base, learner)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_creative_studio_route_names_a_field_error_then_generates_an_image(
        browser: Browser, platform: Platform) -> None:
    bought = platform.studio.api("POST", "/v1/dev/purchase", platform.learner, json={"pack_id": "starter"})
    assert bought.status_code == 200, bought.text
    wallet = platform.studio.api("GET", f"/v1/wallet?min_position={bought.json()['position']}", platform.learner)
    assert wallet.json()["available"] == 100
    context, watch = open_context(browser, platform.studio)
    watch.elsewhere_allowed = (platform.base,)
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(f"{platform.base}/creative-studio")
        expect(page.get_by_test_id("wallet")).to_have_text("100 credits available")
        form = page.get_by_role("form", name="Course launch poster")
        form.get_by_label("Course title").fill("Data Science Bootcamp")
        # the start date left empty: the API's problem lands on that field, and the summary links to it
        form.get_by_role("button", name="Generate").click()
        expect(page.get_by_role("alert", name="There is a problem")).to_contain_text("is required")
        expect(form.get_by_text("Error: is required")).to_be_visible()
        expect(form.get_by_label("Start date")).to_have_attribute("aria-invalid", "true")

        form.get_by_label("Start date").fill("1 March")
        form.get_by_role("button", name="Generate").click()
        status = page.get_by_role("status")
        expect(status).to_contain_text("Your image is ready.", timeout=60_000)
        image = status.get_by_role("img")
        expect(image).to_be_visible()
        assert image.get_attribute("src", timeout=1000).startswith(platform.studio.base + "/media/")
        assert page.evaluate("img => img.naturalWidth", image.element_handle()) > 0
        expect(page.get_by_role("region", name="Gallery").get_by_role("img")).to_have_count(1)
        expect(page.get_by_test_id("wallet")).not_to_have_text("100 credits available")
        # the browser never called the API: only the platform's server holds the learner's token
        assert [u for u in asked if u.startswith(platform.studio.base + "/v1/")] == []
    finally:
        context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert [u for u in watch.elsewhere if not u.startswith(platform.studio.base + "/media/")] == []


def test_the_embedded_route_signs_the_studio_page_in_by_postmessage(browser: Browser, platform: Platform) -> None:
    context, watch = open_context(browser, platform.studio)
    watch.elsewhere_allowed = (platform.base,)
    try:
        page = context.new_page()
        page.goto(f"{platform.base}/embedded-studio")
        expect(page.get_by_role("status").first).to_have_text("Signed in to the studio.")
        frame = page.frame_locator("iframe[title='Creative studio']")
        expect(frame.get_by_text(platform.learner).first).to_be_visible()
    finally:
        context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
