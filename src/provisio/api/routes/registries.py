"""`/v1/organization-tag`, `/v1/policy`, `/v1/location`: create, list, get, update and delete
each kind in signageOS's shapes, archive policies, assign tags to locations.

Location attachments (the SDK's `add-attachment` and `remove-attachments`) are not kept:
those paths name no route."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from provisio.api.deps import PrincipalDep, StoreDep
from provisio.api.json_limits import JsonRoute
from provisio.api.pagination import OrganizationQuery, PagingDep
from provisio.api.paths import TAG_UID, UID, TagUid
from provisio.api.registry_models import (
    EntryOut,
    LocationCreate,
    LocationOut,
    LocationUpdate,
    PolicyArchive,
    PolicyCreate,
    PolicyOut,
    PolicyUpdate,
    TagAssignment,
    TagCreate,
    TagOut,
    TagUpdate,
)
from provisio.domain.registry import Entry, RegistryKind
from provisio.service import registries as use_cases

TAGS = "/v1/organization-tag"
POLICIES = "/v1/policy"
LOCATIONS = "/v1/location"

TAG_OF_LOCATION = f"{UID}/organization-tag/{TAG_UID}"

Out = Callable[[Entry[Any]], EntryOut]


def _router(prefix: str, title: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[title], route_class=JsonRoute)


def _get_and_delete(router: APIRouter, kind: RegistryKind, out: Out, model: type[EntryOut]) -> None:
    """The routes every kind has alike."""

    @router.get(UID, name=f"get {kind}", response_model=model)
    async def get(uid: str, store: StoreDep, principal: PrincipalDep) -> EntryOut:
        return out(await use_cases.get_entry(store, principal, kind, uid))

    @router.delete(UID, status_code=status.HTTP_204_NO_CONTENT, name=f"delete {kind}")
    async def delete(uid: str, store: StoreDep, principal: PrincipalDep) -> None:
        """Recipes still referring to it turn Invalid when their device registers."""
        await use_cases.delete_entry(store, principal, kind, uid)


def _list(router: APIRouter, kind: RegistryKind, out: Out, model: type[EntryOut]) -> None:
    @router.get("", name=f"list {kind}", response_model=list[model])  # type: ignore[valid-type]
    async def list_(
        paging: PagingDep,
        store: StoreDep,
        principal: PrincipalDep,
        organization_uid: OrganizationQuery = None,
    ) -> list[EntryOut]:
        """In creation order."""
        rows = await use_cases.list_entries(
            store, principal, kind, organization_uid, paging.after, paging.fetch
        )
        return [out(entry) for entry in paging.page(rows)]


def _created(response: Response, prefix: str, entry: Entry[Any]) -> None:
    response.headers["Location"] = f"{prefix}/{entry.uid}"


tags = _router(TAGS, "organization tags")
_list(tags, RegistryKind.TAG, TagOut.of, TagOut)
_get_and_delete(tags, RegistryKind.TAG, TagOut.of, TagOut)


@tags.post("", status_code=status.HTTP_201_CREATED, name="create tag")
async def create_tag(
    body: TagCreate, response: Response, store: StoreDep, principal: PrincipalDep
) -> TagOut:
    """`parentTagUid` must be another tag of the organization."""
    tag = await use_cases.create_entry(store, principal, body.spec(), body.organization_uid)
    _created(response, TAGS, tag)
    return TagOut.of(tag)


@tags.put(UID, name="update tag")
async def update_tag(uid: str, body: TagUpdate, store: StoreDep, principal: PrincipalDep) -> TagOut:
    """A tag's parent can be neither the tag itself nor one of its descendants."""
    changes = body.changes()
    return TagOut.of(await use_cases.update_entry(store, principal, RegistryKind.TAG, uid, changes))


policies = _router(POLICIES, "policies")
_get_and_delete(policies, RegistryKind.POLICY, PolicyOut.of, PolicyOut)


@policies.post("", status_code=status.HTTP_201_CREATED, name="create policy")
async def create_policy(
    body: PolicyCreate, response: Response, store: StoreDep, principal: PrincipalDep
) -> PolicyOut:
    policy = await use_cases.create_entry(store, principal, body.spec(), body.organization_uid)
    _created(response, POLICIES, policy)
    return PolicyOut.of(policy)


@policies.get("", name="list policy")
async def list_policies(
    paging: PagingDep,
    store: StoreDep,
    principal: PrincipalDep,
    organization_uid: OrganizationQuery = None,
    archived: Annotated[bool, Query(description="true: only the archived ones")] = False,
) -> list[PolicyOut]:
    """The policies that are not archived, in creation order (`archived=true`: the archived
    ones)."""
    rows = await use_cases.list_policies(
        store, principal, organization_uid, paging.after, paging.fetch, archived
    )
    return [PolicyOut.of(policy) for policy in paging.page(rows)]


@policies.put(UID, name="update policy")
async def update_policy(
    uid: str, body: PolicyUpdate, store: StoreDep, principal: PrincipalDep
) -> PolicyOut:
    changes = body.changes()
    policy = await use_cases.update_entry(store, principal, RegistryKind.POLICY, uid, changes)
    return PolicyOut.of(policy)


@policies.put(f"{UID}/archive", name="archive policy")
async def archive_policy(
    uid: str, body: PolicyArchive, store: StoreDep, principal: PrincipalDep
) -> PolicyOut:
    """`{"archived": true}` archives, `false` unarchives. An archived policy remains a valid
    reference for recipes and devices."""
    return PolicyOut.of(await use_cases.archive_policy(store, principal, uid, body.archived))


locations = _router(LOCATIONS, "locations")
_list(locations, RegistryKind.LOCATION, LocationOut.of, LocationOut)
_get_and_delete(locations, RegistryKind.LOCATION, LocationOut.of, LocationOut)


@locations.post("", status_code=status.HTTP_201_CREATED, name="create location")
async def create_location(
    body: LocationCreate, response: Response, store: StoreDep, principal: PrincipalDep
) -> LocationOut:
    """`tagUids` must be tags of the organization."""
    location = await use_cases.create_entry(store, principal, body.spec(), body.organization_uid)
    _created(response, LOCATIONS, location)
    return LocationOut.of(location)


@locations.put(UID, name="update location")
async def update_location(
    uid: str, body: LocationUpdate, store: StoreDep, principal: PrincipalDep
) -> LocationOut:
    changes = body.changes()
    location = await use_cases.update_entry(store, principal, RegistryKind.LOCATION, uid, changes)
    return LocationOut.of(location)


@locations.put(TAG_OF_LOCATION, name="assign tag to location")
async def assign_tag(
    uid: str,
    tag_uid: TagUid,
    store: StoreDep,
    principal: PrincipalDep,
    body: TagAssignment | None = None,
) -> LocationOut:
    """A tag that is not one of the location's organization is not found (404)."""
    return LocationOut.of(await use_cases.assign_tag(store, principal, uid, tag_uid))


@locations.delete(
    TAG_OF_LOCATION, status_code=status.HTTP_204_NO_CONTENT, name="unassign tag from location"
)
async def unassign_tag(uid: str, tag_uid: TagUid, store: StoreDep, principal: PrincipalDep) -> None:
    """A tag that is not assigned to the location is not found (404)."""
    await use_cases.unassign_tag(store, principal, uid, tag_uid)


routers = (tags, policies, locations)
