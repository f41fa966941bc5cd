"""`/v1/organization-tag`, `/v1/policy`, `/v1/location`: one route set per registry kind."""

from fastapi import APIRouter, Response, status

from provisio.api.deps import PrincipalDep, StoreDep
from provisio.api.device_models import RegistryEntryCreate, RegistryEntryOut
from provisio.api.json_limits import JsonRoute
from provisio.api.pagination import OrganizationQuery, PagingDep
from provisio.api.paths import UID
from provisio.domain.registry import RegistryKind
from provisio.service import registries as use_cases


def registry_router(kind: RegistryKind, prefix: str, title: str) -> APIRouter:
    """Create (with a name), list, get and delete, scoped to the token's organizations."""
    router = APIRouter(prefix=prefix, tags=[title], route_class=JsonRoute)

    @router.post("", status_code=status.HTTP_201_CREATED, name=f"create {kind}")
    async def create(
        body: RegistryEntryCreate, response: Response, store: StoreDep, principal: PrincipalDep
    ) -> RegistryEntryOut:
        entry = await use_cases.create_entry(
            store, principal, kind, body.name, body.organization_uid
        )
        response.headers["Location"] = f"{prefix}/{entry.uid}"
        return RegistryEntryOut.of(entry)

    @router.get("", name=f"list {kind}")
    async def list_(
        paging: PagingDep,
        store: StoreDep,
        principal: PrincipalDep,
        organization_uid: OrganizationQuery = None,
    ) -> list[RegistryEntryOut]:
        rows = await use_cases.list_entries(
            store, principal, kind, organization_uid, paging.after, paging.fetch
        )
        return [RegistryEntryOut.of(entry) for entry in paging.page(rows)]

    @router.get(UID, name=f"get {kind}")
    async def get(uid: str, store: StoreDep, principal: PrincipalDep) -> RegistryEntryOut:
        return RegistryEntryOut.of(await use_cases.get_entry(store, principal, kind, uid))

    @router.delete(UID, status_code=status.HTTP_204_NO_CONTENT, name=f"delete {kind}")
    async def delete(uid: str, store: StoreDep, principal: PrincipalDep) -> None:
        """Recipes still referring to it turn Invalid when their device registers."""
        await use_cases.delete_entry(store, principal, kind, uid)

    return router


routers = (
    registry_router(RegistryKind.TAG, "/v1/organization-tag", "organization tags"),
    registry_router(RegistryKind.POLICY, "/v1/policy", "policies"),
    registry_router(RegistryKind.LOCATION, "/v1/location", "locations"),
)
