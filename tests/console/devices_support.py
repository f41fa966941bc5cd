"""Helpers of the Register devices and Devices tests: a console session in a TestClient, and
devices registered the way device agents register."""

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import DEVICES, RECIPES
from tests.conftest import DEVICE_KEY, Tenant


def register_device(client: TestClient, serial: str, brand: str = "samsung") -> dict[str, Any]:
    """`POST /v1/device/register` as a device agent; the registration's answer."""
    answer = client.post(
        f"{DEVICES}/register",
        json={"brand": brand, "serialNumber": serial},
        headers={"X-Device-Key": DEVICE_KEY},
    )
    assert answer.status_code == 200, answer.text
    registration: dict[str, Any] = answer.json()
    return registration


def paired_device(client: TestClient, tenant: Tenant, serial: str) -> str:
    """A device registered and paired to the tenant's organization by its code; its uid."""
    code = register_device(client, serial)["verificationHash"]
    answer = client.post(
        f"{DEVICES}/verification", json={"verificationHash": code}, headers=tenant.headers
    )
    assert answer.status_code == 201, answer.text
    uid: str = answer.json()["deviceUid"]
    return uid


def recipes_of(client: TestClient, tenant: Tenant) -> list[dict[str, Any]]:
    answer = client.get(RECIPES, params={"limit": 1000}, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    recipes: list[dict[str, Any]] = answer.json()
    return recipes


def devices_of(client: TestClient, tenant: Tenant) -> list[dict[str, Any]]:
    answer = client.get(DEVICES, params={"limit": 1000}, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    devices: list[dict[str, Any]] = answer.json()
    return devices


def field_error(html: str, name: str) -> str:
    """The message shown next to the form field `name` ("" when there is none)."""
    found = re.search(rf'<p class="error" id="{re.escape(name)}-error">(.*?)</p>', html, re.S)
    return unescape(found.group(1)) if found else ""


def field_value(html: str, name: str) -> str | None:
    """The value a text input shows."""
    found = re.search(rf'<input id="{re.escape(name)}" name="{re.escape(name)}"[^>]*>', html)
    assert found is not None, f"no input {name}"
    value = re.search(r'value="([^"]*)"', found.group(0))
    return unescape(value.group(1)) if value else None
