"""`GET /v1/event-stream/events`: cursor, limit, type filter, Link and long-polling."""

import threading
import time

from fastapi.testclient import TestClient

from tests.api.helpers import FEED, create, event_types, feed, metric
from tests.conftest import Tenant


def test_the_feed_pages_with_after_and_link(client: TestClient, tenant: Tenant) -> None:
    for n in range(5):
        create(client, tenant, serialNumber=f"SN-{n}")
    everything = feed(client, tenant, 5)
    positions = [item["position"] for item in everything]
    assert positions == sorted(set(positions))
    page = client.get(FEED, params={"limit": 2}, headers=tenant.headers)
    assert [item["position"] for item in page.json()] == positions[:2]
    link = page.headers["Link"]
    assert link == (
        f'<http://testserver/v1/event-stream/events?limit=2&after={positions[1]}>; rel="next"'
    )
    rest = client.get(
        FEED, params={"after": positions[1], "limit": 10}, headers=tenant.headers
    ).json()
    assert [item["position"] for item in rest] == positions[2:]
    empty = client.get(FEED, params={"after": positions[-1]}, headers=tenant.headers)
    assert empty.json() == []
    assert f"after={positions[-1]}" in empty.headers["Link"]


def test_the_feed_filters_by_type(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    client.put(
        f"/v1/provisioning-recipe/{recipe['uid']}", json={"deviceName": "x"}, headers=tenant.headers
    )
    client.delete(f"/v1/provisioning-recipe/{recipe['uid']}", headers=tenant.headers)
    feed(client, tenant, 3)
    types = ["Device.ProvisioningRecipeDeleted", "Device.ProvisioningRecipeCreated"]
    filtered = client.get(FEED, params={"type": types}, headers=tenant.headers).json()
    assert event_types(filtered) == [
        "Device.ProvisioningRecipeCreated",
        "Device.ProvisioningRecipeDeleted",
    ]
    assert (
        client.get(FEED, params={"type": "Device.Nope"}, headers=tenant.headers).status_code == 422
    )


def test_wait_long_polls_until_an_event_is_committed(client: TestClient, tenant: Tenant) -> None:
    answer: dict[str, object] = {}

    def poll() -> None:
        started = time.monotonic()
        answer["items"] = client.get(FEED, params={"wait": 10}, headers=tenant.headers).json()
        answer["seconds"] = time.monotonic() - started

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive(), "wait returned before any event existed"
    create(client, tenant, serialNumber="SN-1")
    waiter.join(timeout=10)
    assert event_types(answer["items"]) == ["Device.ProvisioningRecipeCreated"]  # type: ignore[arg-type]
    assert answer["seconds"] < 9  # type: ignore[operator]


def test_wait_returns_empty_when_nothing_happens(client: TestClient, tenant: Tenant) -> None:
    response = client.get(FEED, params={"wait": 0.2}, headers=tenant.headers)
    assert response.status_code == 200
    assert response.json() == []


def test_bad_feed_parameters_are_422(client: TestClient, tenant: Tenant) -> None:
    for params in ({"after": -1}, {"limit": 0}, {"limit": 1001}, {"wait": 61}, {"after": "x"}):
        assert client.get(FEED, params=params, headers=tenant.headers).status_code == 422, params


def test_metrics_count_requests_by_route_and_positioned_events(
    client: TestClient, tenant: Tenant
) -> None:
    route = (
        'provisio_http_requests_total{method="POST",route="/v1/provisioning-recipe",status="201"}'
    )
    before = client.get("/metrics").text
    create(client, tenant, serialNumber="SN-1")
    feed(client, tenant, 1)
    after = client.get("/metrics").text
    assert metric(after, route) == metric(before, route) + 1
    positioned = "provisio_events_positioned_total "
    assert metric(after, positioned) >= metric(before, positioned) + 1
