"""Register devices in a real browser: manual entry with the brand's identifiers, a bulk
upload with a refused row in both modes, and the CSV template."""

import csv
import re
from pathlib import Path

from playwright.sync_api import expect

from provisio.api.bulk_input import CSV_COLUMNS
from tests.console.conftest import Console

BAD_ROW = b"brand,serialNumber,deviceName\nlg,SN-1,One\nlg,,Two\nlg,SN-3,Three\n"
"""Three rows; the second lacks the serial number lg needs."""


def _import(console: Console, mode: str) -> None:
    page = console.page
    page.get_by_label("CSV file").set_input_files(
        {"name": "recipes.csv", "mimeType": "text/csv", "buffer": BAD_ROW}
    )
    page.get_by_label(mode, exact=True).check()
    page.get_by_role("button", name="Import").click()


def test_a_bulk_upload_lists_its_refused_row_in_both_modes(console: Console) -> None:
    console.sign_in()
    console.go("Register devices")
    page = console.page
    expect(page.get_by_role("heading", name="Register devices", level=1)).to_be_visible()

    _import(console, "Atomic")
    expect(page.get_by_role("status")).to_contain_text("0 created")
    refused = page.get_by_role("table", name="Refused rows")
    headers = refused.get_by_role("columnheader")
    expect(headers).to_have_text(["Row", "Field", "Message"])
    expect(refused.get_by_role("row").nth(1)).to_have_text(
        re.compile(r"2\s*serialNumber\s*is required for brand 'lg'")
    )
    console.assert_fits()
    assert console.server.recipes() == []

    _import(console, "Partial")
    expect(page.get_by_role("status")).to_contain_text("2 created")
    expect(refused.get_by_role("row")).to_have_count(2)
    names = sorted(recipe["deviceName"] for recipe in console.server.recipes())
    assert names == ["One", "Three"]


def test_manual_entry_tells_the_missing_identifier_then_saves(console: Console) -> None:
    console.sign_in()
    console.go("Register devices")
    page = console.page
    page.get_by_label("Brand").fill("samsung")
    serial = page.get_by_label("Serial number")
    expect(serial).to_have_attribute("required", "")  # swapped in as the brand was typed
    expect(page.get_by_label("MAC address")).not_to_have_attribute("required", "")
    page.get_by_label("Device name").fill("Lobby")
    page.get_by_role("button", name="Save").click()
    expect(serial).to_have_accessible_description("is required for brand 'samsung'")
    expect(page.get_by_label("Device name")).to_have_value("Lobby")
    console.assert_fits()

    serial.fill("SN-0001")
    page.get_by_role("button", name="Save").click()
    saved = page.get_by_role("status").get_by_role("link")
    expect(saved).to_have_text("samsung SN-0001")
    (recipe,) = console.server.recipes()
    expect(saved).to_have_attribute("href", f"/console/recipes/{recipe['uid']}")
    assert (recipe["deviceName"], recipe["status"]) == ("Lobby", "Pending")
    expect(page.get_by_label("Brand")).to_have_value("")


def test_the_csv_template_downloads(console: Console, tmp_path: Path) -> None:
    console.sign_in()
    console.go("Register devices")
    with console.page.expect_download() as download:
        console.page.get_by_role("link", name="Download the CSV template").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with saved.open(newline="") as file:
        header, example = list(csv.reader(file))
    assert tuple(header) == CSV_COLUMNS
    assert example[0] == "samsung"
    console.assert_fits()
