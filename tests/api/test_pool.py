"""A request that finds no free pooled connection is told to come back (503, Retry-After) within
about a second, instead of waiting half a minute for a 500."""

import time
from contextlib import AsyncExitStack

from fastapi.testclient import TestClient
from sqlalchemy.exc import TimeoutError as PoolTimeout

from provisio.store.unit_of_work import Store
from tests.api.helpers import RECIPES
from tests.conftest import Tenant


async def _hold_every_connection(store: Store) -> AsyncExitStack:
    """Open read transactions (each holding a pooled connection) until the pool refuses one."""
    held = AsyncExitStack()
    while True:
        try:
            await held.enter_async_context(store.backend.read())
        except PoolTimeout:
            return held


def test_an_exhausted_pool_answers_503_with_retry_after(client: TestClient, tenant: Tenant) -> None:
    assert client.portal is not None
    store = client.app.state.store  # type: ignore[attr-defined]
    held = client.portal.call(_hold_every_connection, store)
    try:
        started = time.monotonic()
        response = client.get(RECIPES, headers=tenant.headers)
        waited = time.monotonic() - started
    finally:
        client.portal.call(held.aclose)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert list(response.json()) == ["errorCode", "errorName", "message", "details"]
    assert 1 <= waited < 10  # the pool's second, with room for a busy machine
    assert client.get(RECIPES, headers=tenant.headers).status_code == 200
