"""The console as a new user meets it: `make run`'s demo server, the console URL and token it
prints, and the whole rollout done in the browser — a CSV with one bad row, a recipe turning
Applied when its device registers, its history, a device paired by its code, an exporter and
its deliveries.

With `PROVISIO_CONSOLE_SCREENSHOTS=docs/console` the test also saves the screenshots the
README shows.
"""

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.receiver import Receiver, receiver
from tests.processes import demo_server

SECRET = "rollout-webhook-secret-0123456789abcdef"
CSV = (
    "brand,serialNumber,macAddress,deviceName\n"
    "samsung,SN-0001,,Lobby screen\n"
    "samsung,,,Nameless\n"
    "android,,aa-bb-cc-dd-ee-01,Cafe menu\n"
)


class Shots:
    """Screenshots of the main pages, where PROVISIO_CONSOLE_SCREENSHOTS says (else nowhere)."""

    def __init__(self, page: Page) -> None:
        self._page = page
        folder = os.environ.get("PROVISIO_CONSOLE_SCREENSHOTS")
        self._folder = Path(folder) if folder else None

    def take(self, name: str) -> None:
        if self._folder is not None:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._page.screenshot(path=self._folder / f"{name}.png", full_page=True)


def _printed(output: str, label: str) -> str:
    found = re.search(rf"^\s*{label}\s+(\S+)", output, flags=re.M)
    assert found is not None, output
    return found.group(1)


def _post(url: str, body: Any, headers: dict[str, str]) -> Any:
    """What the README's curl does."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


def test_a_new_user_runs_a_rollout_in_the_console(
    desktop: Page, hook: Receiver, tmp_path: Path
) -> None:
    page, shots = desktop, Shots(desktop)
    # Exporters may call a receiver on this machine (development settings, as in the README).
    local_hooks = {"webhook_allow_http": "true", "webhook_allowed_networks": "127.0.0.0/8"}
    with demo_server(f"sqlite:///{tmp_path}/provisio.db", **local_hooks) as printed:
        url, device_key = _printed(printed, "provisio demo on"), _printed(printed, "device key")
        page.goto(_printed(printed, "console"))
        shots.take("sign-in")
        page.get_by_label("Token").fill(_printed(printed, "token"))
        page.get_by_role("button", name="Sign in").click()

        # Import a CSV with one bad row; the good ones are kept (Partial).
        page.get_by_role("link", name="Register devices").click()
        csv_file = tmp_path / "fleet.csv"
        csv_file.write_text(CSV)
        page.get_by_label("CSV file").set_input_files(csv_file)
        page.get_by_label("Partial").check()
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_text("2 created")).to_be_visible()
        refused = page.get_by_role("row").filter(has_text="serialNumber")
        expect(refused).to_contain_text("2")
        shots.take("register-devices")

        # Watch a recipe turn Applied when its device registers.
        page.get_by_role("link", name="Recipes", exact=True).click()
        row = page.get_by_role("row").filter(has_text="SN-0001")
        expect(row).to_contain_text("Pending")
        _post(
            f"{url}/v1/device/register",
            {"brand": "samsung", "serialNumber": "SN-0001"},
            {"X-Device-Key": device_key},
        )
        expect(row).to_contain_text("Applied")
        expect(page.get_by_text("Applied 1")).to_be_visible()
        shots.take("recipes")

        # Its history.
        row.get_by_role("link").first.click()
        history = page.get_by_role("region", name="History")
        expect(history).to_contain_text("Device.ProvisioningRecipeStatusUpdated")
        expect(history).to_contain_text("system")
        shots.take("recipe")

        # Pair another device by the code it shows.
        code = _post(
            f"{url}/v1/device/register",
            {"brand": "lg", "serialNumber": "LG-7"},
            {"X-Device-Key": device_key},
        )["verificationHash"]
        page.get_by_role("link", name="Devices", exact=True).click()
        page.get_by_label("Verification code").fill(code)
        page.get_by_role("button", name="Pair device").click()
        expect(page.get_by_role("row").filter(has_text="LG-7")).to_be_visible()
        shots.take("devices")

        # An exporter, and its deliveries.
        page.get_by_role("link", name="Exporters").click()
        page.get_by_role("link", name="New exporter").click()
        page.get_by_label("Name").fill("Rollout CMS")
        page.get_by_label("URL").fill(hook.url)
        page.get_by_label("Device.ProvisioningRecipeUpdated", exact=True).check()
        page.get_by_label("Secret").fill(SECRET)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Rollout CMS", level=1)).to_be_visible()
        _post(
            f"{url}/v1/device/register",
            {"brand": "android", "macAddresses": ["AA:BB:CC:DD:EE:01"]},
            {"X-Device-Key": device_key},
        )
        (delivered,) = hook.wait_for(1)
        delivered.verify(SECRET, hook.url)
        expect(page.locator("#log")).to_contain_text("HTTP 204")
        assert SECRET not in page.content()
        shots.take("exporter")

        page.get_by_role("link", name="Events").click()
        paired = page.get_by_role("row").filter(has_text="Device.Verification.DevicePaired")
        expect(paired.first).to_be_visible()
        shots.take("events")
        page.get_by_role("link", name="Settings").click()
        shots.take("settings")
