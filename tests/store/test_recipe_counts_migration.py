"""Migration 0015 counts the recipes that exist when it runs, on both engines; later writes
keep the counts from there."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, inspect, text

from provisio.domain.brands import BrandRules
from provisio.domain.ids import new_uid
from provisio.domain.status import RecipeStatus
from provisio.service import tenancy
from provisio.service.recipes import create_recipe
from provisio.store.migrate import alembic_config, migrate
from provisio.store.tables import UTCDateTime
from provisio.store.unit_of_work import Store
from tests.conftest import ENGINES, POSTGRES_URL
from tests.support import private_postgres_database

DOC = "recipe counts, and indexes for the console's recipe list"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
OLD_RECIPE = text(
    "INSERT INTO recipes (uid, organization_uid, status, brand, brand_key, serial_number,"
    " serial_key, tag_uids, confirmed_ownership, version, created_at, updated_at)"
    " VALUES (:uid, :organization, :status, 'LG', 'lg', :serial, :serial, '', false, 1,"
    " :at, :at)"
).bindparams(bindparam("at", type_=UTCDateTime()))


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/provisio.db"
        return
    assert POSTGRES_URL is not None
    with private_postgres_database(POSTGRES_URL, "provisio_migration") as url:
        yield url


def _before_counts() -> str:
    scripts = ScriptDirectory.from_config(alembic_config())
    (mine,) = [script for script in scripts.walk_revisions() if script.doc == DOC]
    assert isinstance(mine.down_revision, str)
    return mine.down_revision


async def test_existing_recipes_are_counted(empty_database_url: str) -> None:
    store = Store.open(empty_database_url)
    before = _before_counts()
    try:
        async with store.backend.write() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), before))
        made = await tenancy.bootstrap(store, "Acme", "Lobby")
        other = await tenancy.bootstrap(store, "Globex", "Hall")
        statuses = ["Pending"] * 3 + ["Applied"] * 2 + ["Failed"]
        async with store.backend.write() as conn:
            for n, status in enumerate(statuses):
                await conn.execute(
                    OLD_RECIPE,
                    {
                        "uid": new_uid(),
                        "organization": made.organization_uid,
                        "status": status,
                        "serial": f"sn-{n}",
                        "at": AT,
                    },
                )
            await conn.execute(
                OLD_RECIPE,
                {
                    "uid": new_uid(),
                    "organization": other.organization_uid,
                    "status": "Invalid",
                    "serial": "sn-0",
                    "at": AT,
                },
            )

        await migrate(store.backend)

        async with store.reader() as uow:
            lobby = await uow.recipe_counts.of(made.organization_uid)
            hall = await uow.recipe_counts.of(other.organization_uid)
        assert lobby == {
            RecipeStatus.PENDING: 3,
            RecipeStatus.APPLIED: 2,
            RecipeStatus.FAILED: 1,
            RecipeStatus.INVALID: 0,
        }
        assert hall == dict.fromkeys(RecipeStatus, 0) | {RecipeStatus.INVALID: 1}

        principal = await tenancy.authenticate(store, made.token.header)
        await create_recipe(store, principal, {"brand": "LG", "serialNumber": "new"}, BrandRules())
        async with store.reader() as uow:
            assert (await uow.recipe_counts.of(made.organization_uid))[RecipeStatus.PENDING] == 4

        async with store.backend.write() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), before))
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "recipe_counts" not in tables
    finally:
        await store.close()
