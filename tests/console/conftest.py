"""The console in a real browser: Debian's chromium driven by Playwright, against a provisio
served on loopback (relay and dispatcher included), at a desktop and a phone size, on every
engine.

Without chromium the browser tests skip, except under `CI=true`, where they fail (`.ci/run`
installs it).
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.cli.live import LiveServer, live_server
from tests.support import missing_tool

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
EXPECT_TIMEOUT_MS = 15_000
"""How long an expectation waits for the page: generous, so a busy machine does not fail a
test that would pass; the console's own refresh interval is documented, not timed here."""


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium (Playwright's own browser download is not used)."""
    executable = shutil.which("chromium")
    if executable is None:
        missing_tool("chromium is not installed: the console's browser tests need it")
    try:
        return playwright.chromium.launch(executable_path=executable)
    except Exception as error:  # a browser that is there but cannot start is missing too
        missing_tool(f"chromium did not start: {error}")
        raise


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    phone = request.param == "phone"
    context = browser.new_context(
        viewport=VIEWPORTS[request.param],  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@dataclass
class Console:
    """A browser page on a running provisio whose tenant's token signs in."""

    server: LiveServer
    page: Page

    def open(self, path: str) -> None:
        self.page.goto(f"{self.server.url}{path}")

    def sign_in(self, token: str | None = None) -> None:
        self.open("/console/sign-in")
        self.page.get_by_label("Token").fill(token or self.server.tenant.token)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("heading", name="Recipes", level=1)).to_be_visible()

    def go(self, section: str) -> None:
        """Follow a link of the main navigation."""
        navigation = self.page.get_by_role("navigation", name="Main")
        navigation.get_by_role("link", name=section, exact=True).click()

    def assert_fits(self) -> None:
        """Nothing sticks out sideways: the page works at this width (wide tables scroll
        inside their own box)."""
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page is {overflow} px wider than the window"


@pytest.fixture
def console(database_url: str, page: Page) -> Iterator[Console]:
    with live_server(
        database_url, webhook_allow_http=True, webhook_allowed_networks="127.0.0.0/8"
    ) as server:
        yield Console(server, page)
