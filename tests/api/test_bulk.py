"""`POST /v1/provisioning-recipe/bulk`: JSON and streamed CSV, atomic and partial."""

from collections.abc import Iterator

from fastapi.testclient import TestClient

from tests.api.helpers import RECIPES, TAGS, entry, event_types, feed
from tests.conftest import Tenant

BULK = f"{RECIPES}/bulk"
CSV_HEADERS = {"Content-Type": "text/csv"}


def _count(client: TestClient, tenant: Tenant) -> int:
    return len(client.get(RECIPES, params={"limit": 1000}, headers=tenant.headers).json())


def test_json_bulk_creates_every_row(client: TestClient, tenant: Tenant) -> None:
    rows = [{"brand": "lg", "serialNumber": f"SN-{n}"} for n in range(3)]
    response = client.post(BULK, json=rows, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 3
    assert body["failed"] == []
    listed = client.get(RECIPES, headers=tenant.headers).json()
    assert [r["uid"] for r in listed] == body["uids"]
    assert event_types(feed(client, tenant, 3)) == ["Device.ProvisioningRecipeCreated"] * 3


def test_atomic_bulk_lists_every_bad_row_and_stores_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    rows = [
        {"brand": "lg", "serialNumber": "SN-1"},
        {"brand": "lg"},
        {"brand": "android", "macAddress": "nope"},
        {"brand": "lg", "serialNumber": "sn-1"},
        {"brand": "lg", "serialNumber": "SN-5", "extra": 1},
    ]
    response = client.post(BULK, json=rows, headers=tenant.headers)
    assert response.status_code == 422
    details = response.json()["details"]
    assert [(d["row"], d["field"]) for d in details] == [
        (2, "serialNumber"),
        (3, "macAddress"),
        (4, "serialNumber"),
        (5, "extra"),
    ]
    assert _count(client, tenant) == 0
    client.post(RECIPES, json={"brand": "lg", "serialNumber": "later"}, headers=tenant.headers)
    assert event_types(feed(client, tenant, 1)) == ["Device.ProvisioningRecipeCreated"]


def test_partial_bulk_stores_good_rows_and_lists_bad_ones(
    client: TestClient, tenant: Tenant
) -> None:
    rows = [
        {"brand": "lg", "serialNumber": "SN-1"},
        {"brand": "lg"},
        {"brand": "lg", "serialNumber": "SN-3"},
    ]
    response = client.post(BULK, params={"mode": "partial"}, json=rows, headers=tenant.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 2
    assert [(f["row"], f["field"]) for f in body["failed"]] == [(2, "serialNumber")]
    assert _count(client, tenant) == 2


def test_csv_bulk_maps_columns_and_empty_cells(client: TestClient, tenant: Tenant) -> None:
    tag, other = entry(client, tenant, TAGS), entry(client, tenant, TAGS)
    text = (
        "brand,model,serialNumber,macAddress,deviceName,tagUids,policyUid,locationUid,confirmedOwnership\n"
        f'samsung,QM55,SN-1,,"Lobby, ""north""\nscreen",{tag};{other},,,true\n'
        "android,,,aa-bb-cc-dd-ee-ff,,,,,\n"
    )
    response = client.post(BULK, content=text.encode(), headers={**tenant.headers, **CSV_HEADERS})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    first, second = client.get(RECIPES, headers=tenant.headers).json()
    assert first["deviceName"] == 'Lobby, "north"\nscreen'
    assert first["tagUids"] == [tag, other]
    assert first["confirmedOwnership"] is True
    assert "model" not in second
    assert second["macAddress"] == "AA:BB:CC:DD:EE:FF"


def test_csv_errors_name_row_and_field(client: TestClient, tenant: Tenant) -> None:
    text = "brand,serialNumber,confirmedOwnership\nlg,SN-1,maybe\nlg,,\n"
    response = client.post(BULK, content=text.encode(), headers={**tenant.headers, **CSV_HEADERS})
    assert response.status_code == 422
    assert [(d["row"], d["field"]) for d in response.json()["details"]] == [
        (1, "confirmedOwnership"),
        (2, "serialNumber"),
    ]
    bad_header = client.post(
        BULK, content=b"brand,colour\nlg,red\n", headers={**tenant.headers, **CSV_HEADERS}
    )
    assert bad_header.status_code == 422
    assert bad_header.json()["details"][0]["field"] == "colour"
    assert _count(client, tenant) == 0


def test_a_large_csv_streams_in_chunks(client: TestClient, tenant: Tenant) -> None:
    rows = 3000

    text = ("brand,serialNumber\n" + "".join(f"lg,SN-{n:05d}\n" for n in range(rows))).encode()

    def body() -> Iterator[bytes]:  # 4000-byte chunks: their edges fall mid-record
        yield from (text[i : i + 4000] for i in range(0, len(text), 4000))

    response = client.post(BULK, content=body(), headers={**tenant.headers, **CSV_HEADERS})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == rows
    assert len(feed(client, tenant, rows)) == rows


def test_bulk_refuses_a_non_array_and_other_content_types(
    client: TestClient, tenant: Tenant
) -> None:
    assert client.post(BULK, json={"brand": "lg"}, headers=tenant.headers).status_code == 422
    response = client.post(
        BULK, content=b"x", headers={**tenant.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
