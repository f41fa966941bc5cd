"""Recipes and the recipe page in a real browser, at both sizes, on every engine."""

import re
from dataclasses import replace
from typing import Any

from playwright.sync_api import Locator, expect

from provisio.domain.identifiers import MAC_HINT
from tests.cli.live import bootstrap_tenant
from tests.conftest import DEVICE_KEY
from tests.console.conftest import Console

RECIPES = "/v1/provisioning-recipe"


def _create(console: Console, **body: Any) -> dict[str, Any]:
    made: dict[str, Any] = console.server.ok("POST", RECIPES, body)
    return made


def _register(console: Console, **body: Any) -> None:
    status, answer = console.server.request(
        "POST", "/v1/device/register", body, headers={"X-Device-Key": DEVICE_KEY}
    )
    assert status == 200, answer


def _stored(console: Console, uid: str) -> dict[str, Any]:
    stored: dict[str, Any] = console.server.ok("GET", f"{RECIPES}/{uid}")
    return stored


def _row(console: Console, text: str) -> Locator:
    """The Recipes table's row that shows `text`."""
    return console.page.get_by_role("row").filter(has_text=text)


def test_a_recipe_turns_applied_while_the_list_is_open(console: Console) -> None:
    _create(console, brand="LG", serialNumber="LIVE-1")
    _create(console, brand="LG", serialNumber="LIVE-2")
    console.sign_in()
    page = console.page
    filters = page.get_by_role("navigation", name="Status filter")
    for name in ("All 2", "Pending 2", "Applied 0", "Failed 0", "Invalid 0"):
        expect(filters.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_text("0 of 2 Applied (0%)")).to_be_visible()
    expect(_row(console, "LIVE-1").get_by_text("Pending", exact=True)).to_be_visible()
    console.assert_fits()
    page.evaluate("window.stillTheSamePage = true")

    _register(console, brand="LG", model="UH5F", serialNumber="LIVE-1")

    expect(_row(console, "LIVE-1").get_by_text("Applied", exact=True)).to_be_visible()
    expect(filters.get_by_role("link", name="Applied 1", exact=True)).to_be_visible()
    expect(filters.get_by_role("link", name="Pending 1", exact=True)).to_be_visible()
    expect(page.get_by_text("1 of 2 Applied (50%)")).to_be_visible()
    expect(page.locator("progress#rollout")).to_have_attribute("value", "1")
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened


def test_a_bad_edit_is_told_next_to_the_field_and_a_good_one_enters_history(
    console: Console,
) -> None:
    recipe = _create(console, brand="android", macAddress="aa:bb:cc:dd:ee:01")
    console.sign_in()
    _row(console, "AA:BB:CC:DD:EE:01").get_by_role("link").click()
    page = console.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Recipe android AA:BB:CC:DD:EE:01")

    page.get_by_label("MAC address").fill("aa:bb:cc")
    page.get_by_label("Device name").fill("Reception")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("MAC address")).to_have_accessible_description(MAC_HINT)
    expect(page.get_by_label("Device name")).to_have_value("Reception")
    console.assert_fits()
    assert _stored(console, recipe["uid"]) == recipe

    page.get_by_label("MAC address").fill("AABB.CCDD.EE02")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    history = page.get_by_role("region", name="History")
    updated = history.get_by_role("row").filter(has_text="Device.ProvisioningRecipeUpdated")
    expect(updated).to_contain_text(f"account {console.server.tenant.account_id}")
    expect(updated).to_contain_text("MAC address: AA:BB:CC:DD:EE:01 → AA:BB:CC:DD:EE:02")
    expect(updated).to_contain_text("Device name: (none) → Reception")
    stored = _stored(console, recipe["uid"])
    assert (stored["macAddress"], stored["deviceName"]) == ("AA:BB:CC:DD:EE:02", "Reception")
    console.assert_fits()


def test_a_mac_address_is_found_in_any_spelling(console: Console) -> None:
    _create(console, brand="android", macAddress="aa:bb:cc:dd:ee:10")
    _create(console, brand="android", macAddress="aa:bb:cc:dd:ee:11")
    _create(console, brand="LG", serialNumber="SN-10")
    console.sign_in()
    page = console.page
    page.get_by_label("Search").fill("aabb.ccdd.ee10")
    page.get_by_role("button", name="Search").click()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one recipe
    expect(rows.nth(1)).to_contain_text("AA:BB:CC:DD:EE:10")
    console.assert_fits()


def test_a_failed_recipe_is_retried(console: Console) -> None:
    recipe = _create(console, brand="LG", serialNumber="SN-F", model="QM55")
    _register(console, brand="LG", model="UH5F", serialNumber="SN-F")
    console.sign_in()
    console.open(f"/console/recipes/{recipe['uid']}")
    page = console.page
    fields = page.get_by_role("region", name="Fields")
    expect(fields.get_by_text("Failed", exact=True)).to_be_visible()
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("Pending again")
    expect(fields.get_by_text("Pending", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    assert _stored(console, recipe["uid"])["status"] == "Pending"
    console.assert_fits()


def test_a_recipe_is_deleted_only_after_confirming(console: Console) -> None:
    recipe = _create(console, brand="LG", serialNumber="SN-D")
    console.sign_in()
    console.open(f"/console/recipes/{recipe['uid']}")
    page = console.page
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete recipe LG SN-D?")
    console.assert_fits()
    assert _stored(console, recipe["uid"])["uid"] == recipe["uid"]  # not yet
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("The recipe was deleted.")
    expect(page.get_by_role("heading", name="Recipes", level=1)).to_be_visible()
    status, _ = console.server.request("GET", f"{RECIPES}/{recipe['uid']}")
    assert status == 404


def test_another_organizations_recipe_is_not_found(console: Console) -> None:
    other = replace(
        console.server, tenant=bootstrap_tenant(console.server.database_url, "Globex", "Hall")
    )
    theirs: dict[str, Any] = other.ok("POST", RECIPES, {"brand": "LG", "serialNumber": "SN-X"})
    console.sign_in()
    console.open(f"/console/recipes/{theirs['uid']}")
    expect(console.page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    expect(console.page.get_by_role("alert")).to_have_text(re.compile("not found"))
    console.assert_fits()
    assert other.ok("GET", f"{RECIPES}/{theirs['uid']}") == theirs
