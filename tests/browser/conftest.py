"""Browser tests: `studio-ledger serve` on its embedded default, driven by Debian's Chromium through Playwright.

Playwright's own browser download does not work here, so the system Chromium is launched by path
(``STUDIO_CHROMIUM``, else /usr/bin/chromium). `make test` installs it first where it can.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from api.http.auth import issue_token
from service.settings.api import EMBEDDED_JWT_SECRET
from tests.support.embedded import running_serve

# A first image renders its fonts and the machine may be shared: wait for what a learner waits for.
expect.set_options(timeout=30_000)
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


def chromium_path() -> str:
    """The system Chromium, or a failure saying how to install it."""
    path = os.environ.get("STUDIO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (or set STUDIO_CHROMIUM to a Chromium binary)")
    return path


@dataclass
class Studio:
    """A running service and how to reach it."""

    base: str
    env: dict[str, str]
    embed_origin: str  # the platform's dashboard, allowed to frame the studio (played by the tests)

    def token(self, user: str, ttl: timedelta = timedelta(hours=1)) -> str:
        """A token for ``user`` signed with the service's secret (the embedded default's unless set)."""
        secret = self.env.get("STUDIO_JWT_SECRET", EMBEDDED_JWT_SECRET)
        return issue_token(secret, user, issuer="studio-ledger", audience="studio-ledger", ttl=ttl)

    def api(self, method: str, path: str, user: str, **kwargs: Any) -> httpx.Response:
        """A call to the API as ``user``, outside the browser (to set things up)."""
        headers = {"Authorization": f"Bearer {self.token(user)}", "Idempotency-Key": os.urandom(8).hex()}
        return httpx.request(method, self.base + path, headers=headers, timeout=10, **kwargs)


@contextmanager
def serving(folder: Path, **settings: str) -> Iterator[Studio]:
    """`studio-ledger serve` with a fresh data folder and these STUDIO_* settings, until the block ends."""
    defaults = {"STUDIO_LOCAL_DELAY_S": "0.3", "STUDIO_LOCAL_SCALE": "0.25", "STUDIO_READ_WAIT_MS": "3000",
                "STUDIO_EMBED_ORIGINS": "http://localhost:{port}"}  # the studio's own origin, by another name
    with running_serve(folder, {**defaults, **settings}, ready="/", within_s=60.0) as (base, env):
        yield Studio(base, env, env["STUDIO_EMBED_ORIGINS"].split(",")[0])  # a test's own settings win


@pytest.fixture(scope="package")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """`studio-ledger serve` on the embedded default, with images taking a moment to render."""
    with serving(tmp_path_factory.mktemp("studio")) as running:
        yield running


# Package scope, not session: the sync API keeps an event loop running in this thread while it is
# open, and the async tests that run after this package need the thread's loop free.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless system Chromium."""
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
    yield launched
    launched.close()


@dataclass
class Watch:
    """What the page did that it should not: console errors, uncaught exceptions, requests elsewhere."""

    base: str
    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    answers: set[int] = field(default_factory=set)  # error statuses the test provokes on purpose
    elsewhere_allowed: tuple[str, ...] = ()  # another origin the test itself plays (an embedding page)

    def console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer to fetch() as an error; a test that provokes one names its status.
        if message.type == "error" and not any(
                message.text == f"Failed to load resource: the server responded with a status of {status} ({reason})"
                for status, reason in ((s, HTTPStatus(s).phrase) for s in self.answers)):
            self.errors.append(message.text)

    def expect_answer(self, status: int) -> None:
        """The test provokes this error status: Chromium's console line about it is expected."""
        self.answers.add(status)


def open_context(browser: Browser, studio: Studio, **options: Any) -> tuple[BrowserContext, Watch]:
    """A fresh browser profile that records console errors and requests to other hosts."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    options.setdefault("locale", "en-GB")
    context = browser.new_context(**options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=studio.base)
    # The embedding tests' dashboard is played by the test itself, so Chromium does not know it as a
    # local page; as the learner would, let it frame the studio on this machine.
    context.grant_permissions(["local-network-access"])
    context.set_default_timeout(10_000)
    watch = Watch(studio.base)

    def on_page(page: Page) -> None:
        page.on("console", watch.console)
        page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: None if request.url.startswith(
            (studio.base, "blob:", "data:", *watch.elsewhere_allowed)) else watch.elsewhere.append(request.url))

    context.on("page", on_page)
    return context, watch


@pytest.fixture
def context(browser: Browser, studio: Studio) -> Iterator[tuple[BrowserContext, Watch]]:
    """A desktop-sized English profile; at the end no console error and no request to another host."""
    context, watch = open_context(browser, studio)
    yield context, watch
    context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.elsewhere == [], f"requests to other hosts: {watch.elsewhere}"


@pytest.fixture
def watch(context: tuple[BrowserContext, Watch]) -> Watch:
    """What the test's profile records."""
    return context[1]


@pytest.fixture
def page(context: tuple[BrowserContext, Watch]) -> Page:
    """A tab in the fresh profile."""
    return context[0].new_page()


NAMES = ("asha", "ravi", "meera", "arjun", "priya", "kabir", "ananya", "dev", "isha", "rohan", "sara", "vikram")


def user_name(request: pytest.FixtureRequest) -> str:
    """A user of this test alone (a readable name, for the screenshots)."""
    first = NAMES[sum(request.node.name.encode()) % len(NAMES)]
    return f"{first}-{os.urandom(2).hex()}"
