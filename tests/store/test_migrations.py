"""The Alembic migrations build exactly the schema the code declares, on both engines, and
carry existing data into it."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, select, text

from provisio.api.registry_models import LocationOut
from provisio.domain.device import PolicyAssignment
from provisio.domain.ids import new_uid
from provisio.domain.registry import LocationSpec, PolicySpec, TagSpec
from provisio.store.migrate import alembic_config, migrate
from provisio.store.tables import UTCDateTime, device_policies, metadata
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
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no migration has run on yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/provisio.db"
        return
    assert POSTGRES_URL is not None
    with private_postgres_database(POSTGRES_URL, "provisio_migration") as url:
        yield url


def _revision_before(doc: str) -> str:
    """The revision the migration titled `doc` comes after (whatever numbers they get)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    (mine,) = [script for script in scripts.walk_revisions() if script.doc == doc]
    assert isinstance(mine.down_revision, str)
    return mine.down_revision


async def _run(store: Store, step: Callable[[Config, str], None], revision: str) -> None:
    async with store.backend.write() as conn:
        await conn.run_sync(lambda connection: step(alembic_config(connection), revision))


PAIRED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
UPDATED = datetime(2026, 11, 20, 17, 5, 1, 123456, tzinfo=UTC)
OLD_DEVICE = text(
    "INSERT INTO devices (uid, brand, brand_key, serial_number, serial_key, verification_hash,"
    " organization_uid, tag_uids, policy_uid, paired_at, created_at, updated_at)"
    " VALUES (:uid, 'samsung', 'samsung', :serial, :serial, :code, :organization, '',"
    " :policy, :paired_at, :created_at, :updated_at)"
).bindparams(
    bindparam("paired_at", type_=UTCDateTime()),
    bindparam("created_at", type_=UTCDateTime()),
    bindparam("updated_at", type_=UTCDateTime()),
)
"""A device as stored before devices had several policies."""


async def test_a_devices_policy_becomes_its_first_assignment(empty_database_url: str) -> None:
    store = Store.open(empty_database_url)
    try:
        before = _revision_before("device policies")
        await _run(store, command.upgrade, before)
        company, organization, policy = new_uid(), new_uid(), new_uid()
        with_policy, unpaired_with_policy, without = new_uid(), new_uid(), new_uid()
        async with store.backend.write() as conn:
            await conn.execute(
                text(
                    "INSERT INTO companies (uid, name, created_at) VALUES (:uid, 'Acme', :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime())),
                {"uid": company, "at": PAIRED},
            )
            await conn.execute(
                text(
                    "INSERT INTO organizations (uid, company_uid, name, title, created_at)"
                    " VALUES (:uid, :company, 'Lobby', 'Lobby', :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime())),
                {"uid": organization, "company": company, "at": PAIRED},
            )
            for n, (uid, owner, assigned, paired_at) in enumerate(
                [
                    (with_policy, organization, policy, PAIRED),
                    (unpaired_with_policy, None, policy, None),
                    (without, organization, None, PAIRED),
                ]
            ):
                await conn.execute(
                    OLD_DEVICE,
                    {
                        "uid": uid,
                        "serial": f"SN-{n}",
                        "code": f"CODE000{n}",
                        "organization": owner,
                        "policy": assigned,
                        "paired_at": paired_at,
                        "created_at": PAIRED,
                        "updated_at": UPDATED,
                    },
                )
            await conn.execute(
                text(
                    "INSERT INTO device_macs (device_uid, brand_key, mac_address)"
                    " VALUES (:uid, 'samsung', 'AA:BB:CC:DD:EE:01')"
                ),
                {"uid": with_policy},
            )

        await migrate(store.backend)

        async with store.reader() as uow:
            device = await uow.devices.get(with_policy, [organization])
            assert device.configuration.policies == (PolicyAssignment(policy, 1, PAIRED),)
            assert device.report.mac_addresses == ("AA:BB:CC:DD:EE:01",)
            assert (await uow.devices.get(without, [organization])).configuration.policies == ()
            rows = await uow.conn.execute(
                select(device_policies.c.device_uid, device_policies.c.assigned_at).order_by(
                    device_policies.c.id
                )
            )
            assert [tuple(row) for row in rows] == [
                (with_policy, PAIRED),
                (unpaired_with_policy, UPDATED),  # never paired: when it was last changed
            ]

        await _run(store, command.downgrade, before)
        async with store.backend.write() as conn:
            kept = await conn.execute(text("SELECT uid, policy_uid FROM devices ORDER BY id"))
            assert [tuple(row) for row in kept] == [
                (with_policy, policy),
                (unpaired_with_policy, policy),
                (without, None),
            ]
    finally:
        await store.close()


EARLIER = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


async def test_entries_made_before_0011_keep_working(empty_database_url: str) -> None:
    """They were last updated when they were created; a location has no place and no tags, a
    policy no items."""
    store = Store.open(empty_database_url)
    try:
        await _run(store, command.upgrade, "0010")
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
        await _run(store, command.downgrade, "0010")  # and back: the downgrade undoes it all
        await migrate(store.backend)
    finally:
        await store.close()
