"""Wire models of devices."""

from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from provisio.api.schemas import (
    STORABLE,
    Mac,
    OmittableUid,
    RequestBody,
    ResponseBody,
    Text,
    Timestamp,
    Uid,
)
from provisio.domain.device import MAX_MACS, Device, PolicyAssignment


class DeviceRegistration(RequestBody):
    """What a device agent reports. Optional fields may be omitted or null."""

    brand: Text
    model: Text | None = None
    serial_number: Text | None = None
    mac_addresses: Annotated[list[Mac], Field(max_length=MAX_MACS)] | None = None
    firmware_version: Text | None = None


class RegistrationOut(ResponseBody):
    """`provisioned`: the device belongs to an organization; `recipeUid`: the recipe that
    configured it there, if one did."""

    device_uid: str
    verification_hash: str
    organization_uid: str | None
    provisioned: bool
    recipe_uid: str | None

    @classmethod
    def of(cls, device: Device) -> "RegistrationOut":
        return cls(
            device_uid=device.uid,
            verification_hash=device.verification_hash,
            organization_uid=device.organization_uid,
            provisioned=device.paired,
            recipe_uid=device.recipe_uid,
        )


class VerificationCreate(RequestBody):
    verification_hash: Annotated[str, StringConstraints(min_length=1, max_length=64), STORABLE]
    organization_uid: OmittableUid = None


class VerificationOut(ResponseBody):
    """A pairing by code, as signageOS's device verification: `hash` is the code used (as the
    device showed it), `verifiedAt` when it paired (null for a code not verified yet; pairing
    by code verifies at once)."""

    uid: str
    device_uid: str
    hash: str
    created_at: Timestamp
    verified_at: Timestamp | None


class DeviceUpdate(RequestBody):
    """`PUT /v1/device/{uid}`: what signageOS's `device.set(uid, {name})` sends."""

    name: Text


class NoFields(RequestBody):
    """The body of an assignment by path (signageOS's SDK sends `{}`); it may be left out."""


Priority = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
"""Any integer a database `INTEGER` holds."""


class DevicePolicyAssign(RequestBody):
    uid: Uid
    priority: Priority


class DevicePolicyOut(ResponseBody):
    """One of a device's policies, as signageOS's `IDevicePolicyRaw`."""

    uid: str
    priority: int
    assigned_at: Timestamp

    @classmethod
    def of(cls, assignment: PolicyAssignment) -> "DevicePolicyOut":
        return cls(
            uid=assignment.policy_uid,
            priority=assignment.priority,
            assigned_at=assignment.assigned_at,
        )


class DeviceOut(ResponseBody):
    """`name`: the name the device was given, else brand and serial number (or first MAC).
    `policies` in priority order, then by when they were assigned."""

    uid: str
    organization_uid: str
    brand: str
    model: str | SkipJsonSchema[None] = None
    serial_number: str | SkipJsonSchema[None] = None
    mac_addresses: list[str]
    firmware_version: str | SkipJsonSchema[None] = None
    name: str
    tag_uids: list[str]
    policies: list[DevicePolicyOut]
    location_uid: str | SkipJsonSchema[None] = None
    recipe_uid: str | SkipJsonSchema[None] = None
    paired_at: Timestamp
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, device: Device) -> "DeviceOut":
        report, configuration = device.report, device.configuration
        assert device.organization_uid is not None
        assert device.paired_at is not None
        return cls(
            uid=device.uid,
            organization_uid=device.organization_uid,
            brand=report.brand,
            model=report.model,
            serial_number=report.serial_number,
            mac_addresses=list(report.mac_addresses),
            firmware_version=report.firmware_version,
            name=device.name,
            tag_uids=list(configuration.tag_uids),
            policies=[DevicePolicyOut.of(p) for p in configuration.policies],
            location_uid=configuration.location_uid,
            recipe_uid=device.recipe_uid,
            paired_at=device.paired_at,
            created_at=device.created_at,
            updated_at=device.updated_at,
        )
