"""Tenancy over HTTP: organization and account tokens, organizations and their tokens."""

from fastapi.testclient import TestClient

from tests.api.helpers import RECIPES, account_headers, create
from tests.conftest import Tenant

ORGS = "/v1/organization"


def test_an_organization_token_sees_only_its_organization(
    client: TestClient, tenant: Tenant
) -> None:
    orgs = client.get(ORGS, headers=tenant.headers).json()
    assert [(o["uid"], o["companyUid"]) for o in orgs] == [
        (tenant.organization_uid, tenant.company_uid)
    ]
    assert (
        client.get(f"{ORGS}/{tenant.organization_uid}", headers=tenant.headers).status_code == 200
    )


def test_organization_tokens_cannot_create_organizations_or_tokens(
    client: TestClient, tenant: Tenant
) -> None:
    assert client.post(ORGS, json={"name": "New"}, headers=tenant.headers).status_code == 403
    response = client.post(
        f"{ORGS}/{tenant.organization_uid}/security-token",
        json={"name": "t"},
        headers=tenant.headers,
    )
    assert response.status_code == 403
    assert len(client.get(ORGS, headers=tenant.headers).json()) == 1


def test_an_account_token_creates_organizations_and_their_tokens(
    client: TestClient, tenant: Tenant
) -> None:
    account = account_headers(client, tenant)
    response = client.post(ORGS, json={"name": "Warehouse"}, headers=account)
    assert response.status_code == 201
    org = response.json()
    assert response.headers["Location"] == f"{ORGS}/{org['uid']}"
    assert org["companyUid"] == tenant.company_uid
    assert {o["uid"] for o in client.get(ORGS, headers=account).json()} == {
        tenant.organization_uid,
        org["uid"],
    }

    response = client.post(
        f"{ORGS}/{org['uid']}/security-token", json={"name": "screens"}, headers=account
    )
    assert response.status_code == 201
    issued = response.json()
    assert set(issued) == {"id", "name", "securityToken"}
    scoped = {"X-Auth": f"{issued['id']}:{issued['securityToken']}"}
    recipe = client.post(RECIPES, json={"brand": "lg", "serialNumber": "1"}, headers=scoped).json()
    assert recipe["organizationUid"] == org["uid"]
    assert client.get(f"{RECIPES}/{recipe['uid']}", headers=tenant.headers).status_code == 404


def test_an_account_token_must_name_the_organization_to_create_in(
    client: TestClient, tenant: Tenant
) -> None:
    account = account_headers(client, tenant)
    response = client.post(RECIPES, json={"brand": "lg", "serialNumber": "1"}, headers=account)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "organizationUid"
    body = {"brand": "lg", "serialNumber": "1", "organizationUid": tenant.organization_uid}
    recipe = client.post(RECIPES, json=body, headers=account).json()
    assert client.get(f"{RECIPES}/{recipe['uid']}", headers=tenant.headers).status_code == 200
    assert [r["uid"] for r in client.get(RECIPES, headers=account).json()] == [recipe["uid"]]


def test_tokens_cannot_reach_another_company(client: TestClient, tenant: Tenant) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(client, "Rival", "HQ")
    account = account_headers(client, tenant)
    assert client.get(f"{ORGS}/{other.organization_uid}", headers=account).status_code == 404
    assert client.get(f"{ORGS}/{other.organization_uid}", headers=tenant.headers).status_code == 404
    response = client.post(
        f"{ORGS}/{other.organization_uid}/security-token", json={"name": "x"}, headers=account
    )
    assert response.status_code == 404
    body = {"brand": "lg", "serialNumber": "1", "organizationUid": other.organization_uid}
    assert client.post(RECIPES, json=body, headers=account).status_code == 422
    create(client, other, serialNumber="1")
    assert client.get(RECIPES, headers=account).json() == []
