"""Tags, policies and locations: organization-scoped entries recipes refer to. Changing them
emits no events."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from provisio.domain.errors import NotFound
from provisio.domain.ids import new_uid
from provisio.domain.registry import (
    Changes,
    Entry,
    LocationSpec,
    PolicySpec,
    Reference,
    RegistryKind,
    Spec,
    TagSpec,
    archived,
    check_parent,
    refuse_unknown,
    with_tag,
    without_tag,
)
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.unit_of_work import Store, UnitOfWork

AnySpec = TagSpec | PolicySpec | LocationSpec


async def create_entry(
    store: Store, principal: Principal, spec: Spec, organization_uid: str | None
) -> Entry[Spec]:
    """A new tag, policy or location; what it refers to must be of the same organization."""
    async with store.unit_of_work() as uow:
        organization = await target_organization(uow, principal, organization_uid)
        spec = _trimmed(spec)
        await _check_references(uow, organization, None, None, spec)
        now = datetime.now(UTC)
        entry = Entry(new_uid(), organization, spec, now, now)
        await uow.registries[entry.kind].add(entry)
        return entry


async def list_entries(
    store: Store,
    principal: Principal,
    kind: RegistryKind,
    organization_uid: str | None,
    after: int,
    limit: int,
) -> list[tuple[int, Entry[Any]]]:
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
        return await uow.registries[kind].find(organizations, after, limit)


async def list_policies(
    store: Store,
    principal: Principal,
    organization_uid: str | None,
    after: int,
    limit: int,
    archived: bool,
) -> list[tuple[int, Entry[PolicySpec]]]:
    """The archived policies, or (as lists show by default) the others."""
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
        return await uow.registries.policies.find_by_archived(organizations, after, limit, archived)


async def get_entry(store: Store, principal: Principal, kind: RegistryKind, uid: str) -> Entry[Any]:
    async with store.reader() as uow:
        return await uow.registries[kind].get(uid, await scope(uow, principal, None))


async def update_entry(
    store: Store, principal: Principal, kind: RegistryKind, uid: str, changes: Changes
) -> Entry[Any]:
    """A partial update: the fields `changes` carries replace the entry's."""
    async with store.unit_of_work() as uow:
        entry = await _locked(uow, principal, kind, uid)
        return await _save(uow, entry, changes.applied_to(entry.spec))


async def archive_policy(
    store: Store, principal: Principal, uid: str, archive: bool
) -> Entry[PolicySpec]:
    async with store.unit_of_work() as uow:
        policy = await _locked(uow, principal, RegistryKind.POLICY, uid)
        return await _save(uow, policy, archived(policy.spec, archive, datetime.now(UTC)))


async def assign_tag(
    store: Store, principal: Principal, location_uid: str, tag_uid: str
) -> Entry[LocationSpec]:
    """Assigning an assigned tag changes nothing but `updatedAt`. A tag that is not one of the
    location's organization is not found."""
    async with store.unit_of_work() as uow:
        location = await _locked(uow, principal, RegistryKind.LOCATION, location_uid)
        if not await uow.registries.tags.existing(location.organization_uid, [tag_uid], lock=True):
            raise NotFound("tag not found")
        return await _save(uow, location, with_tag(location.spec, tag_uid))


async def unassign_tag(store: Store, principal: Principal, location_uid: str, tag_uid: str) -> None:
    async with store.unit_of_work() as uow:
        location = await _locked(uow, principal, RegistryKind.LOCATION, location_uid)
        await _save(uow, location, without_tag(location.spec, tag_uid))


async def delete_entry(store: Store, principal: Principal, kind: RegistryKind, uid: str) -> None:
    """Recipes that still refer to the entry turn Invalid when their device registers; a
    deleted tag leaves the locations it was assigned to, and its child tags lose their parent."""
    async with store.unit_of_work() as uow:
        entry = await uow.registries[kind].get(uid, await scope(uow, principal, None))
        await uow.registries[kind].remove(entry.uid)


def _trimmed(spec: Spec) -> Spec:
    return replace(spec, name=spec.name.strip())


async def _locked(
    uow: UnitOfWork, principal: Principal, kind: RegistryKind, uid: str
) -> Entry[Any]:
    """The entry, locked against concurrent changes until the transaction ends."""
    return await uow.registries[kind].get(uid, await scope(uow, principal, None), for_update=True)


async def _save(uow: UnitOfWork, entry: Entry[Spec], spec: Spec) -> Entry[Spec]:
    """Store the entry with its new spec; every change moves `updatedAt`."""
    spec = _trimmed(spec)
    await _check_references(uow, entry.organization_uid, entry.uid, entry.spec, spec)
    updated = entry.changed(spec, datetime.now(UTC))
    await uow.registries[entry.kind].save(updated)
    return updated


async def _check_references(
    uow: UnitOfWork,
    organization_uid: str,
    uid: str | None,
    before: AnySpec | None,
    after: AnySpec,
) -> None:
    """A tag's new parent and a location's newly listed tags must be tags of the entry's own
    organization (kept from deletion until the transaction ends); a tag's parent must not be
    the tag or one of its descendants."""
    wanted: Sequence[Reference] = ()
    if isinstance(after, TagSpec) and after.parent_tag_uid is not None:
        parent = after.parent_tag_uid
        if isinstance(before, TagSpec) and before.parent_tag_uid == parent:
            return
        if uid is not None:
            check_parent(uid, parent, await uow.registries.tags.ancestors(parent))
        wanted = [Reference("parentTagUid", RegistryKind.TAG, parent)]
    elif isinstance(after, LocationSpec):
        held = before.tag_uids if isinstance(before, LocationSpec) else ()
        new = [tag for tag in after.tag_uids if tag not in held]
        wanted = [Reference("tagUids", RegistryKind.TAG, tag) for tag in new]
    if wanted:
        refuse_unknown(await uow.registries.missing(organization_uid, wanted, lock=True))


class ReferenceCheck:
    """Which referenced entries exist; each is looked up once per unit of work, so a bulk
    import of thousands of recipes sharing a few tags asks the database a few times."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._exists: dict[tuple[str, Reference], bool] = {}

    async def missing(self, organization_uid: str, wanted: Sequence[Reference]) -> list[Reference]:
        unknown = [r for r in wanted if (organization_uid, r) not in self._exists]
        if unknown:
            gone = set(await self._uow.registries.missing(organization_uid, unknown))
            self._exists.update({(organization_uid, r): r not in gone for r in unknown})
        return [r for r in wanted if not self._exists[(organization_uid, r)]]

    async def require(self, organization_uid: str, wanted: Sequence[Reference]) -> None:
        """422 naming every reference that points at nothing in the organization."""
        refuse_unknown(await self.missing(organization_uid, wanted))
