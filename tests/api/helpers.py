"""Small request helpers for the API tests."""

import json
import time
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from provisio.service import tenancy
from provisio.store.unit_of_work import Store
from tests.conftest import DEVICE_KEY, Tenant
from tests.support import fetch_rows

RECIPES = "/v1/provisioning-recipe"
FEED = "/v1/event-stream/events"
DEVICES = "/v1/device"
TAGS = "/v1/organization-tag"
POLICIES = "/v1/policy"
LOCATIONS = "/v1/location"


def create(client: TestClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = client.post(RECIPES, json={"brand": "samsung", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


PLACE = {"coordinates": {"lat": 50.0755, "long": 14.4378}}
"""Where a test location is: every location has coordinates or an address."""


def entry(
    client: TestClient, tenant: Tenant, registry: str, name: str = "entry", **body: Any
) -> str:
    """Create a tag, policy or location (`registry` is its path; a location is at PLACE unless
    `body` says otherwise) and return its uid."""
    place = PLACE if registry == LOCATIONS and not {"coordinates", "address"} & set(body) else {}
    payload = {"name": name, **place, **body}
    response = client.post(registry, json=payload, headers=tenant.headers)
    assert response.status_code == 201, response.text
    uid: str = response.json()["uid"]
    return uid


def account_headers(client: TestClient, tenant: Tenant) -> dict[str, str]:
    """`X-Auth` of a new account token of the tenant's account (all its company's
    organizations)."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    assert client.portal is not None
    token = client.portal.call(tenancy.issue_account_token, store, tenant.account_id, "ops")
    return {"X-Auth": token.header}


def read(client: TestClient, tenant: Tenant, path: str) -> Any:
    """The body of a GET that must succeed."""
    response = client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def feed(client: TestClient, tenant: Tenant, count: int, **params: Any) -> list[dict[str, Any]]:
    """Read the whole feed once it holds at least `count` events (the relay runs async)."""
    deadline = time.monotonic() + 10
    items: list[dict[str, Any]] = []
    while True:
        after = items[-1]["position"] if items else 0
        response = client.get(
            FEED, params={"limit": 1000, "after": after, **params}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        page: list[dict[str, Any]] = response.json()
        items.extend(page)
        if len(items) >= count or time.monotonic() > deadline:
            return items
        if not page:
            time.sleep(0.02)


def event_types(items: list[dict[str, Any]]) -> list[str]:
    return [item["event"]["type"] for item in items]


def register(client: TestClient, key: str | None = DEVICE_KEY, **body: Any) -> httpx.Response:
    """A device agent's registration call."""
    headers = {} if key is None else {"X-Device-Key": key}
    return client.post(f"{DEVICES}/register", json=body, headers=headers)


def registered(client: TestClient, **body: Any) -> dict[str, Any]:
    response = register(client, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def outbox(database_url: str, organization_uid: str) -> list[dict[str, Any]]:
    """The organization's events as committed, in commit order (no wait for the relay)."""
    rows = fetch_rows(
        database_url,
        f"SELECT body FROM events WHERE organization_uid = '{organization_uid}' ORDER BY id",
    )
    return [json.loads(bytes(row[0])) for row in rows]


def metric(text: str, prefix: str) -> float:
    """The sum of the Prometheus samples in `text` whose line starts with `prefix`."""
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)
