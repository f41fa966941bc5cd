"""The shared store suite for devices, candidates and registries: SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest

from provisio.domain.brands import BrandRules
from provisio.domain.device import (
    Configuration,
    Device,
    DeviceReport,
    PolicyAssignment,
    new_verification_hash,
)
from provisio.domain.ids import new_uid
from provisio.domain.recipe import Recipe, build_spec
from provisio.domain.registry import Entry, Reference, RegistryKind, TagSpec
from provisio.domain.status import RecipeStatus
from provisio.service import tenancy
from provisio.store.devices import IdentityTaken
from provisio.store.unit_of_work import Store

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def _organization(store: Store) -> tenancy.Principal:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    return await tenancy.authenticate(store, made.token.header)


def _device(report: DeviceReport) -> Device:
    return Device(new_uid(), report, new_verification_hash(), NOW, NOW)


async def _store_device(store: Store, report: DeviceReport) -> Device:
    device = _device(report)
    async with store.unit_of_work() as uow:
        await uow.devices.add(device)
    return device


async def test_a_paired_device_round_trips_every_field(store: Store) -> None:
    principal = await _organization(store)
    org = principal.organization_uid
    assert org is not None
    report = DeviceReport.of(
        brand="Samsung",
        model="QM55",
        serial_number="SN-1",
        mac_addresses=["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"],
        firmware_version="1.2",
    )
    device = _device(report)
    policies = (PolicyAssignment(new_uid(), 1, NOW), PolicyAssignment(new_uid(), 5, NOW))
    device.configure(
        Configuration("Lobby", (new_uid(), new_uid()), policies, new_uid()), new_uid(), NOW
    )
    device.pair(principal.actor(org), NOW)
    async with store.unit_of_work() as uow:
        await uow.devices.add(device)
    async with store.reader() as uow:
        loaded = await uow.devices.get(device.uid, [org])
    assert loaded == device
    # Changed policies are stored as they now are; the others' are left alone.
    async with store.unit_of_work() as uow:
        loaded = await uow.devices.get(device.uid, [org], for_update=True)
        loaded.unassign_policy(policies[0].policy_uid, NOW)
        loaded.assign_policy(policies[1].policy_uid, 0, NOW)
        loaded.assign_policy(new_uid(), 0, NOW)
        await uow.devices.save(loaded)
    async with store.reader() as uow:
        assert await uow.devices.get(device.uid, [org]) == loaded
        assert [found for _, found in await uow.devices.find([org], 0, 10)] == [loaded]
    assert loaded.report.mac_addresses == ("AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02")


async def test_a_device_is_identified_by_brand_and_serial_or_any_mac(store: Store) -> None:
    await _organization(store)
    by_serial = await _store_device(store, DeviceReport.of(brand="lg", serial_number="SN-1"))
    by_mac = await _store_device(
        store, DeviceReport.of(brand="lg", mac_addresses=["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"])
    )
    await _store_device(
        store, DeviceReport.of(brand="lg", serial_number="SN-2", mac_addresses=["aabbccddee03"])
    )
    async with store.unit_of_work() as uow:
        found = await uow.devices.identify(DeviceReport.of(brand="LG", serial_number=" sn-1 "))
        assert found.device is not None
        assert found.device.uid == by_serial.uid
        found = await uow.devices.identify(
            DeviceReport.of(brand="lg", mac_addresses=["ff:ff:ff:ff:ff:ff", "aabbccddee02"])
        )
        assert found.device is not None
        assert found.device.uid == by_mac.uid
        assert found.held_elsewhere == frozenset()
        # The serial number wins over a MAC another device holds.
        found = await uow.devices.identify(
            DeviceReport.of(
                brand="lg", serial_number="SN-1", mac_addresses=["aabbccddee01", "aabbccddee09"]
            )
        )
        assert found.device is not None
        assert found.device.uid == by_serial.uid
        assert found.held_elsewhere == {"AA:BB:CC:DD:EE:01"}
        # A device known by another serial number is another device, whatever MAC it shares.
        found = await uow.devices.identify(
            DeviceReport.of(brand="lg", serial_number="SN-3", mac_addresses=["aabbccddee03"])
        )
        assert found.device is None
        assert found.held_elsewhere == {"AA:BB:CC:DD:EE:03"}
        found = await uow.devices.identify(DeviceReport.of(brand="sony", serial_number="SN-1"))
        assert found.device is None


@pytest.mark.parametrize(
    "second",
    [
        DeviceReport.of(brand="LG", serial_number="sn-1"),
        DeviceReport.of(brand="lg", serial_number="SN-2", mac_addresses=["aa:bb:cc:dd:ee:01"]),
    ],
)
async def test_one_identity_is_one_device(store: Store, second: DeviceReport) -> None:
    await _organization(store)
    await _store_device(
        store,
        DeviceReport.of(brand="lg", serial_number="SN-1", mac_addresses=["aa:bb:cc:dd:ee:01"]),
    )
    with pytest.raises(IdentityTaken):
        await _store_device(store, second)
    async with store.unit_of_work() as uow:
        found = await uow.devices.identify(DeviceReport.of(brand="lg", serial_number="SN-2"))
        assert found.device is None


async def test_candidates_are_live_recipes_of_the_brand_in_every_organization(
    store: Store,
) -> None:
    rules = BrandRules()
    mine = await _organization(store)
    theirs = await _organization(store)
    made: list[Recipe] = []
    async with store.unit_of_work() as uow:
        for principal, body, status in (
            (mine, {"brand": "acme", "serialNumber": "SN-1"}, RecipeStatus.PENDING),
            (theirs, {"brand": "ACME", "macAddress": "aabbccddee01"}, RecipeStatus.FAILED),
            (mine, {"brand": "acme", "serialNumber": "SN-2"}, RecipeStatus.PENDING),
            (mine, {"brand": "other", "serialNumber": "SN-1"}, RecipeStatus.PENDING),
            (theirs, {"brand": "acme", "serialNumber": "sn-1"}, RecipeStatus.INVALID),
        ):
            org = principal.organization_uid
            assert org is not None
            recipe = Recipe.create(
                new_uid(), org, build_spec(body, rules), NOW, principal.actor(org)
            )
            recipe.status = status
            made.append(recipe)
        await uow.recipes.add_many(made)
        found = await uow.recipes.candidates("acme", "sn-1", ["AA:BB:CC:DD:EE:01"])
    assert [recipe.uid for recipe in found] == [made[0].uid, made[1].uid]


async def test_missing_references_are_those_not_in_the_organization(store: Store) -> None:
    mine = await _organization(store)
    theirs = await _organization(store)
    assert mine.organization_uid is not None
    assert theirs.organization_uid is not None
    here = Entry(new_uid(), mine.organization_uid, TagSpec("here"), NOW, NOW)
    there = Entry(new_uid(), theirs.organization_uid, TagSpec("there"), NOW, NOW)
    async with store.unit_of_work() as uow:
        await uow.registries[RegistryKind.TAG].add(here)
        await uow.registries[RegistryKind.TAG].add(there)
        wanted = [
            Reference("tagUids", RegistryKind.TAG, here.uid),
            Reference("tagUids", RegistryKind.TAG, there.uid),
            Reference("policyUid", RegistryKind.POLICY, here.uid),
        ]
        missing = await uow.registries.missing(mine.organization_uid, wanted)
    assert missing == wanted[1:]
