"""Managing paired devices with signageOS's calls: name, location, tags and policies.

Every change is checked on the device as read back, and on what did not happen: another
tenant's calls, bad input and unknown references change nothing, and no change emits an event.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    DEVICES,
    LOCATIONS,
    POLICIES,
    TAGS,
    account_headers,
    create,
    entry,
    outbox,
    read,
    registered,
)
from tests.conftest import Tenant, make_tenant
from tests.support import fetch_rows

SAMSUNG = {"brand": "samsung", "serialNumber": "SN-0001"}
MISSING = "f" * 32


@pytest.fixture
def other(client: TestClient) -> Tenant:
    return make_tenant(client, "Globex", "Branch")


def _pair(client: TestClient, tenant: Tenant, **report: Any) -> str:
    """A device that registers (no recipe) and is paired by its code; its uid."""
    code = registered(client, **report)["verificationHash"]
    paired = client.post(
        f"{DEVICES}/verification", json={"verificationHash": code}, headers=tenant.headers
    )
    assert paired.status_code == 201, paired.text
    uid: str = paired.json()["deviceUid"]
    return uid


@pytest.fixture
def device(client: TestClient, tenant: Tenant) -> str:
    return _pair(client, tenant, **SAMSUNG)


def _get(client: TestClient, tenant: Tenant, uid: str) -> dict[str, Any]:
    device: dict[str, Any] = read(client, tenant, f"{DEVICES}/{uid}")
    return device


def _policies(client: TestClient, tenant: Tenant, uid: str) -> list[dict[str, Any]]:
    policies: list[dict[str, Any]] = read(client, tenant, f"{DEVICES}/{uid}/policy")
    return policies


def _assign(client: TestClient, tenant: Tenant, uid: str, policy: str, priority: int) -> Any:
    return client.post(
        f"{DEVICES}/{uid}/policy",
        json={"uid": policy, "priority": priority},
        headers=tenant.headers,
    )


def _fields(response: Any) -> list[str]:
    return [detail["field"] for detail in response.json()["details"]]


def test_a_device_nobody_named_is_named_after_its_brand_and_serial_number_or_first_mac(
    client: TestClient, tenant: Tenant
) -> None:
    by_serial = _pair(client, tenant, brand="Samsung", serialNumber=" SN-0001 ")
    by_mac = _pair(client, tenant, brand="android", macAddresses=["aabb.ccdd.ee01", "aabbccddee02"])
    create(client, tenant, brand="lg", serialNumber="SN-0002")  # a recipe without deviceName
    by_recipe = registered(client, brand="lg", serialNumber="SN-0002")["deviceUid"]
    create(client, tenant, brand="lg", serialNumber="SN-0003", deviceName="Lobby")
    named = registered(client, brand="lg", serialNumber="SN-0003")["deviceUid"]

    listed = {d["uid"]: d["name"] for d in client.get(DEVICES, headers=tenant.headers).json()}

    assert listed == {
        by_serial: "Samsung SN-0001",
        by_mac: "android AA:BB:CC:DD:EE:01",
        by_recipe: "lg SN-0002",
        named: "Lobby",
    }
    assert _get(client, tenant, by_mac)["name"] == "android AA:BB:CC:DD:EE:01"


def test_a_name_set_by_put_wins_over_the_recipes_and_the_generated_one(
    client: TestClient, tenant: Tenant, device: str, database_url: str
) -> None:
    create(client, tenant, brand="lg", serialNumber="SN-0003", deviceName="Lobby")
    named = registered(client, brand="lg", serialNumber="SN-0003")["deviceUid"]
    before = len(outbox(database_url, tenant.organization_uid))
    for uid in (device, named):
        old = _get(client, tenant, uid)

        response = client.put(
            f"{DEVICES}/{uid}", json={"name": "  Hall screen "}, headers=tenant.headers
        )

        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer == _get(client, tenant, uid)
        assert answer == old | {"name": "Hall screen", "updatedAt": answer["updatedAt"]}
        assert answer["updatedAt"] >= old["updatedAt"]
    assert len(outbox(database_url, tenant.organization_uid)) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 12}, "name"),
        ({"name": None}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "Hall", "organizationUid": MISSING}, "organizationUid"),
    ],
)
def test_a_bad_name_is_422_and_changes_nothing(
    client: TestClient, tenant: Tenant, device: str, body: dict[str, Any], field: str
) -> None:
    before = _get(client, tenant, device)
    response = client.put(f"{DEVICES}/{device}", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]
    assert _get(client, tenant, device) == before


def test_a_location_is_assigned_replaced_and_unassigned(
    client: TestClient, tenant: Tenant, device: str, database_url: str
) -> None:
    hall, office = entry(client, tenant, LOCATIONS, "Hall"), entry(client, tenant, LOCATIONS)
    before = len(outbox(database_url, tenant.organization_uid))
    path = f"{DEVICES}/{device}/location"

    assigned = client.put(f"{path}/{hall}", json={}, headers=tenant.headers)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["locationUid"] == hall
    assert assigned.json() == _get(client, tenant, device)
    # signageOS's SDK sends `{}`; no body at all is as good.
    replaced = client.put(f"{path}/{office}", headers=tenant.headers)
    assert replaced.json()["locationUid"] == office

    assert client.delete(f"{path}/{hall}", headers=tenant.headers).status_code == 404
    assert _get(client, tenant, device)["locationUid"] == office
    assert client.delete(f"{path}/{office}", headers=tenant.headers).status_code == 204
    assert "locationUid" not in _get(client, tenant, device)
    assert client.delete(f"{path}/{office}", headers=tenant.headers).status_code == 404

    client.put(f"{path}/{hall}", json={}, headers=tenant.headers)
    assert client.delete(path, headers=tenant.headers).status_code == 204
    assert "locationUid" not in _get(client, tenant, device)
    assert client.delete(path, headers=tenant.headers).status_code == 404
    assert len(outbox(database_url, tenant.organization_uid)) == before


def test_a_location_or_tag_that_is_not_the_organizations_is_404_and_changes_nothing(
    client: TestClient, tenant: Tenant, other: Tenant, device: str
) -> None:
    theirs = {path: entry(client, other, path) for path in (LOCATIONS, TAGS)}
    before = _get(client, tenant, device)
    for path, segment in ((LOCATIONS, "location"), (TAGS, "organization-tag")):
        for uid in (theirs[path], MISSING):
            response = client.put(f"{DEVICES}/{device}/{segment}/{uid}", headers=tenant.headers)
            assert response.status_code == 404, response.text
            assert response.json()["errorCode"] == 404
    assert _get(client, tenant, device) == before


@pytest.mark.parametrize("segment", ["location", "organization-tag"])
@pytest.mark.parametrize("body", [{"locationUid": MISSING}, [], "x"])
def test_a_body_with_anything_in_it_is_422(
    client: TestClient, tenant: Tenant, device: str, segment: str, body: Any
) -> None:
    registry = LOCATIONS if segment == "location" else TAGS
    uid = entry(client, tenant, registry)
    before = _get(client, tenant, device)
    response = client.put(f"{DEVICES}/{device}/{segment}/{uid}", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert _get(client, tenant, device) == before


def test_tags_are_added_once_and_removed(
    client: TestClient, tenant: Tenant, device: str, database_url: str
) -> None:
    first, second = entry(client, tenant, TAGS, "a"), entry(client, tenant, TAGS, "b")
    before = len(outbox(database_url, tenant.organization_uid))
    path = f"{DEVICES}/{device}/organization-tag"

    for tag in (first, second, first):
        added = client.put(f"{path}/{tag}", json={}, headers=tenant.headers)
        assert added.status_code == 200, added.text
    assert added.json()["tagUids"] == [first, second]
    assert _get(client, tenant, device)["tagUids"] == [first, second]

    assert client.delete(f"{path}/{first}", headers=tenant.headers).status_code == 204
    assert _get(client, tenant, device)["tagUids"] == [second]
    assert client.delete(f"{path}/{first}", headers=tenant.headers).status_code == 404
    assert client.delete(f"{path}/{MISSING}", headers=tenant.headers).status_code == 404
    assert _get(client, tenant, device)["tagUids"] == [second]
    assert len(outbox(database_url, tenant.organization_uid)) == before


def test_policies_are_assigned_with_a_priority_listed_and_unassigned(
    client: TestClient, tenant: Tenant, device: str, database_url: str
) -> None:
    night, day = entry(client, tenant, POLICIES, "night"), entry(client, tenant, POLICIES, "day")
    before = len(outbox(database_url, tenant.organization_uid))

    assigned = _assign(client, tenant, device, night, 5)

    assert assigned.status_code == 201, assigned.text
    assert assigned.headers["Location"] == f"{DEVICES}/{device}/policy/{night}"
    first = assigned.json()
    assert first == {"uid": night, "priority": 5, "assignedAt": first["assignedAt"]}
    assert client.get(assigned.headers["Location"], headers=tenant.headers).json() == first
    assert _assign(client, tenant, device, day, 2).status_code == 201
    listed = _policies(client, tenant, device)
    assert [(p["uid"], p["priority"]) for p in listed] == [(day, 2), (night, 5)]
    assert listed[1] == first
    assert _get(client, tenant, device)["policies"] == listed

    # Assigning it again changes its priority; it keeps the time it was assigned.
    again = _assign(client, tenant, device, night, -1)
    assert again.status_code == 200, again.text
    assert "Location" not in again.headers
    assert again.json() == first | {"priority": -1}
    assert _policies(client, tenant, device) == [first | {"priority": -1}, listed[0]]
    assert _assign(client, tenant, device, night, -1).status_code == 200

    path = f"{DEVICES}/{device}/policy/{night}"
    assert client.delete(path, headers=tenant.headers).status_code == 204
    assert _policies(client, tenant, device) == [listed[0]]
    assert client.delete(path, headers=tenant.headers).status_code == 404
    assert client.get(path, headers=tenant.headers).status_code == 404
    assert len(outbox(database_url, tenant.organization_uid)) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"uid": MISSING, "priority": 1}, ["uid"]),
        ({"priority": 1}, ["uid"]),
        ({"uid": "nope", "priority": 1}, ["uid"]),
        ({"uid": None, "priority": 1}, ["uid"]),
        ({"uid": "POLICY", "priority": "1"}, ["priority"]),
        ({"uid": "POLICY"}, ["priority"]),
        ({"uid": "POLICY", "priority": True}, ["priority"]),
        ({"uid": "POLICY", "priority": 1.5}, ["priority"]),
        ({"uid": "POLICY", "priority": 2**31}, ["priority"]),
        ({"uid": "POLICY", "priority": -(2**31) - 1}, ["priority"]),
        (
            {"uid": "POLICY", "priority": 1, "assignedAt": "2026-01-01T00:00:00.000Z"},
            ["assignedAt"],
        ),
        ({"uid": "THEIRS", "priority": 1}, ["uid"]),
    ],
)
def test_a_bad_policy_assignment_is_422_and_stores_nothing(
    client: TestClient,
    tenant: Tenant,
    other: Tenant,
    device: str,
    database_url: str,
    body: dict[str, Any],
    fields: list[str],
) -> None:
    known = {"POLICY": entry(client, tenant, POLICIES), "THEIRS": entry(client, other, POLICIES)}
    sent = {key: known.get(value, value) for key, value in body.items()}
    before = _get(client, tenant, device)

    response = client.post(f"{DEVICES}/{device}/policy", json=sent, headers=tenant.headers)

    assert response.status_code == 422, response.text
    assert _fields(response) == fields
    assert _get(client, tenant, device) == before
    assert fetch_rows(database_url, "SELECT count(*) FROM device_policies")[0][0] == 0


def test_a_recipes_policy_is_an_assignment_like_any_other(
    client: TestClient, tenant: Tenant
) -> None:
    policy, extra = entry(client, tenant, POLICIES), entry(client, tenant, POLICIES)
    create(client, tenant, **SAMSUNG, policyUid=policy)
    uid = registered(client, **SAMSUNG)["deviceUid"]
    paired_at = _get(client, tenant, uid)["pairedAt"]
    assert _policies(client, tenant, uid) == [
        {"uid": policy, "priority": 1, "assignedAt": paired_at}
    ]
    assert _assign(client, tenant, uid, extra, 0).status_code == 201
    assert [p["uid"] for p in _policies(client, tenant, uid)] == [extra, policy]
    assert client.delete(f"{DEVICES}/{uid}/policy/{policy}", headers=tenant.headers).is_success
    assert [p["uid"] for p in _policies(client, tenant, uid)] == [extra]


def test_a_recipe_applied_later_replaces_what_operators_set(
    client: TestClient, tenant: Tenant, device: str
) -> None:
    """A recipe applied to a device paired by code configures it as the recipe says."""
    policy, mine = entry(client, tenant, POLICIES), entry(client, tenant, POLICIES)
    client.put(f"{DEVICES}/{device}", json={"name": "Mine"}, headers=tenant.headers)
    assert _assign(client, tenant, device, mine, 7).status_code == 201
    create(client, tenant, **SAMSUNG, deviceName="Lobby", policyUid=policy)

    assert registered(client, **SAMSUNG)["provisioned"]

    answer = _get(client, tenant, device)
    assert (answer["name"], [p["uid"] for p in answer["policies"]]) == ("Lobby", [policy])


def _every_change(device: str, entries: dict[str, str]) -> list[tuple[str, str, Any]]:
    """One call of every managing route, as (method, path, body)."""
    base = f"{DEVICES}/{device}"
    location, tag, policy = entries[LOCATIONS], entries[TAGS], entries[POLICIES]
    return [
        ("PUT", base, {"name": "Theirs"}),
        ("PUT", f"{base}/location/{location}", {}),
        ("DELETE", f"{base}/location/{location}", None),
        ("DELETE", f"{base}/location", None),
        ("PUT", f"{base}/organization-tag/{tag}", {}),
        ("DELETE", f"{base}/organization-tag/{tag}", None),
        ("POST", f"{base}/policy", {"uid": policy, "priority": 3}),
        ("GET", f"{base}/policy", None),
        ("GET", f"{base}/policy/{policy}", None),
        ("DELETE", f"{base}/policy/{policy}", None),
    ]


def _configure(client: TestClient, tenant: Tenant, device: str) -> dict[str, str]:
    """Give the device a location, a tag and a policy of its organization."""
    entries = {path: entry(client, tenant, path) for path in (LOCATIONS, TAGS, POLICIES)}
    base = f"{DEVICES}/{device}"
    for path in (f"location/{entries[LOCATIONS]}", f"organization-tag/{entries[TAGS]}"):
        assert client.put(f"{base}/{path}", json={}, headers=tenant.headers).is_success
    assert _assign(client, tenant, device, entries[POLICIES], 1).status_code == 201
    return entries


def test_another_tenant_gets_404_from_every_route_and_changes_nothing(
    client: TestClient, tenant: Tenant, other: Tenant, device: str, database_url: str
) -> None:
    entries = _configure(client, tenant, device)
    # The other tenant's own entries, that it might try to give the device.
    theirs = {path: entry(client, other, path) for path in (LOCATIONS, TAGS, POLICIES)}
    before = _get(client, tenant, device)
    events = len(outbox(database_url, tenant.organization_uid))

    for named in (entries, theirs):
        for method, path, body in _every_change(device, named):
            response = client.request(method, path, json=body, headers=other.headers)
            assert response.status_code == 404, f"{method} {path}: {response.text}"
            assert response.json()["errorCode"] == 404

    assert _get(client, tenant, device) == before
    assert len(outbox(database_url, tenant.organization_uid)) == events
    assert outbox(database_url, other.organization_uid) == []


@pytest.mark.parametrize("paired", [False, True])
def test_an_unknown_or_unpaired_device_is_404(
    client: TestClient, tenant: Tenant, database_url: str, paired: bool
) -> None:
    entries = {path: entry(client, tenant, path) for path in (LOCATIONS, TAGS, POLICIES)}
    uid = registered(client, **SAMSUNG)["deviceUid"] if paired else MISSING
    for method, path, body in _every_change(uid, entries):
        response = client.request(method, path, json=body, headers=tenant.headers)
        assert response.status_code == 404, f"{method} {path}: {response.text}"
    assert fetch_rows(database_url, "SELECT count(*) FROM device_policies")[0][0] == 0


def test_an_account_token_manages_devices_in_its_companys_organizations(
    client: TestClient, tenant: Tenant, device: str
) -> None:
    headers = account_headers(client, tenant)
    sibling = client.post("/v1/organization", json={"name": "Warehouse"}, headers=headers).json()
    location = entry(client, tenant, LOCATIONS)
    elsewhere = client.post(
        LOCATIONS,
        json={"name": "Dock", "address": "Pier 4", "organizationUid": sibling["uid"]},
        headers=headers,
    ).json()["uid"]
    base = f"{DEVICES}/{device}"

    renamed = client.put(base, json={"name": "Ops"}, headers=headers)
    located = client.put(f"{base}/location/{location}", json={}, headers=headers)
    # The sibling organization's location is not the device's organization's.
    refused = client.put(f"{base}/location/{elsewhere}", json={}, headers=headers)

    assert (renamed.status_code, located.status_code, refused.status_code) == (200, 200, 404)
    assert (located.json()["name"], located.json()["locationUid"]) == ("Ops", location)
    assert _get(client, tenant, device)["locationUid"] == location


def test_the_sdks_organization_move_is_not_supported(
    client: TestClient, tenant: Tenant, other: Tenant, device: str
) -> None:
    """`device.set(uid, {organizationUid})` puts to `/organization`: no such route."""
    response = client.put(
        f"{DEVICES}/{device}/organization",
        json={"organizationUid": other.organization_uid},
        headers=tenant.headers,
    )
    assert response.status_code == 404
    assert _get(client, tenant, device)["organizationUid"] == tenant.organization_uid


def test_deprovisioning_clears_what_operators_set(
    client: TestClient, tenant: Tenant, device: str, database_url: str
) -> None:
    _configure(client, tenant, device)
    client.put(f"{DEVICES}/{device}", json={"name": "Hall"}, headers=tenant.headers)

    assert client.put(f"{DEVICES}/{device}/deprovision", headers=tenant.headers).status_code == 204

    assert fetch_rows(database_url, "SELECT count(*) FROM device_policies")[0][0] == 0
    again = _pair(client, tenant, **SAMSUNG)
    assert again == device
    answer = _get(client, tenant, device)
    assert (answer["name"], answer["tagUids"], answer["policies"]) == ("samsung SN-0001", [], [])
    assert "locationUid" not in answer
