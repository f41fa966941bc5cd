"""Settings in a real browser: tags, policies and locations created, edited (with one of the
API's messages shown next to its field) and deleted; another organization's tag not found."""

import re

from playwright.sync_api import expect

from tests.cli.live import bootstrap_tenant
from tests.console.conftest import Console

TAGS = "/v1/organization-tag"


def _save(console: Console) -> None:
    console.page.get_by_role("button", name="Save").click()


def _delete(console: Console, heading: str) -> None:
    """From an entry's edit page, through the confirmation."""
    console.page.get_by_role("link", name="Delete").click()
    expect(console.page.get_by_role("heading", name=heading)).to_be_visible()
    console.page.get_by_role("button", name="Delete").click()


def test_a_tag_is_created_edited_and_deleted(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.go("Settings")
    expect(page.get_by_role("heading", name="Tags", level=1)).to_be_visible()
    page.get_by_role("link", name="New tag").click()
    page.get_by_label("Color").fill("#1f5fbf")
    _save(console)
    name = page.get_by_label("Name")
    expect(name).to_have_accessible_description("String should have at least 1 character")
    expect(page.get_by_label("Color")).to_have_value("#1f5fbf")
    console.assert_fits()
    name.fill("Lobby")
    _save(console)

    page.get_by_role("link", name="Lobby").click()
    page.get_by_label("Name").fill("Hall")
    _save(console)
    expect(page.get_by_role("cell", name="#1f5fbf")).to_be_visible()
    console.assert_fits()
    page.get_by_role("link", name="Hall").click()
    _delete(console, "Delete tag “Hall”?")
    expect(page.get_by_text("No tags yet.")).to_be_visible()


def test_a_policy_is_created_archived_and_deleted(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.go("Settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="New policy").click()
    page.get_by_label("Name").fill("Night")
    page.get_by_label("Items").fill('[{"type": "volume"}]')
    _save(console)
    items = page.get_by_label("Items")
    expect(items).to_have_accessible_description(re.compile("items.0.value: Field required"))
    items.fill('[{"type": "volume", "value": 40}]')
    _save(console)

    page.get_by_role("link", name="Night").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_text(re.compile("^Archived "))).to_be_visible()
    page.get_by_role("link", name="Policies").click()
    expect(page.get_by_text("No policies yet.")).to_be_visible()
    page.get_by_role("link", name="Show archived policies").click()
    page.get_by_role("link", name="Night").click()
    expect(page.get_by_label("Items")).to_have_value(re.compile('"value": 40'))
    console.assert_fits()
    _delete(console, "Delete policy “Night”?")
    expect(page.get_by_text("No policies yet.")).to_be_visible()
    assert console.server.ok("GET", "/v1/policy", archived="true") == []


def test_a_location_is_created_edited_and_deleted(console: Console) -> None:
    console.server.ok("POST", TAGS, {"name": "Lobby"})
    page = console.page
    console.sign_in()
    console.open("/console/settings/locations")
    page.get_by_role("link", name="New location").click()
    page.get_by_label("Name").fill("Prague")
    page.get_by_label("Latitude").fill("50.0755")
    page.get_by_label("Tags").select_option(label="Lobby")
    _save(console)
    expect(page.get_by_label("Longitude")).to_have_accessible_description(
        re.compile("Field required")
    )
    expect(page.get_by_label("Latitude")).to_have_value("50.0755")
    console.assert_fits()
    page.get_by_label("Longitude").fill("14.4378")
    _save(console)
    row = page.get_by_role("row", name=re.compile("Prague"))
    expect(row).to_contain_text("50.0755, 14.4378")
    expect(row).to_contain_text("Lobby")

    page.get_by_role("link", name="Prague").click()
    page.get_by_label("Latitude").fill("")
    page.get_by_label("Longitude").fill("")
    page.get_by_label("Address").fill("Václavské náměstí 1, Praha")
    _save(console)
    expect(row).to_contain_text("Václavské náměstí 1, Praha")
    page.get_by_role("link", name="Prague").click()
    _delete(console, "Delete location “Prague”?")
    expect(page.get_by_text("No locations yet.")).to_be_visible()


def test_another_organizations_tag_is_not_found(console: Console) -> None:
    other = bootstrap_tenant(console.server.database_url, "Other", "Elsewhere")
    status, theirs = console.server.request("POST", TAGS, {"name": "Theirs"}, headers=other.headers)
    assert status == 201
    console.sign_in()
    console.open(f"/console/settings/tags/{theirs['uid']}")
    expect(console.page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(console.page.get_by_label("Name")).to_have_count(0)
    console.assert_fits()
