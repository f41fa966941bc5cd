"""`/v1/device/{uid}…`: operators manage a paired device's name, location, tags and policies,
with the calls of signageOS's SDK (`device.set`, `deviceLocation`, `device.policy`).

A tag or location named in the path that the device's organization lacks is a 404, like any
path naming nothing; a policy named in the body is a 422 naming the field. Removing what the
device does not have is a 404.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from provisio.api.deps import PrincipalDep, StoreDep
from provisio.api.device_models import (
    DeviceOut,
    DevicePolicyAssign,
    DevicePolicyOut,
    DeviceUpdate,
    NoFields,
)
from provisio.api.json_limits import JsonRoute
from provisio.api.paths import (
    LOCATION_UID,
    POLICY_UID,
    TAG_UID,
    UID,
    LocationUid,
    PolicyUid,
    TagUid,
)
from provisio.service import device_management as use_cases
from provisio.service.devices import get_device

router = APIRouter(prefix="/v1/device", tags=["devices"], route_class=JsonRoute)

LOCATION = f"{UID}/location"
POLICY = f"{UID}/policy"
TAG = f"{UID}/organization-tag/{TAG_UID}"
OptionalBody = Annotated[NoFields | None, Body()]


@router.put(UID, response_model_exclude_none=True)
async def update_device(
    uid: str, body: DeviceUpdate, store: StoreDep, principal: PrincipalDep
) -> DeviceOut:
    """Rename the device; the name replaces the recipe's or the generated one."""
    return DeviceOut.of(await use_cases.rename_device(store, principal, uid, body.name))


@router.put(f"{LOCATION}/{LOCATION_UID}", response_model_exclude_none=True)
async def assign_location(
    uid: str,
    location_uid: LocationUid,
    store: StoreDep,
    principal: PrincipalDep,
    body: OptionalBody = None,
) -> DeviceOut:
    """Give the device this location of its organization, in place of the one it had."""
    return DeviceOut.of(await use_cases.assign_location(store, principal, uid, location_uid))


@router.delete(f"{LOCATION}/{LOCATION_UID}", status_code=status.HTTP_204_NO_CONTENT)
async def unassign_location(
    uid: str, location_uid: LocationUid, store: StoreDep, principal: PrincipalDep
) -> None:
    """Remove this location from the device (404 when it is not the device's location)."""
    await use_cases.unassign_location(store, principal, uid, location_uid)


@router.delete(LOCATION, status_code=status.HTTP_204_NO_CONTENT)
async def remove_location(uid: str, store: StoreDep, principal: PrincipalDep) -> None:
    """Remove the device's location, whichever it is (404 when it has none)."""
    await use_cases.unassign_location(store, principal, uid, None)


@router.put(TAG, response_model_exclude_none=True)
async def add_tag(
    uid: str, tag_uid: TagUid, store: StoreDep, principal: PrincipalDep, body: OptionalBody = None
) -> DeviceOut:
    """Tag the device with a tag of its organization (tagging it twice changes nothing)."""
    return DeviceOut.of(await use_cases.add_tag(store, principal, uid, tag_uid))


@router.delete(TAG, status_code=status.HTTP_204_NO_CONTENT)
async def remove_tag(uid: str, tag_uid: TagUid, store: StoreDep, principal: PrincipalDep) -> None:
    await use_cases.remove_tag(store, principal, uid, tag_uid)


@router.post(
    POLICY,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": DevicePolicyOut, "description": "Assigned already: its priority changed"}
    },
)
async def assign_policy(
    uid: str,
    body: DevicePolicyAssign,
    response: Response,
    store: StoreDep,
    principal: PrincipalDep,
) -> DevicePolicyOut:
    """Assign a policy of the device's organization with a priority; assigning an assigned
    one again changes its priority and keeps the time it was assigned."""
    assignment, new = await use_cases.assign_policy(store, principal, uid, body.uid, body.priority)
    if new:
        response.headers["Location"] = f"{router.prefix}/{uid}/policy/{body.uid}"
    else:
        response.status_code = status.HTTP_200_OK
    return DevicePolicyOut.of(assignment)


@router.get(POLICY)
async def list_policies(
    uid: str, store: StoreDep, principal: PrincipalDep
) -> list[DevicePolicyOut]:
    """The device's policies in priority order, then by when they were assigned (not paged: a
    device has few)."""
    device = await get_device(store, principal, uid)
    return [DevicePolicyOut.of(p) for p in device.configuration.policies]


@router.get(f"{POLICY}/{POLICY_UID}")
async def get_policy(
    uid: str, policy_uid: PolicyUid, store: StoreDep, principal: PrincipalDep
) -> DevicePolicyOut:
    device = await get_device(store, principal, uid)
    return DevicePolicyOut.of(device.policy(policy_uid))


@router.delete(f"{POLICY}/{POLICY_UID}", status_code=status.HTTP_204_NO_CONTENT)
async def unassign_policy(
    uid: str, policy_uid: PolicyUid, store: StoreDep, principal: PrincipalDep
) -> None:
    await use_cases.unassign_policy(store, principal, uid, policy_uid)
