"""A request that finds no free pooled connection is told to come back (503, Retry-After) within
about a second, instead of waiting half a minute for a 500."""

import time

from fastapi.testclient import TestClient
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.api.helpers import RECIPES
from tests.conftest import Tenant


async def _hold_every_connection(engine: AsyncEngine) -> list[AsyncConnection]:
    """Check connections out until the pool refuses one."""
    held: list[AsyncConnection] = []
    while True:
        try:
            held.append(await engine.connect())
        except PoolTimeout:
            return held


async def _release(held: list[AsyncConnection]) -> None:
    for connection in held:
        await connection.close()


def test_an_exhausted_pool_answers_503_with_retry_after(client: TestClient, tenant: Tenant) -> None:
    assert client.portal is not None
    engine = client.app.state.store.backend.engine  # type: ignore[attr-defined]
    held = client.portal.call(_hold_every_connection, engine)
    try:
        started = time.monotonic()
        response = client.get(RECIPES, headers=tenant.headers)
        waited = time.monotonic() - started
    finally:
        client.portal.call(_release, held)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert list(response.json()) == ["errorCode", "errorName", "message", "details"]
    assert 1 <= waited < 10  # the pool's second, with room for a busy machine
    assert client.get(RECIPES, headers=tenant.headers).status_code == 200
