"""Device verifications: pairing by code answers the verification resource, which only the
organization it paired into can read, for as long as the database lives."""

import re
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from provisio.service import tenancy
from provisio.store.unit_of_work import Store
from tests.api.helpers import DEVICES, registered
from tests.conftest import Tenant, make_tenant
from tests.support import fetch_rows

VERIFICATIONS = f"{DEVICES}/verification"
FIELDS = {"uid", "deviceUid", "hash", "createdAt", "verifiedAt"}
MILLISECONDS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _pair(client: TestClient, headers: dict[str, str], code: str, **body: Any) -> httpx.Response:
    return client.post(VERIFICATIONS, json={"verificationHash": code, **body}, headers=headers)


def _paired(client: TestClient, headers: dict[str, str], code: str, **body: Any) -> dict[str, Any]:
    response = _pair(client, headers, code, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _account(client: TestClient, tenant: Tenant) -> dict[str, str]:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    assert client.portal is not None
    token = client.portal.call(tenancy.issue_account_token, store, tenant.account_id, "ops")
    return {"X-Auth": token.header}


def _rows(database_url: str) -> list[tuple[Any, ...]]:
    sql = "SELECT uid, organization_uid, device_uid, hash FROM device_verifications ORDER BY uid"
    return fetch_rows(database_url, sql)


@pytest.fixture
def other(client: TestClient) -> Tenant:
    return make_tenant(client, "Globex", "Branch")


def test_the_location_names_the_verification_the_client_reads_next(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    """What signageOS's client does: POST the code, take the last segment of `Location`, GET
    it."""
    shown = registered(client, brand="samsung", serialNumber="SN-1")
    posted = _pair(client, tenant.headers, f" {shown['verificationHash'].lower()}\t")
    assert posted.status_code == 201, posted.text
    uid = posted.headers["Location"].split("/")[-1]
    assert posted.headers["Location"] == f"{VERIFICATIONS}/{uid}"
    read = client.get(f"{VERIFICATIONS}/{uid}", headers=tenant.headers)
    assert read.status_code == 200
    verification = read.json()
    assert verification == posted.json()
    assert set(verification) == FIELDS
    assert verification["uid"] == uid
    assert re.fullmatch("[0-9a-f]{32}", uid)
    assert verification["deviceUid"] == shown["deviceUid"]
    assert verification["hash"] == shown["verificationHash"]  # as the device shows it
    assert MILLISECONDS_Z.match(verification["createdAt"])
    assert verification["verifiedAt"] == verification["createdAt"]
    assert _rows(database_url) == [
        (uid, tenant.organization_uid, shown["deviceUid"], shown["verificationHash"])
    ]


def test_only_the_organization_paired_into_reads_it(
    client: TestClient, tenant: Tenant, other: Tenant
) -> None:
    code = registered(client, brand="samsung", serialNumber="SN-1")["verificationHash"]
    uid = _paired(client, tenant.headers, code)["uid"]
    path = f"{VERIFICATIONS}/{uid}"
    unknown = client.get(f"{VERIFICATIONS}/{'f' * 32}", headers=tenant.headers)
    assert unknown.status_code == 404

    # Another company, by its organization token or its account token.
    for headers in (other.headers, _account(client, other)):
        response = client.get(path, headers=headers)
        assert (response.status_code, response.json()) == (404, unknown.json())
    # Another organization of the same company.
    account = _account(client, tenant)
    sibling = client.post("/v1/organization", json={"name": "Annex"}, headers=account).json()
    issued = client.post(
        f"/v1/organization/{sibling['uid']}/security-token", json={"name": "t"}, headers=account
    ).json()
    sibling_token = {"X-Auth": f"{issued['id']}:{issued['securityToken']}"}
    assert client.get(path, headers=sibling_token).status_code == 404
    # The company's account token sees its organizations' verifications.
    assert client.get(path, headers=account).status_code == 200
    assert client.get(path, headers={"X-Auth": "nope:nope"}).status_code == 401
    assert client.get(f"{VERIFICATIONS}/NOT-A-UID", headers=tenant.headers).status_code == 404


def test_a_verification_stays_readable_after_the_device_leaves(
    client: TestClient, tenant: Tenant, other: Tenant
) -> None:
    shown = registered(client, brand="samsung", serialNumber="SN-1")
    first = _paired(client, tenant.headers, shown["verificationHash"])
    device = f"{DEVICES}/{shown['deviceUid']}"
    assert client.put(f"{device}/deprovision", headers=tenant.headers).status_code == 204
    assert client.get(device, headers=tenant.headers).status_code == 404

    new_code = registered(client, brand="samsung", serialNumber="SN-1")["verificationHash"]
    second = _paired(client, other.headers, new_code)

    assert second["uid"] != first["uid"]
    assert (second["deviceUid"], second["hash"]) == (shown["deviceUid"], new_code)
    first_path, second_path = (f"{VERIFICATIONS}/{v['uid']}" for v in (first, second))
    assert client.get(first_path, headers=tenant.headers).json() == first
    assert client.get(second_path, headers=other.headers).json() == second
    assert client.get(first_path, headers=other.headers).status_code == 404
    assert client.get(second_path, headers=tenant.headers).status_code == 404


def test_a_failed_pairing_stores_no_verification(
    client: TestClient, tenant: Tenant, other: Tenant, database_url: str
) -> None:
    code = registered(client, brand="samsung", serialNumber="SN-1")["verificationHash"]
    spare = registered(client, brand="samsung", serialNumber="SN-2")["verificationHash"]
    account = _account(client, tenant)
    failures = [
        (_pair(client, tenant.headers, "ZZZZ0000"), 404),  # no device shows it
        (_pair(client, account, spare), 422),  # an account token must name the organization
        (_pair(client, account, spare, organizationUid=other.organization_uid), 422),
        (_pair(client, tenant.headers, spare, extra=1), 422),
        (_pair(client, tenant.headers, ""), 422),
    ]
    assert [response.status_code for response, _ in failures] == [s for _, s in failures]
    assert _rows(database_url) == []

    uid = _paired(client, tenant.headers, code)["uid"]
    assert _pair(client, tenant.headers, code).status_code == 409  # paired here already
    assert _pair(client, other.headers, code).status_code == 404  # paired elsewhere
    assert [row[0] for row in _rows(database_url)] == [uid]
