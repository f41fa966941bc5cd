"""The six domain events, in the exact signageOS shape.

Field order follows the authoritative sample, so a serialised event reads like it. Optional fields
are omitted when unset (`exclude_none`) and never typed as nullable in the generated JSON Schema.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from provisio.domain.status import RecipeStatus

OptStr = str | SkipJsonSchema[None]
OptBool = bool | SkipJsonSchema[None]

RECIPE_CREATED = "Device.ProvisioningRecipeCreated"
RECIPE_UPDATED = "Device.ProvisioningRecipeUpdated"
RECIPE_STATUS_UPDATED = "Device.ProvisioningRecipeStatusUpdated"
RECIPE_DELETED = "Device.ProvisioningRecipeDeleted"
DEVICE_PAIRED = "Device.Verification.DevicePaired"
DEVICE_UNPAIRED = "Device.Verification.DeviceUnpaired"


class _Wire(BaseModel):
    """camelCase on the wire, nothing unknown accepted, immutable once built."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Owner(_Wire):
    ownership_type: Literal["organization"]
    organization_uid: str
    parent_company_uid: str


class Originator(_Wire):
    """Who caused the event. provisio never sets `policyUid`; it is accepted for compatibility."""

    account_id: int | SkipJsonSchema[None] = None
    organization_uid: OptStr = None
    policy_uid: OptStr = None


class RegisterWarning(_Wire):
    warning_message: str


class _Payload(_Wire):
    owner: Owner


class ProvisioningRecipeCreated(_Payload):
    uid: str
    originator: Originator | SkipJsonSchema[None] = None
    type: Literal["Device.ProvisioningRecipeCreated"]
    organization_uid: str
    status: RecipeStatus
    confirmed_ownership: OptBool = None
    serial_number: OptStr = None
    mac_address: OptStr = None
    model: OptStr = None
    brand: str
    tag_uids: list[str] | SkipJsonSchema[None] = None
    device_name: OptStr = None
    policy_uid: OptStr = None
    location_uid: OptStr = None
    unsuccessful_register_attempt_status: RegisterWarning | SkipJsonSchema[None] = None
    error_message: OptStr = None


class ProvisioningRecipeUpdated(_Payload):
    uid: str
    originator: Originator | SkipJsonSchema[None] = None
    type: Literal["Device.ProvisioningRecipeUpdated"]
    organization_uid: OptStr = None
    status: RecipeStatus | SkipJsonSchema[None] = None
    confirmed_ownership: OptBool = None
    serial_number: OptStr = None
    mac_address: OptStr = None
    model: OptStr = None
    brand: OptStr = None
    tag_uids: list[str] | SkipJsonSchema[None] = None
    device_name: OptStr = None
    policy_uid: OptStr = None
    location_uid: OptStr = None
    unsuccessful_register_attempt_status: RegisterWarning | SkipJsonSchema[None] = None
    error_message: OptStr = None


class ProvisioningRecipeStatusUpdated(_Payload):
    uid: str
    originator: Originator | SkipJsonSchema[None] = None
    type: Literal["Device.ProvisioningRecipeStatusUpdated"]
    device_identity_hash: str
    status: RecipeStatus


class ProvisioningRecipeDeleted(_Payload):
    uid: str
    originator: Originator | SkipJsonSchema[None] = None
    type: Literal["Device.ProvisioningRecipeDeleted"]
    organization_uid: str
    status: RecipeStatus
    serial_number: OptStr = None
    mac_address: OptStr = None
    model: OptStr = None
    brand: str


class DevicePaired(_Payload):
    originator: Originator | SkipJsonSchema[None] = None
    type: Literal["Device.Verification.DevicePaired"]
    device_identity_hash: str
    verification_hash: str


class DeviceUnpaired(_Payload):
    originator: Originator | SkipJsonSchema[None] = None
    type: Literal["Device.Verification.DeviceUnpaired"]
    device_identity_hash: str
    verification_hash: str


AnyPayload = (
    ProvisioningRecipeCreated
    | ProvisioningRecipeUpdated
    | ProvisioningRecipeStatusUpdated
    | ProvisioningRecipeDeleted
    | DevicePaired
    | DeviceUnpaired
)
Payload = Annotated[AnyPayload, Field(discriminator="type")]

PAYLOAD_MODELS: tuple[type[_Payload], ...] = (
    ProvisioningRecipeCreated,
    ProvisioningRecipeUpdated,
    ProvisioningRecipeStatusUpdated,
    ProvisioningRecipeDeleted,
    DevicePaired,
    DeviceUnpaired,
)
EVENT_TYPES: tuple[str, ...] = (
    RECIPE_CREATED,
    RECIPE_UPDATED,
    RECIPE_STATUS_UPDATED,
    RECIPE_DELETED,
    DEVICE_PAIRED,
    DEVICE_UNPAIRED,
)


class Event(_Wire):
    """The envelope: exactly id, kind, type and payload; `type` repeats the payload's."""

    id: str
    kind: Literal["domain"]
    type: str
    payload: Payload

    def to_json(self) -> bytes:
        """The bytes that are stored once and sent, signed and published unchanged."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def make_event(event_id: str, payload: AnyPayload) -> Event:
    return Event(id=event_id, kind="domain", type=payload.type, payload=payload)


def parse_event(raw: bytes | str) -> Event:
    """Parse an envelope into its typed model (and check `type` agrees with the payload)."""
    event = Event.model_validate_json(raw)
    if event.type != event.payload.type:
        raise ValueError(f"envelope type {event.type!r} differs from payload type")
    return event


def envelope_schema(payload_model: type[_Payload]) -> dict[str, object]:
    """The JSON Schema of one event type's envelope, as committed under schemas/events/."""
    payload_schema = _tidy(payload_model.model_json_schema(by_alias=True))
    type_name = payload_schema["properties"]["type"]["const"]
    defs = payload_schema.pop("$defs", None)
    schema: dict[str, object] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://provisio.dev/schemas/events/{type_name}.json",
        "title": type_name,
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "kind", "type", "payload"],
        "properties": {
            "id": {"type": "string", "description": "Unique identifier of the event instance"},
            "kind": {"const": "domain"},
            "type": {"const": type_name},
            "payload": payload_schema,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _tidy(node: Any) -> Any:
    """Drop pydantic's `default: null` (events never carry null) and generated titles."""
    if isinstance(node, dict):
        return {
            key: _tidy(value)
            for key, value in node.items()
            if not (key == "default" and value is None)
            and not (key == "title" and isinstance(value, str) and "properties" not in node)
        }
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    return node
