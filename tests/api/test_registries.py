"""Tags, policies and locations, and recipes that must reference existing ones."""

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import LOCATIONS, POLICIES, RECIPES, TAGS, create, entry, outbox
from tests.conftest import Tenant, make_tenant

REGISTRIES = [TAGS, POLICIES, LOCATIONS]


@pytest.mark.parametrize("path", REGISTRIES)
def test_create_list_get_delete(client: TestClient, tenant: Tenant, path: str) -> None:
    created = client.post(path, json={"name": " Lobby "}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"] == f"{path}/{body['uid']}"
    assert (body["name"], body["organizationUid"]) == ("Lobby", tenant.organization_uid)
    assert client.get(f"{path}/{body['uid']}", headers=tenant.headers).json() == body
    second = entry(client, tenant, path, "Hall")
    page = client.get(path, params={"limit": 1}, headers=tenant.headers)
    assert [e["uid"] for e in page.json()] == [body["uid"]]
    following = page.headers["Link"].split(">")[0].lstrip("<")
    assert [e["uid"] for e in client.get(following, headers=tenant.headers).json()] == [second]
    assert client.delete(f"{path}/{body['uid']}", headers=tenant.headers).status_code == 204
    assert client.get(f"{path}/{body['uid']}", headers=tenant.headers).status_code == 404
    assert client.delete(f"{path}/{body['uid']}", headers=tenant.headers).status_code == 404


@pytest.mark.parametrize("path", REGISTRIES)
def test_another_tenant_neither_sees_nor_deletes_an_entry(
    client: TestClient, tenant: Tenant, path: str
) -> None:
    other = make_tenant(client, "Globex", "Branch")
    uid = entry(client, tenant, path)
    assert client.get(f"{path}/{uid}", headers=other.headers).status_code == 404
    assert client.delete(f"{path}/{uid}", headers=other.headers).status_code == 404
    assert client.get(path, headers=other.headers).json() == []
    assert client.get(f"{path}/{uid}", headers=tenant.headers).status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x", "colour": "red"}]
)
def test_a_bad_entry_is_422_and_stores_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, object]
) -> None:
    response = client.post(TAGS, json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["details"]
    assert client.get(TAGS, headers=tenant.headers).json() == []


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
