"""Tags, policies and locations: organization-scoped named entries recipes refer to."""

from collections.abc import Sequence
from datetime import UTC, datetime

from provisio.domain.errors import InvalidInput
from provisio.domain.ids import new_uid
from provisio.domain.registry import Reference, RegistryEntry, RegistryKind
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.unit_of_work import Store, UnitOfWork


async def create_entry(
    store: Store, principal: Principal, kind: RegistryKind, name: str, organization_uid: str | None
) -> RegistryEntry:
    async with store.unit_of_work() as uow:
        organization = await target_organization(uow, principal, organization_uid)
        entry = RegistryEntry(new_uid(), organization, name.strip(), datetime.now(UTC))
        await uow.registries[kind].add(entry)
        return entry


async def list_entries(
    store: Store,
    principal: Principal,
    kind: RegistryKind,
    organization_uid: str | None,
    after: int,
    limit: int,
) -> list[tuple[int, RegistryEntry]]:
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
        return await uow.registries[kind].find(organizations, after, limit)


async def get_entry(
    store: Store, principal: Principal, kind: RegistryKind, uid: str
) -> RegistryEntry:
    async with store.reader() as uow:
        return await uow.registries[kind].get(uid, await scope(uow, principal, None))


async def delete_entry(store: Store, principal: Principal, kind: RegistryKind, uid: str) -> None:
    """Recipes that still refer to the entry turn Invalid when their device registers."""
    async with store.unit_of_work() as uow:
        entry = await uow.registries[kind].get(uid, await scope(uow, principal, None))
        await uow.registries[kind].remove(entry.uid)


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
        missing = await self.missing(organization_uid, wanted)
        if missing:
            problems = [reference.unknown() for reference in missing]
            raise InvalidInput("unknown references", problems)
