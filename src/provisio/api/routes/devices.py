"""`/v1/device`: registration by device agents, deprovisioning, reading."""

from fastapi import APIRouter, status

from provisio.api.deps import DeviceKeyDep, PrincipalDep, StoreDep
from provisio.api.device_models import (
    DeviceOut,
    DeviceRegistration,
    RegistrationOut,
)
from provisio.api.json_limits import JsonRoute
from provisio.api.metrics import REGISTRATIONS
from provisio.api.pagination import OrganizationQuery, PagingDep
from provisio.api.paths import UID
from provisio.domain.device import DeviceReport
from provisio.service import devices as use_cases

router = APIRouter(prefix="/v1/device", tags=["devices"], route_class=JsonRoute)


@router.post("/register", dependencies=[DeviceKeyDep])
async def register(body: DeviceRegistration, store: StoreDep) -> RegistrationOut:
    """Called by the device agent with `X-Device-Key`. Idempotent: the same device (brand and
    serial number, or brand and any MAC) always gets the same record; a matching recipe is
    applied."""
    report = DeviceReport.of(
        brand=body.brand,
        model=body.model,
        serial_number=body.serial_number,
        mac_addresses=body.mac_addresses or (),
        firmware_version=body.firmware_version,
    )
    registration = await use_cases.register_device(store, report)
    REGISTRATIONS.labels(registration.decision.outcome.value).inc()
    return RegistrationOut.of(registration.device)


@router.get("", response_model_exclude_none=True)
async def list_devices(
    paging: PagingDep,
    store: StoreDep,
    principal: PrincipalDep,
    organization_uid: OrganizationQuery = None,
) -> list[DeviceOut]:
    """The organization's paired devices, in registration order."""
    rows = await use_cases.list_devices(
        store, principal, organization_uid, paging.after, paging.fetch
    )
    return [DeviceOut.of(device) for device in paging.page(rows)]


@router.get(UID, response_model_exclude_none=True)
async def get_device(uid: str, store: StoreDep, principal: PrincipalDep) -> DeviceOut:
    return DeviceOut.of(await use_cases.get_device(store, principal, uid))


@router.put(f"{UID}/deprovision", status_code=status.HTTP_204_NO_CONTENT)
async def deprovision(uid: str, store: StoreDep, principal: PrincipalDep) -> None:
    """Unpair the device from its organization; it shows a new verification code."""
    await use_cases.deprovision_device(store, principal, uid)
