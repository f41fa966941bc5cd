"""The recipe endpoints end to end: HTTP in, database and feed out."""

import json
import threading

from fastapi.testclient import TestClient

from provisio.domain.status import RecipeStatus
from provisio.store.unit_of_work import Store
from tests.api.helpers import POLICIES, RECIPES, TAGS, create, entry, event_types, feed
from tests.conftest import Tenant, make_tenant
from tests.support import SEED

SEED_PAYLOAD_KEYS = list(json.loads(SEED.read_text())["payload"])


def test_create_answers_201_with_location_etag_and_the_resource(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        RECIPES,
        json={
            "brand": "Samsung",
            "serialNumber": " SN-1 ",
            "macAddress": "aabb.ccdd.eeff",
            "deviceName": "Lobby",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"{RECIPES}/{body['uid']}"
    assert response.headers["ETag"]
    assert body["status"] == "Pending"
    assert body["serialNumber"] == "SN-1"
    assert body["macAddress"] == "AA:BB:CC:DD:EE:FF"
    assert body["organizationUid"] == tenant.organization_uid
    assert body["confirmedOwnership"] is False
    assert body["createdAt"].endswith("Z")
    assert client.get(f"{RECIPES}/{body['uid']}", headers=tenant.headers).json() == body


def test_create_then_update_shows_created_then_updated_in_the_seed_shape(
    client: TestClient, tenant: Tenant
) -> None:
    tag = entry(client, tenant, TAGS)
    recipe = create(client, tenant, serialNumber="SN-1", tagUids=[tag], model="QM55")
    response = client.put(
        f"{RECIPES}/{recipe['uid']}",
        json={
            "deviceName": "Hall",
            "model": None,
            "macAddress": "AA-BB-CC-DD-EE-01",
            "confirmedOwnership": True,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    items = feed(client, tenant, 2)
    assert event_types(items) == [
        "Device.ProvisioningRecipeCreated",
        "Device.ProvisioningRecipeUpdated",
    ]
    updated = items[1]["event"]
    assert list(updated) == ["id", "kind", "type", "payload"]
    payload = updated["payload"]
    assert list(payload) == [key for key in SEED_PAYLOAD_KEYS if key in payload], (
        "not in seed order"
    )
    assert payload == {
        "owner": {
            "ownershipType": "organization",
            "organizationUid": tenant.organization_uid,
            "parentCompanyUid": tenant.company_uid,
        },
        "uid": recipe["uid"],
        "originator": {"accountId": tenant.account_id, "organizationUid": tenant.organization_uid},
        "type": "Device.ProvisioningRecipeUpdated",
        "organizationUid": tenant.organization_uid,
        "status": "Pending",
        "confirmedOwnership": True,
        "serialNumber": "SN-1",
        "macAddress": "AA:BB:CC:DD:EE:01",
        "brand": "samsung",
        "tagUids": [tag],
        "deviceName": "Hall",
    }


def test_put_changes_only_the_sent_fields_and_null_clears(
    client: TestClient, tenant: Tenant
) -> None:
    policy = entry(client, tenant, POLICIES)
    recipe = create(
        client, tenant, serialNumber="SN-1", deviceName="Lobby", model="QM55", policyUid=policy
    )
    response = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"model": None}, headers=tenant.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert "model" not in body
    assert (body["deviceName"], body["policyUid"]) == ("Lobby", policy)


def test_a_put_that_changes_nothing_emits_nothing(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, serialNumber="SN-1", deviceName="Lobby")
    etag = client.get(f"{RECIPES}/{recipe['uid']}", headers=tenant.headers).headers["ETag"]
    for body in ({"deviceName": "Lobby"}, {}, {"serialNumber": "SN-1 "}):
        response = client.put(f"{RECIPES}/{recipe['uid']}", json=body, headers=tenant.headers)
        assert response.status_code == 200
        assert response.headers["ETag"] == etag
    create(client, tenant, serialNumber="SN-2")  # a later event proves the feed has caught up
    assert event_types(feed(client, tenant, 2)) == ["Device.ProvisioningRecipeCreated"] * 2


def test_if_match_gives_optimistic_concurrency(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    url = f"{RECIPES}/{recipe['uid']}"
    etag = client.get(url, headers=tenant.headers).headers["ETag"]
    first = client.put(url, json={"deviceName": "A"}, headers={**tenant.headers, "If-Match": etag})
    assert first.status_code == 200
    assert first.headers["ETag"] != etag
    stale = client.put(url, json={"deviceName": "B"}, headers={**tenant.headers, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["errorCode"] == 412
    assert client.get(url, headers=tenant.headers).json()["deviceName"] == "A"


def test_concurrent_puts_without_if_match_all_apply_and_each_emits(
    client: TestClient, tenant: Tenant
) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    url = f"{RECIPES}/{recipe['uid']}"
    statuses: list[int] = []

    def put(n: int) -> None:
        statuses.append(
            client.put(url, json={"deviceName": f"n{n}"}, headers=tenant.headers).status_code
        )

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    items = feed(client, tenant, 9)
    assert event_types(items).count("Device.ProvisioningRecipeUpdated") == 8
    final = client.get(url, headers=tenant.headers).json()["deviceName"]
    assert items[-1]["event"]["payload"]["deviceName"] == final


def test_an_applied_recipe_is_read_only(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    store: Store = client.app.state.store  # type: ignore[attr-defined]

    async def mark_applied() -> None:
        async with store.unit_of_work() as uow:
            loaded = await uow.recipes.get(
                recipe["uid"], [tenant.organization_uid], for_update=True
            )
            loaded.status = RecipeStatus.APPLIED
            await uow.recipes.save(loaded)

    assert client.portal is not None
    client.portal.call(mark_applied)
    response = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"deviceName": "x"}, headers=tenant.headers
    )
    assert response.status_code == 409
    assert "Applied" in response.json()["message"]


def test_delete_answers_204_then_404_and_emits_deleted(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, serialNumber="SN-1", model="QM55")
    url = f"{RECIPES}/{recipe['uid']}"
    assert client.delete(url, headers=tenant.headers).status_code == 204
    assert client.get(url, headers=tenant.headers).status_code == 404
    assert client.delete(url, headers=tenant.headers).status_code == 404
    items = feed(client, tenant, 2)
    deleted = items[-1]["event"]["payload"]
    assert deleted["type"] == "Device.ProvisioningRecipeDeleted"
    assert (deleted["status"], deleted["serialNumber"], deleted["model"]) == (
        "Pending",
        "SN-1",
        "QM55",
    )


def test_retry_needs_a_failed_recipe(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    response = client.post(f"{RECIPES}/{recipe['uid']}/retry", headers=tenant.headers)
    assert response.status_code == 409
    assert response.json()["errorName"] == "Conflict"


def test_a_second_live_recipe_for_one_device_is_a_409(client: TestClient, tenant: Tenant) -> None:
    create(client, tenant, serialNumber="SN-1")
    response = client.post(
        RECIPES, json={"brand": "SAMSUNG", "serialNumber": "sn-1"}, headers=tenant.headers
    )
    assert response.status_code == 409
    assert response.json()["details"][0]["field"] == "serialNumber"
    other = make_tenant(client, "Other", "Elsewhere")
    create(client, other, serialNumber="SN-1")


def test_another_tenant_gets_404_and_sees_none_of_the_events(
    client: TestClient, tenant: Tenant
) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    other = make_tenant(client, "Other", "Elsewhere")
    url = f"{RECIPES}/{recipe['uid']}"
    assert client.get(url, headers=other.headers).status_code == 404
    assert client.put(url, json={"deviceName": "x"}, headers=other.headers).status_code == 404
    assert client.delete(url, headers=other.headers).status_code == 404
    assert client.post(f"{url}/retry", headers=other.headers).status_code == 404
    assert client.get(RECIPES, headers=other.headers).json() == []
    create(client, other, serialNumber="SN-9")
    assert len(feed(client, tenant, 1)) == 1
    theirs = feed(client, other, 1)
    assert [item["event"]["payload"]["serialNumber"] for item in theirs] == ["SN-9"]
    assert "deviceName" not in client.get(url, headers=tenant.headers).json()


def test_a_malformed_mac_is_a_422_naming_the_field_and_stores_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.post(
        RECIPES, json={"brand": "android", "macAddress": "aa:bb:cc"}, headers=tenant.headers
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errorCode"] == 422
    assert [d["field"] for d in body["details"]] == ["macAddress"]
    assert client.get(RECIPES, headers=tenant.headers).json() == []
    create(client, tenant, serialNumber="SN-1")
    assert event_types(feed(client, tenant, 1)) == ["Device.ProvisioningRecipeCreated"]


def test_brand_rules_are_enforced_on_create_and_update(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        RECIPES, json={"brand": "samsung", "macAddress": "aabbccddeeff"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "serialNumber"
    recipe = create(client, tenant, serialNumber="SN-1")
    response = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"serialNumber": None}, headers=tenant.headers
    )
    assert response.status_code == 422


def test_list_filters_and_pages_with_link_next(client: TestClient, tenant: Tenant) -> None:
    made = [create(client, tenant, serialNumber=f"SN-{n}")["uid"] for n in range(5)]
    lg = create(client, tenant, brand="LG", serialNumber="Ser-X", macAddress="00:11:22:33:44:55")[
        "uid"
    ]
    first = client.get(RECIPES, params={"limit": 4}, headers=tenant.headers)
    assert [r["uid"] for r in first.json()] == made[:4]
    link = first.headers["Link"]
    assert link.endswith('; rel="next"')
    second = client.get(link[1 : link.index(">")], headers=tenant.headers)
    assert [r["uid"] for r in second.json()] == [made[4], lg]
    assert "Link" not in second.headers
    for params in ({"brand": "lg"}, {"serialNumber": "ser-x "}, {"macAddress": "001122334455"}):
        assert [
            r["uid"] for r in client.get(RECIPES, params=params, headers=tenant.headers).json()
        ] == [lg]
    assert client.get(RECIPES, params={"status": "Failed"}, headers=tenant.headers).json() == []
    for bad in ({"limit": 0}, {"limit": 1001}, {"status": "Nope"}, {"macAddress": "zz"}):
        response = client.get(RECIPES, params=bad, headers=tenant.headers)
        assert response.status_code == 422, bad
