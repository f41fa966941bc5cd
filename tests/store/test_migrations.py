"""The Alembic migrations build exactly the schema the code declares, on both engines."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from provisio.api.registry_models import LocationOut
from provisio.domain.registry import LocationSpec, PolicySpec, TagSpec
from provisio.store.migrate import alembic_config, migrate
from provisio.store.tables import metadata
from provisio.store.unit_of_work import Store
from tests.conftest import ENGINES, POSTGRES_URL
from tests.support import private_postgres_database


@pytest.mark.filterwarnings(
    # SQLite cannot reflect expression indexes (the candidate lookups'), so they are compared on
    # PostgreSQL only; the warnings say so and nothing else.
    "ignore:Skipped unsupported reflection of expression-based index",
    "ignore:autogenerate skipping metadata-specified expression-based index",
)
async def test_migrated_schema_matches_the_table_definitions(store: Store) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    await migrate(store.backend)  # a second run (serve migrates on every start) is a no-op
    async with store.backend.write() as conn:
        assert await conn.run_sync(differences) == []


@pytest.fixture(params=ENGINES)
def empty_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database no migration has run on yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/provisio.db"
        return
    assert POSTGRES_URL is not None
    with private_postgres_database(POSTGRES_URL, "provisio_migration") as url:
        yield url


async def _to(store: Store, revision: str, direction: str = "upgrade") -> None:
    def run(connection: Connection) -> None:
        getattr(command, direction)(alembic_config(connection), revision)

    async with store.backend.write() as conn:
        await conn.run_sync(run)


EARLIER = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


async def test_entries_made_before_0011_keep_working(empty_database: str) -> None:
    """They were last updated when they were created; a location has no place and no tags, a
    policy no items."""
    store = Store.open(empty_database)
    try:
        await _to(store, "0010")
        async with store.backend.write() as conn:
            for statement in (
                "INSERT INTO companies (uid, name, created_at) VALUES ('c', 'Acme', :at)",
                "INSERT INTO organizations (uid, company_uid, name, created_at)"
                " VALUES ('o', 'c', 'Lobby', :at)",
                *(
                    f"INSERT INTO {table} (uid, organization_uid, name, created_at)"
                    f" VALUES ('{table}', 'o', 'old', :at)"
                    for table in ("tags", "policies", "locations")
                ),
            ):
                await conn.execute(text(statement), {"at": EARLIER})
        await migrate(store.backend)
        async with store.reader() as uow:
            tag = await uow.registries.tags.get("tags", ["o"])
            policy = await uow.registries.policies.get("policies", ["o"])
            location = await uow.registries.locations.get("locations", ["o"])
        for entry in (tag, policy, location):
            assert (entry.created_at, entry.updated_at) == (EARLIER, EARLIER)
        assert tag.spec == TagSpec("old")
        assert policy.spec == PolicySpec("old")
        assert location.spec == LocationSpec("old")
        answered = LocationOut.of(location).model_dump(by_alias=True, mode="json")
        assert answered["feature"] == {"type": "Feature", "geometry": None, "properties": {}}
        await _to(store, "0010", "downgrade")  # and back: the downgrade undoes it all
        await migrate(store.backend)
    finally:
        await store.close()
