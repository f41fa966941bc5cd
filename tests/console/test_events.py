"""The Events page in a real browser: the feed newest first, live, filtered by type, and each
event opened to its exact envelope."""

import json
import re

from playwright.sync_api import expect

from tests.console.conftest import Console
from tests.support import fetch_rows

CREATED = "Device.ProvisioningRecipeCreated"
DELETED = "Device.ProvisioningRecipeDeleted"


def _recipe(console: Console, serial: str) -> str:
    created = console.server.ok(
        "POST", "/v1/provisioning-recipe", {"brand": "lg", "serialNumber": serial}
    )
    uid: str = created["uid"]
    return uid


def test_new_events_appear_live_and_open_to_their_exact_json(console: Console) -> None:
    console.sign_in()
    console.go("Events")
    page = console.page
    expect(page.get_by_role("heading", name="Events", level=1)).to_be_visible()
    expect(page.get_by_text("No events yet.")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    first = _recipe(console, "SN-1")  # into an empty page
    events = page.locator("tbody.event")
    expect(events).to_have_count(1)
    second = _recipe(console, "SN-2")  # on top of the one shown
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text(second)
    expect(events.last).to_contain_text(first)
    expect(events.first).to_contain_text(CREATED)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload

    [newest] = console.server.events(2)[-1:]
    position = newest["position"]
    page.get_by_text(f"JSON of event {position}", exact=True).click()
    exact = page.get_by_label(f"Exact JSON of event {position}")
    expect(exact).to_be_visible()
    shown = exact.text_content() or ""
    assert json.loads(shown) == newest["event"]
    [(stored,)] = fetch_rows(
        console.server.database_url, f"SELECT body FROM events WHERE position = {position}"
    )
    assert shown.encode() == bytes(stored)
    console.assert_fits()


def test_events_are_filtered_by_type(console: Console) -> None:
    uid = _recipe(console, "SN-1")
    console.server.ok("DELETE", f"/v1/provisioning-recipe/{uid}")
    console.server.events(2)
    console.sign_in()
    console.open("/console/events")
    page = console.page
    expect(page.locator("tbody.event")).to_have_count(2)
    page.get_by_label("Type").select_option(DELETED)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"type=Device\.ProvisioningRecipeDeleted"))
    events = page.locator("tbody.event")
    expect(events).to_have_count(1)
    expect(events).to_contain_text(DELETED)
    expect(events).to_contain_text(uid)
    console.assert_fits()
