"""Fixtures: every database-backed test runs on SQLite and, when configured, on PostgreSQL.

With PROVISIO_TEST_POSTGRES_URL set the PostgreSQL variants run and fail (never skip) if the
server is unreachable. Every event a test leaves in its database is checked against the
committed JSON Schemas when the test ends.
"""

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from provisio.service import tenancy
from provisio.settings import Settings
from provisio.store.backend import open_backend
from provisio.store.migrate import migrate
from provisio.store.tables import metadata
from provisio.store.unit_of_work import Store
from tests.support import (
    assert_valid_event,
    pg_execute,
    private_postgres_database,
    run_coroutine,
    stored_event_bodies,
)

POSTGRES_URL = os.environ.get("PROVISIO_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A private database on the configured server, migrated once, dropped at the end."""
    assert POSTGRES_URL is not None
    with private_postgres_database(POSTGRES_URL, "provisio_test") as url:

        async def upgrade() -> None:
            backend = open_backend(url)
            await migrate(backend)
            await backend.dispose()

        run_coroutine(upgrade())
        yield url


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/provisio.db"
    else:
        url = request.getfixturevalue("postgres_database")
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        pg_execute(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield url
    for body in stored_event_bodies(url):
        assert_valid_event(body)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store.open(database_url)
    await migrate(store.backend)
    yield store
    await store.close()


@dataclass(frozen=True)
class Tenant:
    company_uid: str
    organization_uid: str
    account_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth": self.token}


DEVICE_KEY = "fleet-device-key-for-tests"


def settings_for(database_url: str, **overrides: object) -> Settings:
    """Test settings: many requests with one token, so no per-token rate limit."""
    values: dict[str, object] = {
        "relay_poll_interval": 0.05,
        "device_key": DEVICE_KEY,
        "rate_limit": None,
    }
    return Settings(database_url=database_url, **{**values, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(database_url))) as test_client:
        yield test_client


def make_tenant(client: TestClient, company: str = "Acme", org: str = "Lobby") -> Tenant:
    """Bootstrap a company through the running app's own store."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    assert client.portal is not None
    made = client.portal.call(tenancy.bootstrap, store, company, org)
    return Tenant(made.company_uid, made.organization_uid, made.account_id, made.token.header)


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return make_tenant(client)
