"""`POST /v1/provisioning-recipe/bulk`: JSON and streamed CSV, atomic and partial."""

from collections.abc import Iterator

import httpx2 as httpx
from fastapi.testclient import TestClient

from tests.api.helpers import RECIPES, TAGS, entry, event_types, feed
from tests.conftest import Tenant

BULK = f"{RECIPES}/bulk"
CSV_HEADERS = {"Content-Type": "text/csv"}


def _partial_csv(client: TestClient, tenant: Tenant, text: str) -> httpx.Response:
    return client.post(
        BULK,
        params={"mode": "partial"},
        content=text.encode(),
        headers={**tenant.headers, **CSV_HEADERS},
    )


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


def test_a_quote_inside_an_unquoted_csv_cell_is_data(client: TestClient, tenant: Tenant) -> None:
    text = 'brand,serialNumber,deviceName\nlg,SN-1,Lobby 55" screen\nlg,SN-2,Hall\n'
    response = _partial_csv(client, tenant, text)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    names = [r["deviceName"] for r in client.get(RECIPES, headers=tenant.headers).json()]
    assert names == ['Lobby 55" screen', "Hall"]


def test_csv_rows_are_read_as_the_csv_module_reads_them(client: TestClient, tenant: Tenant) -> None:
    """An unterminated quote takes the rest of the file into its cell, as `csv` does: that row
    is refused (too long a name), the rows before it are stored."""
    text = 'brand,serialNumber,deviceName\nlg,SN-1,ok\nlg,SN-2,"open\n' + "lg,SN-x,y\n" * 40
    response = _partial_csv(client, tenant, text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failedCount"]) == (1, 1)
    assert [(f["row"], f["field"]) for f in body["failed"]] == [(2, "deviceName")]


def test_a_row_with_more_cells_than_the_header_is_refused_alone(
    client: TestClient, tenant: Tenant
) -> None:
    text = "brand,serialNumber\nlg,SN-1,extra\nlg,SN-2\n"
    response = _partial_csv(client, tenant, text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created"] == 1
    assert [(f["row"], f["message"]) for f in body["failed"]] == [(1, "more cells than the header")]


def test_many_bad_rows_are_counted_and_the_first_thousand_listed(
    client: TestClient, tenant: Tenant
) -> None:
    bad = 2500
    text = "brand,serialNumber\n" + "lg,SN-0\n" + "lg,\n" * bad + "lg,SN-last\n"
    for mode, status in (("atomic", 422), ("partial", 200)):
        response = client.post(
            BULK,
            params={"mode": mode},
            content=text.encode(),
            headers={**tenant.headers, **CSV_HEADERS},
        )
        assert response.status_code == status, response.text
        body = response.json()
        listed = body["failed"] if status == 200 else body["details"]
        assert [entry["row"] for entry in listed] == list(range(2, 1002))
        if status == 200:
            assert (body["created"], body["failedCount"]) == (2, bad)
        else:
            assert (
                body["message"]
                == f"{bad} bad row(s); nothing was stored; the first 1000 are listed"
            )


def test_the_first_thousand_refused_rows_are_listed_whichever_check_refused_them(
    client: TestClient, tenant: Tenant
) -> None:
    """Rows clashing with earlier rows are found batch by batch, after the rows that do not
    parse: the listed ones are still the first 1,000 by row number."""
    rows: list[dict[str, object]] = [{"brand": "lg", "serialNumber": "SN-dup"}]
    rows += [{"brand": "lg", "serialNumber": "SN-dup"} for _ in range(600)]
    rows += [{"brand": "lg"} for _ in range(900)]
    response = client.post(BULK, params={"mode": "partial"}, json=rows, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failedCount"]) == (1, 1500)
    assert [f["row"] for f in body["failed"]] == list(range(2, 1002))


def test_malformed_json_is_a_400_and_stores_nothing(client: TestClient, tenant: Tenant) -> None:
    for raw in (
        b'[{"brand": "lg", "serialNumber": "SN-1"}, {"brand": ',
        b'[{"brand": "lg", "serialNumber": "SN-1"}} ',
        b'[{"brand": "lg", "serialNumber": "SN-1"}] x',
        b"[NaN]",
        b"{",
        b"",
        b"\xff[]",
    ):
        response = client.post(
            BULK, content=raw, headers={**tenant.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (raw, response.text)
        assert set(response.json()) == {"errorCode", "errorName", "message", "details"}
    assert _count(client, tenant) == 0


def test_json_nested_too_deep_or_with_huge_numbers_is_a_400(
    client: TestClient, tenant: Tenant
) -> None:
    json_headers = {**tenant.headers, "Content-Type": "application/json"}
    for raw in (
        b"[" * 10_000 + b"]" * 10_000,
        b'[{"brand": ' + b"[" * 70 + b"]" * 70 + b"}]",
        b'[{"brand": "lg", "serialNumber": 1' + b"0" * 5000 + b"}]",
        b'[{"brand": "lg", "serialNumber": 1.' + b"5" * 200 + b"}]",
    ):
        response = client.post(BULK, content=raw, headers=json_headers)
        assert response.status_code == 400, (raw[:40], response.text)
    nested = b'[{"brand": ' + b"[" * 60 + b"]" * 60 + b"}]"
    within_limits = client.post(BULK, content=nested, headers=json_headers)
    assert within_limits.status_code == 422, within_limits.text
    assert within_limits.json()["details"][0]["field"] == "brand"


def test_a_large_json_array_is_read_element_by_element(client: TestClient, tenant: Tenant) -> None:
    """Elements straddle the reader's chunks, and one element is longer than a chunk."""
    rows = [{"brand": "lg", "serialNumber": f"SN-{n:05d}", "model": "M" * 200} for n in range(800)]
    rows.append({"brand": "lg", "serialNumber": "SN-long", "deviceName": "x" * 200_000})
    response = client.post(BULK, params={"mode": "partial"}, json=rows, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failedCount"]) == (800, 1)
    assert body["failed"][0]["row"] == 801


def test_references_first_met_in_a_later_batch_refuse_only_their_own_rows(
    client: TestClient, tenant: Tenant
) -> None:
    """Rows are stored batch by batch: a tag first named in the third batch is looked up then,
    and an unknown one refuses only its own row."""
    tag = entry(client, tenant, TAGS)
    unknown = "f" * 32
    rows: list[dict[str, object]] = [
        {"brand": "lg", "serialNumber": f"SN-{n}"} for n in range(1100)
    ]
    rows[1050]["tagUids"] = [tag]
    rows[1060]["tagUids"] = [unknown]
    rows[1070]["tagUids"] = [tag]
    response = client.post(BULK, params={"mode": "partial"}, json=rows, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failedCount"]) == (1099, 1)
    assert [(f["row"], f["field"]) for f in body["failed"]] == [(1061, "tagUids")]
    assert len(feed(client, tenant, 1099)) == 1099
