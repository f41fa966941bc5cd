"""Tenancy over HTTP: organization and account tokens, organizations and their tokens."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import RECIPES, account_headers, create
from tests.conftest import Tenant, make_tenant
from tests.support import fetch_rows

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


ORGANIZATION_FIELDS = {"uid", "name", "title", "companyUid", "createdAt"}


def test_the_title_defaults_to_the_name(client: TestClient, tenant: Tenant) -> None:
    account = account_headers(client, tenant)
    plain = client.post(ORGS, json={"name": "Warehouse"}, headers=account)
    titled = client.post(ORGS, json={"name": "hq-2", "title": "Head office"}, headers=account)
    assert (plain.status_code, titled.status_code) == (201, 201)
    assert set(plain.json()) == ORGANIZATION_FIELDS  # never an OAuth client secret
    assert (plain.json()["name"], plain.json()["title"]) == ("Warehouse", "Warehouse")
    assert (titled.json()["name"], titled.json()["title"]) == ("hq-2", "Head office")
    read = client.get(titled.headers["Location"], headers=account).json()
    assert read == titled.json()
    # Organizations made before titles existed, and bootstrapped ones, are titled by their name.
    own = client.get(f"{ORGS}/{tenant.organization_uid}", headers=tenant.headers).json()
    assert own["title"] == own["name"] == "Lobby"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "New", "title": None}, "title"),
        ({"name": "New", "title": ""}, "title"),
        ({"name": "New", "title": "   "}, "title"),
        ({"name": "New", "title": 7}, "title"),
        ({"name": "New", "title": "x" * 256}, "title"),
        ({"title": "New"}, "name"),
        ({"name": "New", "oauthClientId": "x"}, "oauthClientId"),
    ],
)
def test_bad_organizations_are_422_and_store_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    account = account_headers(client, tenant)
    response = client.post(ORGS, json=body, headers=account)
    assert response.status_code == 422, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert [o["uid"] for o in client.get(ORGS, headers=account).json()] == [tenant.organization_uid]


def test_an_account_token_retitles_an_organization_without_an_event(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    account = account_headers(client, tenant)
    path = f"{ORGS}/{tenant.organization_uid}"
    before = fetch_rows(database_url, "SELECT count(*) FROM events")
    response = client.put(path, json={"title": "Front lobby"}, headers=account)
    assert response.status_code == 200, response.text
    assert response.json() == {
        **client.get(path, headers=account).json(),
        "title": "Front lobby",
        "name": "Lobby",
    }
    assert client.get(path, headers=tenant.headers).json()["title"] == "Front lobby"
    assert fetch_rows(database_url, "SELECT count(*) FROM events") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": 7}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "a\u0000b"}, "title"),
        ({"title": "Renamed", "name": "other"}, "name"),
    ],
)
def test_bad_retitles_are_422_and_change_nothing(
    client: TestClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    account = account_headers(client, tenant)
    path = f"{ORGS}/{tenant.organization_uid}"
    response = client.put(path, json=body, headers=account)
    assert response.status_code == 422, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert client.get(path, headers=account).json()["title"] == "Lobby"


def test_only_an_account_token_of_the_company_retitles(client: TestClient, tenant: Tenant) -> None:
    rival = make_tenant(client, "Rival", "HQ")
    account = account_headers(client, tenant)
    own, theirs = (f"{ORGS}/{t.organization_uid}" for t in (tenant, rival))
    body = {"title": "Mine now"}
    assert client.put(own, json=body, headers=tenant.headers).status_code == 403
    assert client.put(theirs, json=body, headers=account).status_code == 404
    assert client.put(f"{ORGS}/{'f' * 32}", json=body, headers=account).status_code == 404
    assert client.put(f"{ORGS}/nope", json=body, headers=account).status_code == 404
    assert client.get(own, headers=tenant.headers).json()["title"] == "Lobby"
    assert client.get(theirs, headers=rival.headers).json()["title"] == "HQ"


def test_organizations_list_in_pages(client: TestClient, tenant: Tenant) -> None:
    account = account_headers(client, tenant)
    made = [
        client.post(ORGS, json={"name": f"Site {n}"}, headers=account).json()["uid"]
        for n in range(4)
    ]
    make_tenant(client, "Rival", "HQ")  # another company's: never listed
    first = client.get(ORGS, params={"limit": 2}, headers=account)
    assert first.status_code == 200
    link = first.headers["Link"]
    assert link.endswith('; rel="next"')
    second = client.get(link.split(">")[0].lstrip("<"), headers=account)
    third = client.get(second.headers["Link"].split(">")[0].lstrip("<"), headers=account)
    assert "Link" not in third.headers
    listed = [o["uid"] for page in (first, second, third) for o in page.json()]
    assert listed == [tenant.organization_uid, *made]
    assert client.get(ORGS, params={"limit": 5}, headers=account).json() == [
        o for page in (first, second, third) for o in page.json()
    ]
    # An organization token sees its own organization only, however it pages.
    own = client.get(ORGS, params={"limit": 1}, headers=tenant.headers)
    assert [o["uid"] for o in own.json()] == [tenant.organization_uid]
    assert "Link" not in own.headers


def test_organizations_filtered_by_exact_name(client: TestClient, tenant: Tenant) -> None:
    account = account_headers(client, tenant)
    warehouses = [
        client.post(ORGS, json={"name": "Warehouse"}, headers=account).json()["uid"]
        for _ in range(2)
    ]
    client.post(ORGS, json={"name": "Warehouse 2"}, headers=account)
    rival = make_tenant(client, "Rival", "Warehouse")

    def named(name: str, headers: dict[str, str], **params: Any) -> list[str]:
        response = client.get(ORGS, params={"name": name, **params}, headers=headers)
        assert response.status_code == 200, response.text
        return [o["uid"] for o in response.json()]

    assert named("Warehouse", account) == warehouses
    first = client.get(ORGS, params={"name": "Warehouse", "limit": 1}, headers=account)
    rest = client.get(first.headers["Link"].split(">")[0].lstrip("<"), headers=account)
    assert [o["uid"] for o in first.json() + rest.json()] == warehouses
    assert named("warehouse", account) == []
    assert named("Warehouse", tenant.headers) == []
    assert named("Lobby", tenant.headers) == [tenant.organization_uid]
    assert named("Warehouse", rival.headers) == [rival.organization_uid]
    # What signageOS's client sends for a filter left undefined: no filter.
    assert len(named("", account)) == 4
    too_long = client.get(ORGS, params={"name": "x" * 256}, headers=account)
    assert too_long.status_code == 422
    assert [d["field"] for d in too_long.json()["details"]] == ["name"]


def test_unknown_list_parameters_are_ignored_and_bad_limits_refused(
    client: TestClient, tenant: Tenant
) -> None:
    """What the signageOS client may send besides `limit` and `name` (`uids`, `descending`,
    `createdUntil`) does not filter, and does not break the list."""
    account = account_headers(client, tenant)
    client.post(ORGS, json={"name": "Warehouse"}, headers=account)
    everything = client.get(ORGS, headers=account).json()
    params = {"descending": "true", "createdUntil": "2020-01-01T00:00:00.000Z", "uids": "x"}
    response = client.get(ORGS, params=params, headers=account)
    assert (response.status_code, response.json()) == (200, everything)
    for limit in (0, 1001, "x"):
        refused = client.get(ORGS, params={"limit": limit}, headers=account)
        assert refused.status_code == 422
        assert [d["field"] for d in refused.json()["details"]] == ["limit"]
