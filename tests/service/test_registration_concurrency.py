"""Registrations racing each other, recipe edits and deletes, on both engines.

Whatever the interleaving, each recipe is applied at most once, every device has one record,
and the committed events tell one consistent story.
"""

import asyncio
import json
from typing import Any

from sqlalchemy import text

from provisio.domain.brands import BrandRules
from provisio.domain.device import DeviceReport
from provisio.domain.errors import Conflict, NotFound
from provisio.domain.provisioning import Outcome
from provisio.service import tenancy
from provisio.service.devices import Registration, pair_by_code, register_device
from provisio.service.recipes import create_recipe, delete_recipe, update_recipe
from provisio.store.unit_of_work import Store

RULES = BrandRules()
DEVICES = 5
AT_ONCE = 12
ROUNDS = 8

CREATED = "Device.ProvisioningRecipeCreated"
UPDATED = "Device.ProvisioningRecipeUpdated"
STATUS = "Device.ProvisioningRecipeStatusUpdated"
DELETED = "Device.ProvisioningRecipeDeleted"
PAIRED = "Device.Verification.DevicePaired"


async def _principal(store: Store) -> tenancy.Principal:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    return await tenancy.authenticate(store, made.token.header)


async def _rows(store: Store, sql: str, **params: str) -> list[Any]:
    async with store.reader() as uow:
        return list(await uow.conn.execute(text(sql), params))


async def _events_about(store: Store, subject_uid: str) -> list[tuple[str, str | None]]:
    """(type, status) of the events about one recipe or device, in commit order."""
    sql = "SELECT body FROM events WHERE subject_uid = :uid ORDER BY id"
    payloads = [
        json.loads(bytes(row[0]))["payload"] for row in await _rows(store, sql, uid=subject_uid)
    ]
    return [(payload["type"], payload.get("status")) for payload in payloads]


async def _count(store: Store, table: str) -> int:
    return int((await _rows(store, f"SELECT count(*) FROM {table}"))[0][0])


async def test_a_device_registering_many_times_at_once_is_applied_once(store: Store) -> None:
    principal = await _principal(store)
    recipes = [
        await create_recipe(
            store, principal, {"brand": "android", "macAddress": f"aa:bb:cc:dd:ee:0{n}"}, RULES
        )
        for n in range(DEVICES)
    ]
    reports = [
        DeviceReport.of(
            brand="android", mac_addresses=[f"aa:bb:cc:dd:ee:0{n}", f"aa:bb:cc:dd:ff:0{n}"]
        )
        for n in range(DEVICES)
    ]

    answers: list[Registration] = await asyncio.gather(
        *(register_device(store, reports[n % DEVICES]) for n in range(DEVICES * AT_ONCE))
    )

    assert await _count(store, "devices") == DEVICES
    assert await _count(store, "device_macs") == DEVICES * 2
    for n, recipe in enumerate(recipes):
        mine = [answer for i, answer in enumerate(answers) if i % DEVICES == n]
        assert len({answer.device.uid for answer in mine}) == 1
        device_uid = mine[0].device.uid
        assert all(answer.device.recipe_uid == recipe.uid for answer in mine)
        assert sum(answer.decision.applied is not None for answer in mine) == 1
        assert await _events_about(store, recipe.uid) == [
            (CREATED, "Pending"),
            (UPDATED, "Applied"),
            (STATUS, "Applied"),
        ]
        assert await _events_about(store, device_uid) == [(PAIRED, None)]


async def test_a_registration_racing_an_edit_leaves_one_consistent_story(store: Store) -> None:
    principal = await _principal(store)
    outcomes = set()
    for n in range(ROUNDS):
        body = {"brand": "lg", "serialNumber": f"SN-{n}", "deviceName": "Before"}
        recipe = await create_recipe(store, principal, body, RULES)
        edit = update_recipe(store, principal, recipe.uid, {"deviceName": "After"}, RULES)
        registration, edited = await asyncio.gather(
            register_device(store, DeviceReport.of(brand="lg", serial_number=f"sn-{n}")),
            edit,
            return_exceptions=True,
        )
        assert isinstance(registration, Registration)
        story = await _events_about(store, recipe.uid)
        if isinstance(edited, Conflict):  # the registration applied the recipe first
            outcomes.add("registration first")
            assert registration.device.configuration.name == "Before"
            assert story == [(CREATED, "Pending"), (UPDATED, "Applied"), (STATUS, "Applied")]
        else:
            assert not isinstance(edited, BaseException), edited
            outcomes.add("edit first")
            assert registration.device.configuration.name == "After"
            assert story == [
                (CREATED, "Pending"),
                (UPDATED, "Pending"),
                (UPDATED, "Applied"),
                (STATUS, "Applied"),
            ]
        assert registration.device.recipe_uid == recipe.uid
        assert await _events_about(store, registration.device.uid) == [(PAIRED, None)]
    assert outcomes  # which interleavings occur depends on the engine and the scheduler


async def test_a_registration_racing_a_delete_leaves_one_consistent_story(store: Store) -> None:
    principal = await _principal(store)
    for n in range(ROUNDS):
        recipe = await create_recipe(
            store, principal, {"brand": "lg", "serialNumber": f"SN-{n}"}, RULES
        )
        registration, deleted = await asyncio.gather(
            register_device(store, DeviceReport.of(brand="lg", serial_number=f"SN-{n}")),
            delete_recipe(store, principal, recipe.uid),
            return_exceptions=True,
        )
        assert isinstance(registration, Registration)
        assert deleted is None
        story = await _events_about(store, recipe.uid)
        device_story = await _events_about(store, registration.device.uid)
        if registration.decision.applied is None:  # deleted first: nothing to apply
            assert story == [(CREATED, "Pending"), (DELETED, "Pending")]
            assert not registration.device.paired
            assert device_story == []
        else:
            assert story == [
                (CREATED, "Pending"),
                (UPDATED, "Applied"),
                (STATUS, "Applied"),
                (DELETED, "Applied"),
            ]
            assert registration.device.organization_uid == recipe.organization_uid
            assert device_story == [(PAIRED, None)]


async def test_devices_claiming_the_same_macs_in_opposite_orders_do_not_deadlock(
    store: Store,
) -> None:
    """Two new devices (different serial numbers) report one set of MACs in opposite orders:
    whatever the interleaving, both register, and each MAC ends up with exactly one of them."""
    rounds = 40  # a deadlock needs an unlucky interleaving: give it many chances
    for n in range(rounds):
        macs = [f"02:{n:02x}:00:00:00:{m:02x}" for m in range(16)]
        first, second = await asyncio.gather(
            register_device(
                store, DeviceReport.of(brand="linux", serial_number=f"A-{n}", mac_addresses=macs)
            ),
            register_device(
                store,
                DeviceReport.of(brand="linux", serial_number=f"B-{n}", mac_addresses=macs[::-1]),
            ),
        )
        assert first.device.uid != second.device.uid
    assert await _count(store, "devices") == 2 * rounds
    assert await _count(store, "device_macs") == 16 * rounds


async def test_a_registration_racing_a_pairing_by_code_pairs_the_device_once(
    store: Store,
) -> None:
    """The recipe's organization and the one pairing by code compete for one device: it ends in
    exactly one of them, with one DevicePaired, and the loser is told why."""
    recipe_holder = await _principal(store)
    pairer = await _principal(store)
    pairings = 0
    for n in range(ROUNDS):
        report = DeviceReport.of(brand="lg", serial_number=f"SN-{n}")
        code = (await register_device(store, report)).device.verification_hash
        recipe = await create_recipe(
            store, recipe_holder, {"brand": "lg", "serialNumber": f"SN-{n}"}, RULES
        )
        registration, paired = await asyncio.gather(
            register_device(store, report),
            pair_by_code(store, pairer, code, None),
            return_exceptions=True,
        )
        assert isinstance(registration, Registration)
        device_story = await _events_about(store, registration.device.uid)
        assert device_story == [(PAIRED, None)]
        if isinstance(paired, NotFound):  # the recipe was applied first: paired elsewhere
            assert registration.decision.outcome is Outcome.APPLIED
        else:
            assert not isinstance(paired, BaseException), paired
            assert registration.decision.outcome is Outcome.OWNED_ELSEWHERE
            assert paired.organization_uid == pairer.organization_uid
            story = await _events_about(store, recipe.uid)
            assert story == [(CREATED, "Pending"), (UPDATED, "Pending")]
            pairings += 1
    # A pairing that lost the race left no record of itself.
    assert await _count(store, "device_verifications") == pairings


async def test_a_device_moving_organizations_moves_once_however_often_it_registers(
    store: Store,
) -> None:
    old_home = await _principal(store)
    new_home = await _principal(store)
    for n in range(ROUNDS):
        report = DeviceReport.of(brand="lg", serial_number=f"SN-{n}")
        await create_recipe(store, old_home, {"brand": "lg", "serialNumber": f"SN-{n}"}, RULES)
        device = (await register_device(store, report)).device
        body = {"brand": "lg", "serialNumber": f"SN-{n}", "confirmedOwnership": True}
        recipe = await create_recipe(store, new_home, body, RULES)

        answers = await asyncio.gather(*(register_device(store, report) for _ in range(AT_ONCE)))

        assert sum(a.decision.outcome is Outcome.APPLIED for a in answers) == 1
        assert {a.device.organization_uid for a in answers} == {new_home.organization_uid}
        assert await _events_about(store, device.uid) == [
            (PAIRED, None),
            ("Device.Verification.DeviceUnpaired", None),
            (PAIRED, None),
        ]
        assert await _events_about(store, recipe.uid) == [
            (CREATED, "Pending"),
            (UPDATED, "Applied"),
            (STATUS, "Applied"),
        ]


RACE_ROUNDS = 200
RACERS = 5


async def test_a_device_racing_itself_gets_one_record_in_every_round(store: Store) -> None:
    """Hundreds of rounds in which one new device registers several times at once, known by
    MACs only or by a serial number and MACs: each round leaves one device holding every MAC."""
    for n in range(RACE_ROUNDS):
        macs = [f"02:00:00:{n >> 8:02x}:{n & 0xFF:02x}:{m:02x}" for m in range(2)]
        serial = f"SN-{n}" if n % 2 else None
        report = DeviceReport.of(brand="android", serial_number=serial, mac_addresses=macs)

        answers = await asyncio.gather(*(register_device(store, report) for _ in range(RACERS)))

        assert len({answer.device.uid for answer in answers}) == 1, f"round {n}"
    assert await _count(store, "devices") == RACE_ROUNDS
    assert await _count(store, "device_macs") == 2 * RACE_ROUNDS
