"""Tags, policies and locations in signageOS's shapes, and recipes that must reference existing
ones."""

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    LOCATIONS,
    PLACE,
    POLICIES,
    RECIPES,
    TAGS,
    account_headers,
    create,
    entry,
    outbox,
)
from tests.conftest import Tenant, make_tenant

REGISTRIES = [TAGS, POLICIES, LOCATIONS]
REQUIRED = {TAGS: {}, POLICIES: {}, LOCATIONS: PLACE}
"""What each kind needs besides a name."""
SHAPES = {
    TAGS: {"uid", "organizationUid", "name", "createdAt", "updatedAt"},
    POLICIES: {"uid", "organizationUid", "name", "items", "createdAt", "updatedAt"},
    LOCATIONS: {
        "uid",
        "organizationUid",
        "name",
        "feature",
        "tagUids",
        "attachments",
        "createdAt",
        "updatedAt",
    },
}
"""The fields of an entry created with nothing but what it needs."""
UPDATES = {TAGS: {"name": "Renamed"}, POLICIES: {"name": "Renamed"}, LOCATIONS: {"name": "Renamed"}}
MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MISSING = "f" * 32
ACTION = re.compile(r"(?<=[0-9a-f]{32})/(archive|organization-tag/[0-9a-f]{32})$")
"""The end of a path that acts on an entry (the rest is the entry's)."""


def _post(client: TestClient, tenant: Tenant, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _get(client: TestClient, tenant: Tenant, path: str) -> dict[str, Any]:
    response = client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _put(client: TestClient, tenant: Tenant, path: str, body: Any) -> dict[str, Any]:
    """The answer of a PUT, which must be the entry as GET then shows it."""
    response = client.put(path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert _get(client, tenant, ACTION.sub("", path)) == result
    return result


def _refused(
    client: TestClient, tenant: Tenant, method: str, path: str, body: Any, fields: set[str]
) -> None:
    """A 422 naming exactly `fields`. (The body is sent as `json.dumps` escapes it, so that it
    may hold an unpaired surrogate.)"""
    headers = {**tenant.headers, "Content-Type": "application/json"}
    response = client.request(method, path, content=json.dumps(body).encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert {detail["field"] for detail in response.json()["details"]} == fields


# --- every kind -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", REGISTRIES)
def test_create_list_get_delete(client: TestClient, tenant: Tenant, path: str) -> None:
    created = client.post(path, json={"name": " Lobby ", **REQUIRED[path]}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == SHAPES[path]
    assert created.headers["Location"] == f"{path}/{body['uid']}"
    assert (body["name"], body["organizationUid"]) == ("Lobby", tenant.organization_uid)
    assert MS_Z.match(body["createdAt"])
    assert body["updatedAt"] == body["createdAt"]
    assert _get(client, tenant, f"{path}/{body['uid']}") == body
    second = entry(client, tenant, path, "Hall")
    page = client.get(path, params={"limit": 1}, headers=tenant.headers)
    assert page.json() == [body]
    following = page.headers["Link"].split(">")[0].lstrip("<")
    assert [e["uid"] for e in client.get(following, headers=tenant.headers).json()] == [second]
    assert client.delete(f"{path}/{body['uid']}", headers=tenant.headers).status_code == 204
    assert client.get(f"{path}/{body['uid']}", headers=tenant.headers).status_code == 404
    assert client.delete(f"{path}/{body['uid']}", headers=tenant.headers).status_code == 404


@pytest.mark.parametrize("path", REGISTRIES)
def test_put_answers_the_updated_entry_and_moves_updated_at(
    client: TestClient, tenant: Tenant, path: str
) -> None:
    before = _post(client, tenant, path, name="Lobby", **REQUIRED[path])
    after = _put(client, tenant, f"{path}/{before['uid']}", {"name": " Renamed "})
    assert after["name"] == "Renamed"
    assert after["createdAt"] == before["createdAt"]
    assert MS_Z.match(after["updatedAt"])
    assert after["updatedAt"] > before["updatedAt"]
    assert {k: v for k, v in after.items() if k not in ("name", "updatedAt")} == {
        k: v for k, v in before.items() if k not in ("name", "updatedAt")
    }


@pytest.mark.parametrize("path", REGISTRIES)
def test_put_to_a_missing_entry_is_404(client: TestClient, tenant: Tenant, path: str) -> None:
    response = client.put(f"{path}/{MISSING}", json=UPDATES[path], headers=tenant.headers)
    assert response.status_code == 404


@pytest.mark.parametrize("path", REGISTRIES)
def test_another_tenant_neither_sees_nor_changes_an_entry(
    client: TestClient, tenant: Tenant, path: str
) -> None:
    other = make_tenant(client, "Globex", "Branch")
    uid = entry(client, tenant, path)
    before = _get(client, tenant, f"{path}/{uid}")
    assert client.get(f"{path}/{uid}", headers=other.headers).status_code == 404
    assert client.put(f"{path}/{uid}", json=UPDATES[path], headers=other.headers).status_code == 404
    assert client.delete(f"{path}/{uid}", headers=other.headers).status_code == 404
    assert client.get(path, headers=other.headers).json() == []
    assert _get(client, tenant, f"{path}/{uid}") == before


@pytest.mark.parametrize("path", REGISTRIES)
@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": None}, {"name": "x" * 256}],
)
def test_a_bad_name_is_422_and_stores_nothing(
    client: TestClient, tenant: Tenant, path: str, body: dict[str, object]
) -> None:
    _refused(client, tenant, "POST", path, {**REQUIRED[path], **body}, {"name"})
    assert client.get(path, headers=tenant.headers).json() == []


@pytest.mark.parametrize("path", REGISTRIES)
def test_unknown_fields_are_422_on_create_and_put(
    client: TestClient, tenant: Tenant, path: str
) -> None:
    body = {"name": "x", **REQUIRED[path], "colour": "red"}
    _refused(client, tenant, "POST", path, body, {"colour"})
    assert client.get(path, headers=tenant.headers).json() == []
    uid = entry(client, tenant, path)
    before = _get(client, tenant, f"{path}/{uid}")
    _refused(client, tenant, "PUT", f"{path}/{uid}", {"name": "y", "colour": "red"}, {"colour"})
    assert _get(client, tenant, f"{path}/{uid}") == before


@pytest.mark.parametrize("path", REGISTRIES)
def test_registry_changes_emit_no_events(
    client: TestClient, tenant: Tenant, database_url: str, path: str
) -> None:
    uid = entry(client, tenant, path)
    _put(client, tenant, f"{path}/{uid}", UPDATES[path])
    assert client.delete(f"{path}/{uid}", headers=tenant.headers).status_code == 204
    assert outbox(database_url, tenant.organization_uid) == []


# --- tags ---------------------------------------------------------------------------------


def test_a_tag_has_a_color_and_a_parent(client: TestClient, tenant: Tenant) -> None:
    parent = entry(client, tenant, TAGS, "Floors")
    tag = _post(client, tenant, TAGS, name="Ground", color="#00ff00", parentTagUid=parent)
    assert {k: tag[k] for k in ("name", "color", "parentTagUid")} == {
        "name": "Ground",
        "color": "#00ff00",
        "parentTagUid": parent,
    }
    assert _get(client, tenant, f"{TAGS}/{tag['uid']}") == tag


def test_a_tag_update_keeps_what_it_omits_and_clears_what_is_null(
    client: TestClient, tenant: Tenant
) -> None:
    parent = entry(client, tenant, TAGS, "Floors")
    uid = entry(client, tenant, TAGS, "Ground", color="red", parentTagUid=parent)
    path = f"{TAGS}/{uid}"
    renamed = _put(client, tenant, path, {"name": "First"})
    assert (renamed["name"], renamed["color"], renamed["parentTagUid"]) == ("First", "red", parent)
    recolored = _put(client, tenant, path, {"name": "First", "color": "blue"})
    assert (recolored["color"], recolored["parentTagUid"]) == ("blue", parent)
    cleared = _put(client, tenant, path, {"name": "First", "color": None, "parentTagUid": None})
    assert "color" not in cleared
    assert "parentTagUid" not in cleared
    moved = _put(client, tenant, path, {"name": "First", "parentTagUid": parent})
    assert moved["parentTagUid"] == parent


def test_a_tag_update_needs_a_name(client: TestClient, tenant: Tenant) -> None:
    uid = entry(client, tenant, TAGS)
    _refused(client, tenant, "PUT", f"{TAGS}/{uid}", {"color": "red"}, {"name"})
    assert "color" not in _get(client, tenant, f"{TAGS}/{uid}")


@pytest.mark.parametrize("field", ["color", "parentTagUid"])
@pytest.mark.parametrize("value", ["", 5, ["x"]])
def test_a_bad_tag_field_is_422(client: TestClient, tenant: Tenant, field: str, value: Any) -> None:
    _refused(client, tenant, "POST", TAGS, {"name": "x", field: value}, {field})
    assert client.get(TAGS, headers=tenant.headers).json() == []


def test_a_parent_must_be_a_tag_of_the_organization(client: TestClient, tenant: Tenant) -> None:
    other = make_tenant(client, "Globex", "Branch")
    foreign = entry(client, other, TAGS)
    policy = entry(client, tenant, POLICIES)
    for parent in (MISSING, foreign, policy):
        _refused(
            client, tenant, "POST", TAGS, {"name": "x", "parentTagUid": parent}, {"parentTagUid"}
        )
    assert client.get(TAGS, headers=tenant.headers).json() == []
    uid = entry(client, tenant, TAGS)
    before = _get(client, tenant, f"{TAGS}/{uid}")
    for parent in (MISSING, foreign, policy):
        body = {"name": "y", "parentTagUid": parent}
        _refused(client, tenant, "PUT", f"{TAGS}/{uid}", body, {"parentTagUid"})
    assert _get(client, tenant, f"{TAGS}/{uid}") == before


def test_an_account_token_cannot_parent_a_tag_across_organizations(
    client: TestClient, tenant: Tenant
) -> None:
    account = account_headers(client, tenant)
    branch = client.post("/v1/organization", json={"name": "Branch"}, headers=account).json()
    foreign = client.post(
        TAGS, json={"name": "x", "organizationUid": branch["uid"]}, headers=account
    ).json()["uid"]
    body = {"name": "y", "organizationUid": tenant.organization_uid, "parentTagUid": foreign}
    response = client.post(TAGS, json=body, headers=account)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["parentTagUid"]


def test_a_tag_is_neither_its_own_parent_nor_its_descendants_child(
    client: TestClient, tenant: Tenant
) -> None:
    top = entry(client, tenant, TAGS, "top")
    middle = entry(client, tenant, TAGS, "middle", parentTagUid=top)
    bottom = entry(client, tenant, TAGS, "bottom", parentTagUid=middle)
    before = _get(client, tenant, f"{TAGS}/{top}")
    for parent in (top, middle, bottom):
        response = client.put(
            f"{TAGS}/{top}", json={"name": "top", "parentTagUid": parent}, headers=tenant.headers
        )
        assert response.status_code == 422
        assert [d["field"] for d in response.json()["details"]] == ["parentTagUid"]
    assert _get(client, tenant, f"{TAGS}/{top}") == before
    assert _put(client, tenant, f"{TAGS}/{bottom}", {"name": "b", "parentTagUid": top})


def test_deleting_a_parent_leaves_its_children_without_one(
    client: TestClient, tenant: Tenant
) -> None:
    parent = entry(client, tenant, TAGS, "parent")
    child = entry(client, tenant, TAGS, "child", parentTagUid=parent)
    assert client.delete(f"{TAGS}/{parent}", headers=tenant.headers).status_code == 204
    assert "parentTagUid" not in _get(client, tenant, f"{TAGS}/{child}")


# --- policies -----------------------------------------------------------------------------

ITEMS = [
    {"type": "VOLUME", "value": 40},
    {"type": "BRIGHTNESS", "applicationType": "tizen", "value": {"level": 0.75, "auto": False}},
    {"type": "TIMERS", "value": [{"on": "08:00", "days": ["mon", "tue"]}, None]},
    {"type": "NOTE", "value": "quiet hours"},
    {"type": "NOTHING", "value": None},
    {"type": "BIG", "value": 10**60},
]


def test_a_policy_as_the_sdk_creates_it(client: TestClient, tenant: Tenant) -> None:
    body = {"name": "Night", "organizationUid": tenant.organization_uid}
    policy = _post(client, tenant, POLICIES, **body)
    assert set(policy) == SHAPES[POLICIES]
    assert policy["items"] == []


def test_a_policy_keeps_its_note_and_items_exactly(client: TestClient, tenant: Tenant) -> None:
    policy = _post(client, tenant, POLICIES, name="Night", note="for lobbies", items=ITEMS)
    assert (policy["note"], policy["items"]) == ("for lobbies", ITEMS)
    assert _get(client, tenant, f"{POLICIES}/{policy['uid']}") == policy
    assert client.get(POLICIES, headers=tenant.headers).json() == [policy]


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"value": 1}], "items.0.type"),
        ([{"type": "A"}], "items.0.value"),
        ([{"type": "", "value": 1}], "items.0.type"),
        ([{"type": "A", "applicationType": 7, "value": 1}], "items.0.applicationType"),
        ([{"type": "A", "value": 1, "updatedAt": "now"}], "items.0.updatedAt"),
        ([{"type": "A", "value": 1}, "B"], "items.1"),
        ([{"type": "A", "value": {"k": ["a\x00b"]}}], "items.0.value"),
        ([{"type": "A", "value": {"a\ud800": 1}}], "items.0.value"),
        ([{"type": "A", "value": 1} for _ in range(1001)], "items"),
        (None, "items"),
        ({"type": "A", "value": 1}, "items"),
    ],
)
def test_bad_policy_items_are_422_and_store_nothing(
    client: TestClient, tenant: Tenant, items: Any, field: str
) -> None:
    _refused(client, tenant, "POST", POLICIES, {"name": "x", "items": items}, {field})
    assert client.get(POLICIES, headers=tenant.headers).json() == []
    uid = entry(client, tenant, POLICIES)
    before = _get(client, tenant, f"{POLICIES}/{uid}")
    _refused(client, tenant, "PUT", f"{POLICIES}/{uid}", {"items": items}, {field})
    assert _get(client, tenant, f"{POLICIES}/{uid}") == before


def test_an_infinite_number_in_an_item_is_422(client: TestClient, tenant: Tenant) -> None:
    raw = b'{"name": "x", "items": [{"type": "A", "value": [1e999]}]}'
    headers = {**tenant.headers, "Content-Type": "application/json"}
    response = client.post(POLICIES, content=raw, headers=headers)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["items.0.value"]


def test_a_policy_update_changes_only_what_it_sends(client: TestClient, tenant: Tenant) -> None:
    uid = entry(client, tenant, POLICIES, "Night", note="n", items=ITEMS[:2])
    path = f"{POLICIES}/{uid}"
    renamed = _put(client, tenant, path, {"name": "Day"})
    assert (renamed["name"], renamed["note"], renamed["items"]) == ("Day", "n", ITEMS[:2])
    replaced = _put(client, tenant, path, {"items": ITEMS[2:]})
    assert (replaced["name"], replaced["note"], replaced["items"]) == ("Day", "n", ITEMS[2:])
    cleared = _put(client, tenant, path, {"note": None, "items": []})
    assert "note" not in cleared
    assert cleared["items"] == []
    noted = _put(client, tenant, path, {"note": ""})
    assert noted["note"] == ""
    assert _put(client, tenant, path, {})["name"] == "Day"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": None}, {"name"}),
        ({"items": None}, {"items"}),
        ({"note": "x" * 1001}, {"note"}),
        ({"note": 5}, {"note"}),
        ({"archived": True}, {"archived"}),
        ({"organizationUid": "a" * 32}, {"organizationUid"}),
    ],
)
def test_a_bad_policy_update_is_422_and_changes_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, Any], fields: set[str]
) -> None:
    uid = entry(client, tenant, POLICIES, note="n", items=ITEMS[:1])
    before = _get(client, tenant, f"{POLICIES}/{uid}")
    _refused(client, tenant, "PUT", f"{POLICIES}/{uid}", body, fields)
    assert _get(client, tenant, f"{POLICIES}/{uid}") == before


def test_archiving_hides_a_policy_from_the_default_list(client: TestClient, tenant: Tenant) -> None:
    kept, archived = entry(client, tenant, POLICIES, "kept"), entry(client, tenant, POLICIES)
    done = _put(client, tenant, f"{POLICIES}/{archived}/archive", {"archived": True})
    assert MS_Z.match(done["archivedAt"])
    assert done["updatedAt"] == done["archivedAt"]

    def listed(**params: str) -> list[str]:
        response = client.get(POLICIES, params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [policy["uid"] for policy in response.json()]

    assert listed() == listed(archived="false") == [kept]
    assert listed(archived="true") == [archived]
    again = _put(client, tenant, f"{POLICIES}/{archived}/archive", {"archived": True})
    assert again["archivedAt"] == done["archivedAt"]
    restored = _put(client, tenant, f"{POLICIES}/{archived}/archive", {"archived": False})
    assert "archivedAt" not in restored
    assert listed() == [kept, archived]
    assert listed(archived="true") == []
    assert (
        client.get(POLICIES, params={"archived": "maybe"}, headers=tenant.headers).status_code
        == 422
    )


@pytest.mark.parametrize(
    "body", [{}, {"archived": "yes"}, {"archived": None}, {"archived": True, "x": 1}]
)
def test_a_bad_archive_request_is_422(client: TestClient, tenant: Tenant, body: Any) -> None:
    uid = entry(client, tenant, POLICIES)
    before = _get(client, tenant, f"{POLICIES}/{uid}")
    response = client.put(f"{POLICIES}/{uid}/archive", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert _get(client, tenant, f"{POLICIES}/{uid}") == before


def test_an_archived_policy_remains_a_valid_reference(client: TestClient, tenant: Tenant) -> None:
    policy = entry(client, tenant, POLICIES)
    _put(client, tenant, f"{POLICIES}/{policy}/archive", {"archived": True})
    recipe = create(client, tenant, serialNumber="SN-1", policyUid=policy)
    assert recipe["policyUid"] == policy
    edited = _put(client, tenant, f"{POLICIES}/{policy}", {"name": "still archived"})
    assert "archivedAt" in edited


def test_another_tenant_cannot_archive_a_policy(client: TestClient, tenant: Tenant) -> None:
    other = make_tenant(client, "Globex", "Branch")
    uid = entry(client, tenant, POLICIES)
    response = client.put(
        f"{POLICIES}/{uid}/archive", json={"archived": True}, headers=other.headers
    )
    assert response.status_code == 404
    assert "archivedAt" not in _get(client, tenant, f"{POLICIES}/{uid}")
    assert client.get(POLICIES, params={"archived": "true"}, headers=other.headers).json() == []


# --- locations ----------------------------------------------------------------------------


def test_a_location_at_coordinates_is_a_geojson_point(client: TestClient, tenant: Tenant) -> None:
    tag = entry(client, tenant, TAGS)
    location = _post(
        client,
        tenant,
        LOCATIONS,
        name="Prague office",
        coordinates={"lat": 50.0755, "long": 14.4378},
        customId="PRG-1",
        description="Second floor",
        tagUids=[tag],
    )
    assert location["feature"] == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [14.4378, 50.0755]},
        "properties": {},
    }
    assert (location["customId"], location["description"]) == ("PRG-1", "Second floor")
    assert (location["tagUids"], location["attachments"]) == ([tag], [])
    assert _get(client, tenant, f"{LOCATIONS}/{location['uid']}") == location


def test_a_location_at_an_address_has_no_geometry(client: TestClient, tenant: Tenant) -> None:
    location = _post(client, tenant, LOCATIONS, name="HQ", address="Vodickova 1, Prague")
    assert location["feature"] == {
        "type": "Feature",
        "geometry": None,
        "properties": {"address": "Vodickova 1, Prague"},
    }
    assert location["tagUids"] == []


@pytest.mark.parametrize("lat", [-90, 90, 0])
@pytest.mark.parametrize("long", [-180, 180, 0.5])
def test_coordinates_at_the_limits_are_accepted(
    client: TestClient, tenant: Tenant, lat: float, long: float
) -> None:
    location = _post(client, tenant, LOCATIONS, name="x", coordinates={"lat": lat, "long": long})
    assert location["feature"]["geometry"]["coordinates"] == [long, lat]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"coordinates", "address"}),
        ({"coordinates": None, "address": None}, {"coordinates", "address"}),
        ({**PLACE, "address": "Prague"}, {"coordinates", "address"}),
        ({"coordinates": {"lat": 90.5, "long": 0}}, {"coordinates.lat"}),
        ({"coordinates": {"lat": -91, "long": 0}}, {"coordinates.lat"}),
        ({"coordinates": {"lat": 0, "long": 180.1}}, {"coordinates.long"}),
        ({"coordinates": {"lat": 0, "long": -181}}, {"coordinates.long"}),
        ({"coordinates": {"lat": "50", "long": 0}}, {"coordinates.lat"}),
        ({"coordinates": {"lat": True, "long": 0}}, {"coordinates.lat"}),
        ({"coordinates": {"lat": 0}}, {"coordinates.long"}),
        ({"coordinates": {"lat": 0, "long": 0, "alt": 1}}, {"coordinates.alt"}),
        ({"coordinates": [14.4, 50.1]}, {"coordinates"}),
        ({"address": ""}, {"address"}),
        ({**PLACE, "customId": ""}, {"customId"}),
        ({**PLACE, "description": "x" * 1001}, {"description"}),
        ({**PLACE, "tagUids": ["nope"]}, {"tagUids.0"}),
        ({**PLACE, "tagUids": [MISSING]}, {"tagUids"}),
        ({**PLACE, "attachments": []}, {"attachments"}),
    ],
)
def test_a_bad_location_is_422_naming_the_field_and_stores_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, Any], fields: set[str]
) -> None:
    _refused(client, tenant, "POST", LOCATIONS, {"name": "x", **body}, fields)
    assert client.get(LOCATIONS, headers=tenant.headers).json() == []


def test_an_infinite_coordinate_is_422(client: TestClient, tenant: Tenant) -> None:
    raw = b'{"name": "x", "coordinates": {"lat": 1e999, "long": 0}}'
    headers = {**tenant.headers, "Content-Type": "application/json"}
    response = client.post(LOCATIONS, content=raw, headers=headers)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["coordinates.lat"]


def test_a_location_lists_only_tags_of_its_organization_once(
    client: TestClient, tenant: Tenant
) -> None:
    other = make_tenant(client, "Globex", "Branch")
    foreign, tag = entry(client, other, TAGS), entry(client, tenant, TAGS)
    response = client.post(
        LOCATIONS, json={"name": "x", **PLACE, "tagUids": [tag, foreign]}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "tagUids", "message": f"no tag {foreign} in this organization"}
    ]
    _refused(
        client,
        tenant,
        "POST",
        LOCATIONS,
        {"name": "x", **PLACE, "tagUids": [tag, tag]},
        {"tagUids"},
    )
    assert client.get(LOCATIONS, headers=tenant.headers).json() == []


def test_a_location_update_changes_only_what_it_sends(client: TestClient, tenant: Tenant) -> None:
    uid = entry(client, tenant, LOCATIONS, "HQ", customId="A", description="d")
    path = f"{LOCATIONS}/{uid}"
    renamed = _put(client, tenant, path, {"name": "Head office"})
    assert renamed["feature"]["geometry"]["coordinates"] == [14.4378, 50.0755]
    assert (renamed["customId"], renamed["description"]) == ("A", "d")
    addressed = _put(client, tenant, path, {"address": "Vodickova 1"})
    assert addressed["feature"] == {
        "type": "Feature",
        "geometry": None,
        "properties": {"address": "Vodickova 1"},
    }
    moved = _put(client, tenant, path, {"coordinates": {"lat": -33.86, "long": 151.21}})
    assert moved["feature"] == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [151.21, -33.86]},
        "properties": {},
    }
    cleared = _put(client, tenant, path, {"customId": None, "description": None})
    assert "customId" not in cleared
    assert "description" not in cleared
    assert cleared["name"] == "Head office"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**PLACE, "address": "Prague"}, {"coordinates", "address"}),
        ({"coordinates": None}, {"coordinates"}),
        ({"address": None}, {"address"}),
        ({"name": None}, {"name"}),
        ({"coordinates": {"lat": 91, "long": 0}}, {"coordinates.lat"}),
        ({"tagUids": []}, {"tagUids"}),
        ({"customId": ""}, {"customId"}),
    ],
)
def test_a_bad_location_update_is_422_and_changes_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, Any], fields: set[str]
) -> None:
    uid = entry(client, tenant, LOCATIONS, customId="A")
    before = _get(client, tenant, f"{LOCATIONS}/{uid}")
    _refused(client, tenant, "PUT", f"{LOCATIONS}/{uid}", body, fields)
    assert _get(client, tenant, f"{LOCATIONS}/{uid}") == before


def test_tags_are_assigned_to_and_unassigned_from_a_location(
    client: TestClient, tenant: Tenant
) -> None:
    first, second = entry(client, tenant, TAGS, "first"), entry(client, tenant, TAGS, "second")
    uid = entry(client, tenant, LOCATIONS, tagUids=[first])
    path = f"{LOCATIONS}/{uid}"
    assigned = _put(client, tenant, f"{path}/organization-tag/{second}", {})
    assert assigned["tagUids"] == [first, second]
    assert _put(client, tenant, f"{path}/organization-tag/{second}", {})["tagUids"] == [
        first,
        second,
    ]
    bare = client.put(f"{path}/organization-tag/{second}", headers=tenant.headers)
    assert bare.status_code == 200
    assert bare.json()["tagUids"] == [first, second]
    unassign = client.delete(f"{path}/organization-tag/{first}", headers=tenant.headers)
    assert unassign.status_code == 204
    assert _get(client, tenant, path)["tagUids"] == [second]
    again = client.delete(f"{path}/organization-tag/{first}", headers=tenant.headers)
    assert again.status_code == 404
    assert _put(client, tenant, f"{path}/organization-tag/{first}", {})["tagUids"] == [
        second,
        first,
    ]


def test_assigning_an_unknown_tag_is_404_and_changes_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    other = make_tenant(client, "Globex", "Branch")
    foreign, policy = entry(client, other, TAGS), entry(client, tenant, POLICIES)
    uid = entry(client, tenant, LOCATIONS)
    before = _get(client, tenant, f"{LOCATIONS}/{uid}")
    for tag in (MISSING, foreign, policy):
        path = f"{LOCATIONS}/{uid}/organization-tag/{tag}"
        assert client.put(path, json={}, headers=tenant.headers).status_code == 404
        assert client.delete(path, headers=tenant.headers).status_code == 404
    tag = entry(client, tenant, TAGS)
    path = f"{LOCATIONS}/{uid}/organization-tag/{tag}"
    _refused(client, tenant, "PUT", path, {"tagUid": tag}, {"tagUid"})
    assert (
        client.put(
            f"{LOCATIONS}/{MISSING}/organization-tag/{tag}", json={}, headers=tenant.headers
        ).status_code
        == 404
    )
    assert _get(client, tenant, f"{LOCATIONS}/{uid}") == before


def test_another_tenant_cannot_assign_or_unassign_tags(client: TestClient, tenant: Tenant) -> None:
    other = make_tenant(client, "Globex", "Branch")
    tag = entry(client, tenant, TAGS)
    their_tag = entry(client, other, TAGS)
    uid = entry(client, tenant, LOCATIONS, tagUids=[tag])
    before = _get(client, tenant, f"{LOCATIONS}/{uid}")
    for assigned in (tag, their_tag):
        path = f"{LOCATIONS}/{uid}/organization-tag/{assigned}"
        assert client.put(path, json={}, headers=other.headers).status_code == 404
        assert client.delete(path, headers=other.headers).status_code == 404
    assert _get(client, tenant, f"{LOCATIONS}/{uid}") == before


def test_a_location_holds_at_most_100_tags(client: TestClient, tenant: Tenant) -> None:
    tags = [entry(client, tenant, TAGS, f"t{n}") for n in range(101)]
    uid = entry(client, tenant, LOCATIONS, tagUids=tags[:100])
    _refused(
        client, tenant, "POST", LOCATIONS, {"name": "x", **PLACE, "tagUids": tags}, {"tagUids"}
    )
    response = client.put(
        f"{LOCATIONS}/{uid}/organization-tag/{tags[100]}", json={}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert _get(client, tenant, f"{LOCATIONS}/{uid}")["tagUids"] == tags[:100]


def test_deleting_a_tag_unassigns_it_from_locations(client: TestClient, tenant: Tenant) -> None:
    kept, doomed = entry(client, tenant, TAGS, "kept"), entry(client, tenant, TAGS, "doomed")
    uid = entry(client, tenant, LOCATIONS, tagUids=[doomed, kept])
    assert client.delete(f"{TAGS}/{doomed}", headers=tenant.headers).status_code == 204
    assert _get(client, tenant, f"{LOCATIONS}/{uid}")["tagUids"] == [kept]
    assert client.delete(f"{LOCATIONS}/{uid}", headers=tenant.headers).status_code == 204
    assert _get(client, tenant, f"{TAGS}/{kept}")["name"] == "kept"


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("action", ["add-attachment", "remove-attachments"])
def test_location_attachments_are_not_supported(
    client: TestClient, tenant: Tenant, method: str, action: str
) -> None:
    uid = entry(client, tenant, LOCATIONS)
    response = client.request(
        method, f"{LOCATIONS}/{uid}/{action}", json={}, headers=tenant.headers
    )
    assert response.status_code == 404


# --- recipes referring to entries ---------------------------------------------------------


def test_a_recipe_may_reference_only_entries_of_its_organization(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    other = make_tenant(client, "Globex", "Branch")
    foreign_tag = entry(client, other, TAGS)
    tag = entry(client, tenant, TAGS)
    missing_policy, missing_location = "a" * 32, "b" * 32
    response = client.post(
        RECIPES,
        json={
            "brand": "samsung",
            "serialNumber": "SN-1",
            "tagUids": [tag, foreign_tag],
            "policyUid": missing_policy,
            "locationUid": missing_location,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert [(d["field"], d["message"]) for d in response.json()["details"]] == [
        ("tagUids", f"no tag {foreign_tag} in this organization"),
        ("policyUid", f"no policy {missing_policy} in this organization"),
        ("locationUid", f"no location {missing_location} in this organization"),
    ]
    assert client.get(RECIPES, headers=tenant.headers).json() == []
    assert outbox(database_url, tenant.organization_uid) == []


def test_an_update_to_an_unknown_reference_is_422_and_changes_nothing(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    events = len(outbox(database_url, tenant.organization_uid))
    response = client.put(
        f"{RECIPES}/{recipe['uid']}",
        json={"deviceName": "Hall", "policyUid": "c" * 32},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "policyUid"
    assert client.get(f"{RECIPES}/{recipe['uid']}", headers=tenant.headers).json() == recipe
    assert len(outbox(database_url, tenant.organization_uid)) == events


def test_bulk_rows_with_unknown_references_are_reported_per_row(
    client: TestClient, tenant: Tenant
) -> None:
    tag = entry(client, tenant, TAGS)
    rows = [
        {"brand": "samsung", "serialNumber": "SN-1", "tagUids": [tag]},
        {"brand": "samsung", "serialNumber": "SN-2", "locationUid": "d" * 32},
        {"brand": "samsung", "serialNumber": "SN-3", "tagUids": [tag]},
    ]
    atomic = client.post(f"{RECIPES}/bulk", json=rows, headers=tenant.headers)
    assert atomic.status_code == 422
    assert [(d["row"], d["field"]) for d in atomic.json()["details"]] == [(2, "locationUid")]
    assert client.get(RECIPES, headers=tenant.headers).json() == []
    partial = client.post(
        f"{RECIPES}/bulk", params={"mode": "partial"}, json=rows, headers=tenant.headers
    )
    assert partial.status_code == 200
    assert (partial.json()["created"], len(partial.json()["failed"])) == (2, 1)
