"""`/v1/event-stream/exporter`: CRUD, the write-only secret, event types and the URL rules."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from tests.conftest import Tenant, make_tenant, settings_for

EXPORTERS = "/v1/event-stream/exporter"
RECIPES = "/v1/provisioning-recipe"
SECRET = "s" * 16 + "-exporter-secret-0123"
PUBLIC_URL = "https://93.184.216.34/hooks/provisio?source=x"
CONFIG = {
    "configType": "webhook",
    "url": PUBLIC_URL,
    "auth": {"authType": "httpSignedBody", "signing": {"algorithm": "HS256", "secret": SECRET}},
}


def _body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "CMS",
        "subscribedEventTypes": ["Device.ProvisioningRecipeUpdated"],
        "config": CONFIG,
    }
    return {**body, **overrides}


def _create(client: TestClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = client.post(EXPORTERS, json=_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert SECRET not in response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_defaults_to_disabled_and_never_shows_the_secret(
    client: TestClient, tenant: Tenant
) -> None:
    exporter = _create(client, tenant, description="our CMS")
    assert exporter["enabled"] is False
    assert exporter["config"] == {
        "configType": "webhook",
        "url": PUBLIC_URL,
        "auth": {"authType": "httpSignedBody", "signing": {"algorithm": "HS256"}},
    }
    assert exporter["organizationUid"] == tenant.organization_uid
    for response in (
        client.get(f"{EXPORTERS}/{exporter['uid']}", headers=tenant.headers),
        client.get(EXPORTERS, headers=tenant.headers),
        client.put(
            f"{EXPORTERS}/{exporter['uid']}", json={"enabled": True}, headers=tenant.headers
        ),
    ):
        assert response.status_code == 200
        assert SECRET not in response.text
    assert client.get(f"{EXPORTERS}/count", headers=tenant.headers).json() == {"count": 1}


def test_put_is_partial_and_keeps_the_secret_unless_sent(
    client: TestClient, tenant: Tenant
) -> None:
    exporter = _create(client, tenant, description="x")
    url = f"{EXPORTERS}/{exporter['uid']}"
    changed = client.put(
        url,
        json={"name": "New", "description": None, "config": {"url": "https://93.184.216.35/h"}},
        headers=tenant.headers,
    ).json()
    assert (changed["name"], changed["config"]["url"]) == ("New", "https://93.184.216.35/h")
    assert "description" not in changed
    assert changed["subscribedEventTypes"] == exporter["subscribedEventTypes"]
    store = client.app.state.store  # type: ignore[attr-defined]

    async def secret() -> str:
        async with store.reader() as uow:
            loaded = await uow.exporters.get(exporter["uid"], [tenant.organization_uid])
            return str(loaded.spec.secret)

    assert client.portal is not None
    assert client.portal.call(secret) == SECRET
    new_secret = "n" * 40
    body = {"config": {"auth": {"signing": {"secret": new_secret}}}}
    assert client.put(url, json=body, headers=tenant.headers).status_code == 200
    assert client.portal.call(secret) == new_secret


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subscribedEventTypes": ["Device.Nope"]}, "subscribedEventTypes.0"),
        ({"subscribedEventTypes": []}, "subscribedEventTypes"),
        ({"name": ""}, "name"),
        ({"enabled": None}, "enabled"),
        ({"config": {**CONFIG, "url": "http://93.184.216.34/"}}, "config.url"),
        ({"config": {**CONFIG, "url": "https://127.0.0.1/"}}, "config.url"),
        ({"config": {**CONFIG, "url": "https://169.254.169.254/latest"}}, "config.url"),
        ({"config": {**CONFIG, "url": "https://[::1]/"}}, "config.url"),
        ({"config": {**CONFIG, "url": "https://10.0.0.8/"}}, "config.url"),
    ],
)
def test_bad_exporters_are_422_and_store_nothing(
    client: TestClient, tenant: Tenant, overrides: dict[str, Any], field: str
) -> None:
    response = client.post(EXPORTERS, json=_body(**overrides), headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["details"]]
    assert client.get(f"{EXPORTERS}/count", headers=tenant.headers).json() == {"count": 0}


def test_a_short_secret_is_refused_without_echoing_it(client: TestClient, tenant: Tenant) -> None:
    short = "tiny-secret-XYZ"
    config = {
        **CONFIG,
        "auth": {"authType": "httpSignedBody", "signing": {"algorithm": "HS256", "secret": short}},
    }
    response = client.post(EXPORTERS, json=_body(config=config), headers=tenant.headers)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["details"]] == ["config.auth.signing.secret"]
    assert short not in response.text


def test_put_rejects_nulls_and_unsafe_urls_and_changes_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    exporter = _create(client, tenant)
    url = f"{EXPORTERS}/{exporter['uid']}"
    for body in ({"name": None}, {"config": {"url": "https://192.168.0.1/"}}, {"config": None}):
        assert client.put(url, json=body, headers=tenant.headers).status_code == 422, body
    assert client.get(url, headers=tenant.headers).json() == exporter


def test_another_tenant_gets_404(client: TestClient, tenant: Tenant) -> None:
    exporter = _create(client, tenant)
    other = make_tenant(client, "Other", "Else")
    url = f"{EXPORTERS}/{exporter['uid']}"
    assert client.get(url, headers=other.headers).status_code == 404
    assert client.put(url, json={"enabled": True}, headers=other.headers).status_code == 404
    assert client.delete(url, headers=other.headers).status_code == 404
    assert client.get(EXPORTERS, headers=other.headers).json() == []
    assert client.delete(url, headers=tenant.headers).status_code == 204
    assert client.get(url, headers=tenant.headers).status_code == 404


@pytest.fixture
def dev_client(database_url: str) -> Iterator[TestClient]:
    settings = settings_for(
        database_url, webhook_allow_http=True, webhook_allowed_networks="127.0.0.0/8"
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_development_settings_allow_http_to_loopback(dev_client: TestClient) -> None:
    tenant = make_tenant(dev_client)
    config = {**CONFIG, "url": "http://127.0.0.1:9000/hook"}
    assert (
        dev_client.post(EXPORTERS, json=_body(config=config), headers=tenant.headers).status_code
        == 201
    )
    config["url"] = "http://10.0.0.1/hook"
    assert (
        dev_client.post(EXPORTERS, json=_body(config=config), headers=tenant.headers).status_code
        == 422
    )


@pytest.fixture
def refusing_client(database_url: str) -> Iterator[TestClient]:
    """Deliveries go to a closed loopback port, so every attempt fails fast; one attempt each."""
    settings = settings_for(
        database_url,
        webhook_allow_http=True,
        webhook_allowed_networks="127.0.0.0/8",
        retry_schedule="0",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _until(client: TestClient, url: str, tenant: Tenant, done: Any) -> Any:
    for _ in range(200):
        body = client.get(url, headers=tenant.headers).json()
        if done(body):
            return body
        time.sleep(0.025)
    return body


def test_failed_deliveries_show_in_observability_and_can_be_replayed(
    refusing_client: TestClient,
) -> None:
    client = refusing_client
    tenant = make_tenant(client)
    config = {**CONFIG, "url": "http://127.0.0.1:9/closed"}
    exporter = _create(
        client,
        tenant,
        config=config,
        enabled=True,
        subscribedEventTypes=["Device.ProvisioningRecipeCreated"],
    )
    url = f"{EXPORTERS}/{exporter['uid']}"
    assert exporter["observability"] == {
        "delivered": 0,
        "retries": 0,
        "errors": 0,
        "recentFailures": [],
    }
    recipe = client.post(RECIPES, json={"brand": "lg", "serialNumber": "1"}, headers=tenant.headers)
    assert recipe.status_code == 201
    seen = _until(client, url, tenant, lambda body: body["observability"]["errors"] == 1)[
        "observability"
    ]
    (failure,) = seen["recentFailures"]
    assert failure["eventType"] == "Device.ProvisioningRecipeCreated"
    assert failure["attempts"] == 1
    assert "Connect" in failure["lastError"] or "refused" in failure["lastError"].lower()

    (delivery,) = client.get(
        f"{url}/deliveries", params={"status": "failed"}, headers=tenant.headers
    ).json()
    assert delivery["eventId"] == failure["eventId"]
    assert delivery["sequenceNumber"] == 1
    (attempt,) = delivery["attempts"]
    assert "httpStatus" not in attempt
    assert attempt["durationMs"] >= 0
    assert (
        client.get(
            f"{url}/deliveries", params={"status": "delivered"}, headers=tenant.headers
        ).json()
        == []
    )

    replayed = client.post(f"{url}/replay", json={"status": "failed"}, headers=tenant.headers)
    assert replayed.status_code == 202
    assert replayed.json() == {"queued": 1}
    both = _until(
        client,
        f"{url}/deliveries",
        tenant,
        lambda body: all(d["status"] == "failed" for d in body) and len(body) == 2,
    )
    assert [d["eventId"] for d in both] == [failure["eventId"]] * 2
    assert [d["sequenceNumber"] for d in both] == [1, 2]
    by_id = client.post(
        f"{url}/replay", json={"eventIds": [failure["eventId"]]}, headers=tenant.headers
    )
    assert by_id.json() == {"queued": 1}
    since = client.post(
        f"{url}/replay", json={"since": "2000-01-01T00:00:00Z"}, headers=tenant.headers
    )
    assert since.json() == {"queued": 1}


def test_replay_refuses_unknown_ids_and_ambiguous_bodies(
    client: TestClient, tenant: Tenant
) -> None:
    exporter = _create(client, tenant)
    url = f"{EXPORTERS}/{exporter['uid']}/replay"
    unknown = client.post(
        url, json={"eventIds": ["0197f2a4-3a5e-7b1c-9d2f-8c4e6a1b3d5f"]}, headers=tenant.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["details"][0]["field"] == "eventIds"
    for body in (
        {},
        {"status": "failed", "since": "2020-01-01T00:00:00Z"},
        {"status": "delivered"},
    ):
        assert client.post(url, json=body, headers=tenant.headers).status_code == 422, body
    other = make_tenant(client, "Other", "Else")
    assert client.post(url, json={"status": "failed"}, headers=other.headers).status_code == 404
    assert (
        client.get(f"{EXPORTERS}/{exporter['uid']}/deliveries", headers=other.headers).status_code
        == 404
    )
