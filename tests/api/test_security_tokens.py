"""Organization tokens listed without secrets and revoked at once, within their tenant only."""

import re

from fastapi.testclient import TestClient

from provisio.service import tenancy
from provisio.store.unit_of_work import Store
from tests.api.helpers import RECIPES, outbox
from tests.conftest import Tenant, make_tenant

ORGS = "/v1/organization"
MILLISECONDS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _account(client: TestClient, tenant: Tenant) -> dict[str, str]:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    assert client.portal is not None
    token = client.portal.call(tenancy.issue_account_token, store, tenant.account_id, "ops")
    return {"X-Auth": token.header}


def _tokens(tenant: Tenant) -> str:
    return f"{ORGS}/{tenant.organization_uid}/security-token"


def _issue(
    client: TestClient, tenant: Tenant, account: dict[str, str], name: str
) -> dict[str, str]:
    """A new organization token, as `X-Auth` headers; its id under `id`."""
    response = client.post(_tokens(tenant), json={"name": name}, headers=account)
    assert response.status_code == 201, response.text
    issued = response.json()
    return {"X-Auth": f"{issued['id']}:{issued['securityToken']}", "id": issued["id"]}


def _works(client: TestClient, headers: dict[str, str]) -> bool:
    status = client.get(RECIPES, headers={"X-Auth": headers["X-Auth"]}).status_code
    assert status in (200, 401)
    return status == 200


def test_tokens_are_listed_oldest_first_without_secrets(client: TestClient, tenant: Tenant) -> None:
    account = _account(client, tenant)
    screens = _issue(client, tenant, account, "screens")
    response = client.get(_tokens(tenant), headers=account)
    assert response.status_code == 200
    listed = response.json()
    bootstrap_id = tenant.token.split(":")[0]
    assert [(t["id"], t["name"]) for t in listed] == [
        (bootstrap_id, "Lobby token"),
        (screens["id"], "screens"),
    ]
    assert all(set(t) == {"id", "name", "organizationUid", "createdAt"} for t in listed)
    assert {t["organizationUid"] for t in listed} == {tenant.organization_uid}
    assert all(MILLISECONDS_Z.match(t["createdAt"]) for t in listed)
    secrets = [tenant.token.split(":")[1], screens["X-Auth"].split(":")[1]]
    assert not any(secret in response.text for secret in secrets)
    assert client.get(_tokens(tenant), headers=tenant.headers).json() == listed


def test_a_revoked_token_is_refused_on_its_very_next_request(
    client: TestClient, tenant: Tenant
) -> None:
    account = _account(client, tenant)
    screens = _issue(client, tenant, account, "screens")
    assert _works(client, screens)  # authenticated once: its lookup is cached now
    response = client.delete(f"{_tokens(tenant)}/{screens['id']}", headers=account)
    assert response.status_code == 204
    assert not _works(client, screens)
    assert screens["id"] not in {
        t["id"] for t in client.get(_tokens(tenant), headers=account).json()
    }
    assert _works(client, tenant.headers)
    again = client.delete(f"{_tokens(tenant)}/{screens['id']}", headers=account)
    assert again.status_code == 404


def test_revoking_emits_no_event(client: TestClient, tenant: Tenant, database_url: str) -> None:
    account = _account(client, tenant)
    screens = _issue(client, tenant, account, "screens")
    assert client.delete(f"{_tokens(tenant)}/{screens['id']}", headers=account).status_code == 204
    assert outbox(database_url, tenant.organization_uid) == []


def test_unknown_and_malformed_token_ids_are_404(client: TestClient, tenant: Tenant) -> None:
    account = _account(client, tenant)
    for token_id in ("f" * 32, "nope", "a%00b", "%C3%A9" * 20):
        response = client.delete(f"{_tokens(tenant)}/{token_id}", headers=account)
        assert response.status_code == 404, token_id
        assert set(response.json()) == {"errorCode", "errorName", "message", "details"}
    assert _works(client, tenant.headers)


def test_another_companys_organization_is_404_and_its_tokens_survive(
    client: TestClient, tenant: Tenant
) -> None:
    rival = make_tenant(client, "Rival", "HQ")
    rival_id = rival.token.split(":")[0]
    account = _account(client, tenant)
    assert client.get(_tokens(rival), headers=account).status_code == 404
    assert client.get(_tokens(rival), headers=tenant.headers).status_code == 404
    assert client.delete(f"{_tokens(rival)}/{rival_id}", headers=account).status_code == 404
    # Under our own organization's path, the rival's token is simply not one of ours.
    assert client.delete(f"{_tokens(tenant)}/{rival_id}", headers=account).status_code == 404
    # An organization token may revoke only itself, whatever the token named.
    assert client.delete(f"{_tokens(rival)}/{rival_id}", headers=tenant.headers).status_code == 403
    assert _works(client, rival.headers)


def test_a_token_of_one_organization_is_not_revoked_through_another(
    client: TestClient, tenant: Tenant
) -> None:
    account = _account(client, tenant)
    warehouse = client.post(ORGS, json={"name": "Warehouse"}, headers=account).json()
    path = f"{ORGS}/{warehouse['uid']}/security-token"
    lobby_id = tenant.token.split(":")[0]
    assert client.delete(f"{path}/{lobby_id}", headers=account).status_code == 404
    assert client.get(path, headers=account).json() == []
    assert _works(client, tenant.headers)


def test_an_organization_token_revokes_only_itself(client: TestClient, tenant: Tenant) -> None:
    account = _account(client, tenant)
    screens = _issue(client, tenant, account, "screens")
    response = client.delete(f"{_tokens(tenant)}/{screens['id']}", headers=tenant.headers)
    assert response.status_code == 403
    assert _works(client, screens)
    own = client.delete(f"{_tokens(tenant)}/{screens['id']}", headers={"X-Auth": screens["X-Auth"]})
    assert own.status_code == 204
    assert not _works(client, screens)
    assert _works(client, tenant.headers)
