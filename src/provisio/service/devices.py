"""Device use cases: registration with automatic provisioning, pairing by code, deprovisioning.

Registration runs in one unit of work: the device, every recipe the attempt touched and the
events of both commit together, in the order they were caused.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from provisio.domain.aggregate import Actor
from provisio.domain.device import (
    Device,
    DeviceReport,
    new_verification_hash,
    normalise_verification_hash,
)
from provisio.domain.errors import Conflict, NotFound
from provisio.domain.ids import new_uid
from provisio.domain.provisioning import Decision, provision
from provisio.domain.recipe import Recipe
from provisio.domain.registry import references, vanished_message
from provisio.domain.verification import Verification
from provisio.service.tenancy import Principal, scope, system_actor, target_organization
from provisio.store.contention import Contended
from provisio.store.unit_of_work import Store, UnitOfWork

log = structlog.get_logger(__name__)

ATTEMPTS = 5
"""How often a use case runs again after a concurrent one stored the same identity first."""

T = TypeVar("T")


@dataclass(frozen=True)
class Registration:
    device: Device
    decision: Decision


async def _retrying(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` again when a concurrent transaction won a race (a unique key it stored first,
    a deadlock); the next run sees what the winner stored, so the same device registering twice
    at once gets one record. Out of attempts, the client gets a 409."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await work()
        except Contended:
            continue
    return await work()


async def register_device(store: Store, report: DeviceReport) -> Registration:
    """Find or create the device, then provision it from the recipe that matches it."""
    registration = await _retrying(lambda: _register(store, report))
    applied = registration.decision.applied
    log.info(
        "device registered",
        device_uid=registration.device.uid,
        outcome=registration.decision.outcome.value,
        recipe_uid=applied.uid if applied else None,
    )
    return registration


async def _register(store: Store, report: DeviceReport) -> Registration:
    now = datetime.now(UTC)
    async with store.unit_of_work() as uow:
        identification = await uow.devices.identify(report)
        known_device = identification.device
        free = [mac for mac in report.mac_addresses if mac not in identification.held_elsewhere]
        if known_device is None:
            device = Device.first_registration(
                new_uid(), report, free, new_verification_hash(), now
            )
        else:
            device = known_device
            device.registered(report, free, now)
        known = device.report
        candidates = await uow.recipes.candidates(
            known.brand_key, known.serial_key, known.mac_addresses
        )
        versions = {recipe.uid: recipe.version for recipe in candidates}
        decision = provision(
            device,
            candidates,
            vanished=await _vanished(uow, candidates),
            system=await _system_actors(uow, device, candidates),
            new_hash=new_verification_hash,
            now=now,
        )
        if known_device is None:
            await uow.devices.add(device)
        else:
            await uow.devices.save(device)
        for recipe in candidates:
            if recipe.version != versions[recipe.uid]:
                await uow.recipes.save(recipe)
        return Registration(device, decision)


async def _vanished(uow: UnitOfWork, candidates: list[Recipe]) -> dict[str, str]:
    """Candidate uid → which of its references no longer exist (only those with any)."""
    vanished: dict[str, str] = {}
    for recipe in candidates:
        missing = await uow.registries.missing(recipe.organization_uid, references(recipe.spec))
        message = vanished_message(missing)
        if message is not None:
            vanished[recipe.uid] = message
    return vanished


SYSTEM_ACTORS: dict[str, Actor] = {}
"""The system actor of each organization a registration has acted in, by uid. An
organization's company never changes and organizations are never deleted, so an entry never
goes stale: registrations with candidates ask the database only about organizations new to
this process."""


async def _system_actors(
    uow: UnitOfWork, device: Device, candidates: list[Recipe]
) -> Callable[[str], Actor]:
    """The system actor of each organization the decision may act in: the candidates' and,
    should the device move, its current one. Without candidates nothing is asked."""
    if candidates:
        wanted = {recipe.organization_uid for recipe in candidates}
        if device.organization_uid is not None:
            wanted.add(device.organization_uid)
        unknown = wanted - SYSTEM_ACTORS.keys()
        if unknown:
            for org in await uow.tenancy.organizations_by_uid(unknown):
                SYSTEM_ACTORS[org.uid] = system_actor(org)
    return SYSTEM_ACTORS.__getitem__


async def pair_by_code(
    store: Store, principal: Principal, code: str, organization_uid: str | None
) -> Verification:
    """Pair an unpaired device to an organization by the code it shows, and keep the record of
    it. A device paired elsewhere answers as a code no device shows: a stranger learns nothing
    from a code."""
    async with store.unit_of_work() as uow:
        organization = await target_organization(uow, principal, organization_uid)
        device = await uow.devices.by_verification_hash(normalise_verification_hash(code))
        if device is None or device.organization_uid not in (None, organization):
            raise NotFound("no device shows this verification code")
        if device.paired:
            raise Conflict("this device is already paired to this organization")
        device.pair(principal.actor(organization), datetime.now(UTC))
        await uow.devices.save(device)
        verification = Verification.of_pairing(new_uid(), device)
        await uow.verifications.add(verification)
        return verification


async def get_verification(store: Store, principal: Principal, uid: str) -> Verification:
    """A pairing by code, for the organization it paired into only (even once the device has
    left it)."""
    async with store.reader() as uow:
        return await uow.verifications.get(uid, await scope(uow, principal, None))


async def deprovision_device(store: Store, principal: Principal, uid: str) -> None:
    """Unpair the device; it shows a new code and is gone from the organization's list."""

    async def work() -> None:
        async with store.unit_of_work() as uow:
            organizations = await scope(uow, principal, None)
            device = await uow.devices.get(uid, organizations, for_update=True)
            assert device.organization_uid is not None
            actor = principal.actor(device.organization_uid)
            device.unpair(actor, new_verification_hash(), datetime.now(UTC))
            await uow.devices.save(device)

    await _retrying(work)


async def get_device(store: Store, principal: Principal, uid: str) -> Device:
    async with store.reader() as uow:
        return await uow.devices.get(uid, await scope(uow, principal, None))


async def list_devices(
    store: Store, principal: Principal, organization_uid: str | None, after: int, limit: int
) -> list[tuple[int, Device]]:
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
        return await uow.devices.find(organizations, after, limit)
