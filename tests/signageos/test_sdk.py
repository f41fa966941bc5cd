"""signageOS's published client, `@signageos/sdk` 2.11.0, works against provisio unchanged.

Each test starts provisio (uvicorn on loopback, SQLite file or PostgreSQL), gives the SDK an
organization token and an account token as an integration would, and runs one scenario of
`scenarios.cjs` under node: every SDK call on organizations and their tokens, tags, policies,
locations, devices, verification and deprovisioning, with node's asserts on what the SDK returns.
Another company's organization, tag, policy, location and device are there to be refused (404).
"""

import asyncio
import dataclasses
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import examples
from provisio.service import tenancy
from provisio.store.unit_of_work import Store
from tests.cli.live import LiveServer, live_server
from tests.conftest import DEVICE_KEY, Tenant
from tests.processes import demo_server
from tests.signageos.node import install_sdk, run_node, run_scenario

DEVICES = 3
EXAMPLE = Path(examples.__file__).with_name("signageos_sdk.cjs")


@pytest.fixture(scope="session")
def node_modules() -> Path:
    return install_sdk()


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    with live_server(database_url) as running:
        yield running


def account_token(database_url: str, account_id: int) -> str:
    async def issue() -> str:
        store = Store.open(database_url)
        try:
            return (await tenancy.issue_account_token(store, account_id, "sdk")).header
        finally:
            await store.close()

    return asyncio.run(issue())


def other_company(server: LiveServer) -> dict[str, str]:
    """Another company's organization with one of everything, for the SDK to be refused."""

    async def bootstrap() -> Tenant:
        store = Store.open(server.database_url)
        try:
            made = await tenancy.bootstrap(store, "Globex", "Branch")
        finally:
            await store.close()
        return Tenant(made.company_uid, made.organization_uid, made.account_id, made.token.header)

    other = dataclasses.replace(server, tenant=asyncio.run(bootstrap()))
    code = register(other, "SN-FOREIGN")
    device = other.ok("POST", "/v1/device/verification", {"verificationHash": code})
    return {
        "foreignOrganizationUid": other.tenant.organization_uid,
        "foreignTagUid": other.ok("POST", "/v1/organization-tag", {"name": "x"})["uid"],
        "foreignPolicyUid": other.ok("POST", "/v1/policy", {"name": "x"})["uid"],
        "foreignLocationUid": other.ok(
            "POST", "/v1/location", {"name": "x", "coordinates": {"lat": 0, "long": 0}}
        )["uid"],
        "foreignDeviceUid": device["deviceUid"],
    }


def register(server: LiveServer, serial: str) -> str:
    """A device agent's first call; returns the code the device shows."""
    status, answer = server.request(
        "POST",
        "/v1/device/register",
        {"brand": "samsung", "serialNumber": serial},
        headers={"X-Device-Key": DEVICE_KEY},
    )
    assert status == 200, answer
    code: str = answer["verificationHash"]
    return code


@pytest.fixture
def sdk_config(server: LiveServer) -> dict[str, Any]:
    return {
        "url": server.url,
        "organizationUid": server.tenant.organization_uid,
        "organizationToken": server.tenant.token,
        "accountToken": account_token(server.database_url, server.tenant.account_id),
        "codes": [register(server, f"SN-{n:04d}") for n in range(DEVICES)],
        **other_company(server),
    }


@pytest.mark.parametrize(
    "scenario", ["organizations", "tokens", "tags", "policies", "locations", "devices"]
)
def test_the_sdk_works_unchanged(
    node_modules: Path, sdk_config: dict[str, Any], scenario: str
) -> None:
    """The asserts are node's, on what the SDK returned; a failed one fails the run."""
    run_scenario(node_modules, scenario, sdk_config)


def test_a_new_user_runs_the_example_against_make_run(node_modules: Path, tmp_path: Path) -> None:
    """What the README promises: the tokens and device key `provisio serve --demo` prints, a
    device registering with that key, and the example script given the code the device shows."""
    with demo_server(f"sqlite:///{tmp_path}/demo.db") as printed:

        def shown(label: str) -> str:
            found = re.search(rf"^\s*{label}\s+(\S+)", printed, flags=re.M)
            assert found is not None, printed
            return found.group(1)

        url = shown("provisio demo on")
        token = shown("token")
        code = call(
            url,
            "POST",
            "/v1/device/register",
            {"brand": "samsung", "serialNumber": "SN-0042"},
            {"X-Device-Key": shown("device key")},
        )["verificationHash"]
        environment = {
            "PROVISIO_URL": url,
            "PROVISIO_ORGANIZATION_TOKEN": token,
            "PROVISIO_ACCOUNT_TOKEN": shown("account token"),
        }
        run_node(node_modules, [str(EXAMPLE), code], environment)
        (device,) = call(url, "GET", "/v1/device", None, {"X-Auth": token})
    assert (device["name"], device["serialNumber"]) == ("Lobby screen", "SN-0042")
    assert device["locationUid"] is not None
    assert [policy["priority"] for policy in device["policies"]] == [1]


def call(url: str, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    """One JSON request that must succeed."""
    request = urllib.request.Request(
        f"{url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_the_example_script_manages_a_device(
    node_modules: Path, server: LiveServer, sdk_config: dict[str, Any]
) -> None:
    environment = {
        "PROVISIO_URL": server.url,
        "PROVISIO_ORGANIZATION_TOKEN": sdk_config["organizationToken"],
        "PROVISIO_ACCOUNT_TOKEN": sdk_config["accountToken"],
    }
    code = sdk_config["codes"][0]
    printed = run_node(node_modules, [str(EXAMPLE), code], environment)
    paired = server.ok("GET", "/v1/device")
    assert len(paired) == 1
    device = paired[0]
    assert printed.startswith(f"paired {device['uid']} at ")
    assert f"{device['uid']} Lobby screen at {device['locationUid']}" in printed
    assert device["name"] == "Lobby screen"
    assert server.ok("GET", f"/v1/location/{device['locationUid']}")["name"] == "Head office"
    assert [policy["priority"] for policy in device["policies"]] == [1]
