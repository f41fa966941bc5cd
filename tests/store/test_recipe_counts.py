"""The per-status recipe counters agree with a real COUNT(*) after every kind of change, on
both engines: creates, bulk imports (atomic and partial), registrations that apply, fail or
invalidate recipes, retries, edits, deletes, refused and rolled-back changes, and many
writers of one organization at once."""

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import text

from provisio.domain.brands import BrandRules
from provisio.domain.device import DeviceReport
from provisio.domain.errors import Conflict, InvalidInput
from provisio.domain.registry import RegistryKind, TagSpec
from provisio.domain.status import RecipeStatus
from provisio.service import registries, tenancy
from provisio.service.bulk_import import BulkRow, bulk_create
from provisio.service.devices import register_device
from provisio.service.recipes import create_recipe, delete_recipe, retry_recipe, update_recipe
from provisio.store.unit_of_work import Store

RULES = BrandRules()


async def _principal(store: Store, org: str = "Lobby") -> tenancy.Principal:
    made = await tenancy.bootstrap(store, "Acme", org)
    return await tenancy.authenticate(store, made.token.header)


def _org(principal: tenancy.Principal) -> str:
    assert principal.organization_uid is not None
    return principal.organization_uid


async def _counters(store: Store, organization_uid: str) -> dict[RecipeStatus, int]:
    async with store.reader() as uow:
        return await uow.recipe_counts.of(organization_uid)


async def _counted(store: Store, organization_uid: str) -> dict[RecipeStatus, int]:
    """What the counters say, checked against counting the recipes themselves."""
    async with store.reader() as uow:
        rows = await uow.conn.execute(
            text(
                "SELECT status, COUNT(*) FROM recipes WHERE organization_uid = :org GROUP BY status"
            ),
            {"org": organization_uid},
        )
        real = dict.fromkeys(RecipeStatus, 0) | {RecipeStatus(s): int(n) for s, n in rows}
    counters = await _counters(store, organization_uid)
    assert counters == real
    return counters


def _counts(**by_status: int) -> dict[RecipeStatus, int]:
    return dict.fromkeys(RecipeStatus, 0) | {RecipeStatus(s): n for s, n in by_status.items()}


async def _create(store: Store, principal: tenancy.Principal, serial: str, **more: Any) -> str:
    body = {"brand": "LG", "serialNumber": serial, **more}
    return (await create_recipe(store, principal, body, RULES)).uid


def _rows(bodies: Sequence[dict[str, Any]]) -> list[BulkRow]:
    return [BulkRow(n + 1, body) for n, body in enumerate(bodies)]


async def test_creates_and_deletes_are_counted(store: Store) -> None:
    principal = await _principal(store)
    org = _org(principal)
    assert await _counted(store, org) == _counts()
    uids = [await _create(store, principal, f"SN-{n}") for n in range(3)]
    assert await _counted(store, org) == _counts(Pending=3)
    await delete_recipe(store, principal, uids[0])
    assert await _counted(store, org) == _counts(Pending=2)


async def test_refused_changes_count_nothing(store: Store) -> None:
    principal = await _principal(store)
    org = _org(principal)
    await _create(store, principal, "SN-1")
    with pytest.raises(Conflict):  # the same device twice
        await _create(store, principal, "sn-1")
    with pytest.raises(InvalidInput):
        await bulk_create(
            store,
            principal,
            _rows([{"brand": "LG", "serialNumber": "SN-2"}, {"brand": "LG"}]),
            RULES,
            atomic=True,
        )
    assert await _counted(store, org) == _counts(Pending=1)


async def test_a_bulk_import_is_counted_once_per_status(store: Store) -> None:
    principal = await _principal(store)
    org = _org(principal)
    bodies = [{"brand": "LG", "serialNumber": f"BULK-{n}"} for n in range(1200)]
    bodies[7] = {"brand": "LG"}  # refused: no serial number
    bodies[9] = {"brand": "LG", "serialNumber": "bulk-8"}  # refused: BULK-8's device
    result = await bulk_create(store, principal, _rows(bodies), RULES, atomic=False)
    assert result.created == 1198
    assert await _counted(store, org) == _counts(Pending=1198)
    async with store.reader() as uow:
        stored = await uow.conn.execute(
            text("SELECT COUNT(*) FROM recipe_counts WHERE organization_uid = :org"), {"org": org}
        )
        assert stored.scalar_one() == 1  # one row written for the whole import


async def test_registrations_retries_and_edits_move_recipes_between_statuses(
    store: Store,
) -> None:
    principal = await _principal(store)
    org = _org(principal)
    tag = await registries.create_entry(store, principal, TagSpec("gone soon"), None)
    await _create(store, principal, "APPLY")
    failing = await _create(store, principal, "FAIL", model="QM55")
    invalid = await _create(store, principal, "INVALID", tagUids=[tag.uid])
    await registries.delete_entry(store, principal, RegistryKind.TAG, tag.uid)
    assert await _counted(store, org) == _counts(Pending=3)

    for serial in ("APPLY", "FAIL", "INVALID"):
        await register_device(store, DeviceReport.of("LG", "UH5F", serial_number=serial))
    assert await _counted(store, org) == _counts(Applied=1, Failed=1, Invalid=1)

    await retry_recipe(store, principal, failing)
    await update_recipe(store, principal, invalid, {"tagUids": None}, RULES)  # fixed
    assert await _counted(store, org) == _counts(Applied=1, Pending=2)

    await update_recipe(store, principal, failing, {"deviceName": "Lobby"}, RULES)
    await update_recipe(store, principal, failing, {"deviceName": "Lobby"}, RULES)  # no-op
    assert await _counted(store, org) == _counts(Applied=1, Pending=2)

    (applied,) = await _uids(store, org, RecipeStatus.APPLIED)
    await delete_recipe(store, principal, applied)
    assert await _counted(store, org) == _counts(Pending=2)


async def _uids(store: Store, organization_uid: str, status: RecipeStatus) -> list[str]:
    async with store.reader() as uow:
        rows = await uow.conn.execute(
            text("SELECT uid FROM recipes WHERE organization_uid = :org AND status = :status"),
            {"org": organization_uid, "status": status.value},
        )
        return [row[0] for row in rows]


async def test_each_organization_has_its_own_counts(store: Store) -> None:
    lobby = await _principal(store, "Lobby")
    hall = await _principal(store, "Hall")
    await _create(store, lobby, "SN-1")
    await _create(store, hall, "SN-1")
    await _create(store, hall, "SN-2")
    assert await _counted(store, _org(lobby)) == _counts(Pending=1)
    assert await _counted(store, _org(hall)) == _counts(Pending=2)


async def test_many_writers_of_one_organization_keep_the_counts_exact(store: Store) -> None:
    """Registrations, creates, retries and deletes at once; on PostgreSQL the writers add to
    different stripes and wait for each other's rows only when they pick the same one."""
    principal = await _principal(store)
    org = _org(principal)
    devices = 24
    uids = [
        await _create(store, principal, f"DEV-{n}", **({"model": "QM55"} if n % 4 == 0 else {}))
        for n in range(devices)
    ]
    extra = [await _create(store, principal, f"EXTRA-{n}") for n in range(8)]

    async def register(n: int) -> None:
        await register_device(store, DeviceReport.of("LG", "UH5F", serial_number=f"DEV-{n}"))

    await asyncio.gather(
        *(register(n) for n in range(devices)),
        *(register(n) for n in range(0, devices, 3)),  # the same devices again
        *(_create(store, principal, f"NEW-{n}") for n in range(8)),
        *(delete_recipe(store, principal, uid) for uid in extra),
    )
    counts = await _counted(store, org)
    assert counts == _counts(Applied=18, Failed=6, Pending=8)

    failed = await _uids(store, org, RecipeStatus.FAILED)
    await asyncio.gather(
        *(retry_recipe(store, principal, uid) for uid in failed),
        *(delete_recipe(store, principal, uid) for uid in uids[1:4]),
    )
    assert await _counted(store, org) == _counts(Applied=15, Pending=14)
