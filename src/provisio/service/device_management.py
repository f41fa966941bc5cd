"""Managing a paired device after provisioning: its name, location, tags and policies.

Each change is one unit of work over the device, locked while it changes, so concurrent
changes and registrations of the device come one after another. A tag, policy or location must
be an entry of the device's own organization. None of these changes emits an event: the
event types are about recipes and pairing, and a device's configuration is not among them.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from provisio.domain.device import Device, PolicyAssignment
from provisio.domain.registry import Reference, RegistryKind
from provisio.service.registries import ReferenceCheck
from provisio.service.tenancy import Principal, scope
from provisio.store.unit_of_work import Store, UnitOfWork


@asynccontextmanager
async def _changing(
    store: Store, principal: Principal, uid: str
) -> AsyncIterator[tuple[UnitOfWork, Device]]:
    """The device, locked, in a unit of work that stores it when the block ends without an
    error (on an error nothing is stored)."""
    async with store.unit_of_work() as uow:
        device = await uow.devices.get(uid, await scope(uow, principal, None), for_update=True)
        yield uow, device
        await uow.devices.save(device)


async def _require_entry(uow: UnitOfWork, device: Device, kind: RegistryKind, uid: str) -> None:
    """A tag or location named in the path: one the device's organization lacks is 404."""
    assert device.organization_uid is not None
    await uow.registries[kind].get(uid, [device.organization_uid])


async def rename_device(store: Store, principal: Principal, uid: str, name: str) -> Device:
    async with _changing(store, principal, uid) as (_, device):
        device.rename(name, datetime.now(UTC))
    return device


async def assign_location(
    store: Store, principal: Principal, uid: str, location_uid: str
) -> Device:
    async with _changing(store, principal, uid) as (uow, device):
        await _require_entry(uow, device, RegistryKind.LOCATION, location_uid)
        device.assign_location(location_uid, datetime.now(UTC))
    return device


async def unassign_location(
    store: Store, principal: Principal, uid: str, location_uid: str | None
) -> None:
    """Remove the device's location (only if it is `location_uid`, when given)."""
    async with _changing(store, principal, uid) as (_, device):
        device.unassign_location(location_uid, datetime.now(UTC))


async def add_tag(store: Store, principal: Principal, uid: str, tag_uid: str) -> Device:
    async with _changing(store, principal, uid) as (uow, device):
        await _require_entry(uow, device, RegistryKind.TAG, tag_uid)
        device.add_tag(tag_uid, datetime.now(UTC))
    return device


async def remove_tag(store: Store, principal: Principal, uid: str, tag_uid: str) -> None:
    async with _changing(store, principal, uid) as (_, device):
        device.remove_tag(tag_uid, datetime.now(UTC))


async def assign_policy(
    store: Store, principal: Principal, uid: str, policy_uid: str, priority: int
) -> tuple[PolicyAssignment, bool]:
    """Assign the policy (named in the body: an unknown one is 422), or change the priority of
    an assigned one. The assignment, and whether it is new."""
    async with _changing(store, principal, uid) as (uow, device):
        assert device.organization_uid is not None
        await ReferenceCheck(uow).require(
            device.organization_uid, [Reference("uid", RegistryKind.POLICY, policy_uid)]
        )
        new = device.assign_policy(policy_uid, priority, datetime.now(UTC))
    return device.policy(policy_uid), new


async def unassign_policy(store: Store, principal: Principal, uid: str, policy_uid: str) -> None:
    async with _changing(store, principal, uid) as (_, device):
        device.unassign_policy(policy_uid, datetime.now(UTC))
