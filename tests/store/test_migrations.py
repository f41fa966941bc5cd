"""The Alembic migrations build exactly the schema the code declares, on both engines."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from provisio.store.migrate import migrate
from provisio.store.tables import metadata
from provisio.store.unit_of_work import Store


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
