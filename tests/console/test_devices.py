"""Devices in a real browser: pairing a device by the code it shows, deprovisioning it after
a confirmation, and another organization's device as a "not found" page."""

from typing import Any

from playwright.sync_api import expect

from tests.cli.live import LiveServer, bootstrap_tenant
from tests.conftest import DEVICE_KEY
from tests.console.conftest import Console


def _register(server: LiveServer, serial: str) -> dict[str, Any]:
    """The device agent's registration of an unknown device (no recipe matches it)."""
    status, answer = server.request(
        "POST",
        "/v1/device/register",
        {"brand": "samsung", "serialNumber": serial},
        headers={"X-Device-Key": DEVICE_KEY},
    )
    assert status == 200, answer
    registration: dict[str, Any] = answer
    assert registration["provisioned"] is False
    return registration


def test_a_device_is_paired_by_its_code_then_deprovisioned(console: Console) -> None:
    registration = _register(console.server, "SN-0001")
    console.sign_in()
    console.go("Devices")
    page = console.page
    page.get_by_label("Verification code").fill(registration["verificationHash"])
    page.get_by_role("button", name="Pair device").click()
    row = page.get_by_role("row").filter(has_text="SN-0001")
    expect(row.get_by_role("link", name="samsung SN-0001")).to_be_visible()
    console.assert_fits()
    devices = console.server.ok("GET", "/v1/device")
    assert [device["uid"] for device in devices] == [registration["deviceUid"]]

    row.get_by_role("link", name="samsung SN-0001").click()
    page.get_by_role("link", name="Deprovision").click()
    expect(page.get_by_role("heading", name="Deprovision samsung SN-0001?")).to_be_visible()
    assert console.server.ok("GET", "/v1/device") != []  # one click changed nothing
    console.assert_fits()
    page.get_by_role("button", name="Deprovision").click()
    expect(page.get_by_role("status")).to_contain_text("deprovisioned")
    expect(page.get_by_role("row").filter(has_text="SN-0001")).to_have_count(0)
    assert console.server.ok("GET", "/v1/device") == []


def test_a_wrong_code_is_told_next_to_the_field(console: Console) -> None:
    console.sign_in()
    console.go("Devices")
    page = console.page
    page.get_by_label("Verification code").fill("ZZZZ9999")
    page.get_by_role("button", name="Pair device").click()
    expect(page.get_by_label("Verification code")).to_have_accessible_description(
        "no device shows this verification code"
    )
    console.assert_fits()


def test_another_organizations_device_is_not_found(console: Console) -> None:
    other = bootstrap_tenant(console.server.database_url, "Other", "Elsewhere")
    registration = _register(console.server, "SN-OTHER")
    status, _ = console.server.request(
        "POST",
        "/v1/device/verification",
        {"verificationHash": registration["verificationHash"]},
        headers={"X-Auth": other.token},
    )
    assert status == 201
    console.sign_in()
    console.open(f"/console/devices/{registration['deviceUid']}")
    expect(console.page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    expect(console.page.get_by_text("SN-OTHER")).to_have_count(0)
    console.assert_fits()
