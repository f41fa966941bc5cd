"""Wire models of `/v1/event-stream/exporter` (signageOS shape). The secret is write-only."""

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_snake
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from provisio.api.schemas import (
    STORABLE,
    Note,
    OmittableBool,
    OmittableUid,
    RequestBody,
    ResponseBody,
    StorableStr,
    Text,
    Timestamp,
)
from provisio.domain.events import EVENT_TYPES
from provisio.domain.exporter import MAX_URL, MIN_SECRET, Exporter, ExporterSpec
from provisio.store.deliveries import Observability

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]
Secret = Annotated[str, StringConstraints(min_length=MIN_SECRET, max_length=512), STORABLE]
Url = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL), STORABLE]
EventIds = Annotated[list[StorableStr], Field(min_length=1, max_length=1000)]


class SigningIn(RequestBody):
    algorithm: Literal["HS256"]
    secret: Secret


class AuthIn(RequestBody):
    auth_type: Literal["httpSignedBody"]
    signing: SigningIn


class ConfigIn(RequestBody):
    config_type: Literal["webhook"]
    url: Url
    auth: AuthIn


class ExporterCreate(RequestBody):
    name: Text
    description: Note | None = None
    subscribed_event_types: EventTypes
    enabled: OmittableBool = None
    config: ConfigIn
    organization_uid: OmittableUid = None

    def spec(self) -> ExporterSpec:
        return ExporterSpec(
            name=self.name,
            description=self.description,
            subscribed_event_types=tuple(self.subscribed_event_types),
            enabled=bool(self.enabled),
            url=self.config.url,
            secret=self.config.auth.signing.secret,
        )


def _null_only_where_allowed(schema: dict[str, Any], model: type[Any]) -> None:
    """`X | None` (one error location per field, unlike a union with a hidden None) shown as
    plain `X` in the schema for the fields that refuse null."""
    for name, field in schema.get("properties", {}).items():
        others = [s for s in field.get("anyOf", []) if s != {"type": "null"}]
        if len(others) == 1 and to_snake(name) not in model.nullable:
            del field["anyOf"]
            field.update(others[0])


class _Patch(RequestBody):
    """A partial body: fields may be omitted, but those not nullable in the schema can't be null."""

    model_config = ConfigDict(json_schema_extra=_null_only_where_allowed)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key not in cls.nullable:
                    raise PydanticCustomError(
                        "null_forbidden", "{field} must not be null", {"field": key}
                    )
        return data


class SigningPatch(_Patch):
    algorithm: Literal["HS256"] | None = None
    secret: Secret | None = None


class AuthPatch(_Patch):
    auth_type: Literal["httpSignedBody"] | None = None
    signing: SigningPatch | None = None


class ConfigPatch(_Patch):
    config_type: Literal["webhook"] | None = None
    url: Url | None = None
    auth: AuthPatch | None = None


class ExporterUpdate(_Patch):
    """Partial: only what is sent changes; omitting the secret keeps it; null clears description."""

    nullable: ClassVar[frozenset[str]] = frozenset({"description"})

    name: Text | None = None
    description: Note | None = None
    subscribed_event_types: EventTypes | None = None
    enabled: OmittableBool = None
    config: ConfigPatch | None = None

    def changes(self) -> dict[str, Any]:
        """ExporterSpec attribute → new value, for the fields that were sent."""
        sent = self.model_dump(exclude_unset=True)
        config = sent.pop("config", None) or {}
        signing = (config.get("auth") or {}).get("signing") or {}
        changes = {k: v for k, v in sent.items() if k != "subscribed_event_types"}
        if "subscribed_event_types" in sent:
            changes["subscribed_event_types"] = tuple(sent["subscribed_event_types"])
        if "url" in config:
            changes["url"] = config["url"]
        if "secret" in signing:
            changes["secret"] = signing["secret"]
        return changes


class SigningOut(ResponseBody):
    algorithm: Literal["HS256"] = "HS256"


class AuthOut(ResponseBody):
    auth_type: Literal["httpSignedBody"] = "httpSignedBody"
    signing: SigningOut = SigningOut()


class ConfigOut(ResponseBody):
    config_type: Literal["webhook"] = "webhook"
    url: str
    auth: AuthOut = AuthOut()


class RecentFailureOut(ResponseBody):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    event_type: str
    attempts: int
    last_error: str | SkipJsonSchema[None] = None
    last_attempt_at: Timestamp | SkipJsonSchema[None] = None


class ObservabilityOut(ResponseBody):
    model_config = ConfigDict(from_attributes=True)

    delivered: int
    retries: int
    errors: int
    last_successful_delivery_at: Timestamp | SkipJsonSchema[None] = None
    recent_failures: list[RecentFailureOut]


class ExporterOut(ResponseBody):
    uid: str
    organization_uid: str
    name: str
    description: str | SkipJsonSchema[None] = None
    subscribed_event_types: list[str]
    enabled: bool
    config: ConfigOut
    disabled_reason: str | SkipJsonSchema[None] = None
    created_at: Timestamp
    updated_at: Timestamp
    observability: ObservabilityOut

    @classmethod
    def of(cls, exporter: Exporter, seen: Observability) -> "ExporterOut":
        spec = exporter.spec
        return cls(
            uid=exporter.uid,
            organization_uid=exporter.organization_uid,
            name=spec.name,
            description=spec.description,
            subscribed_event_types=list(spec.subscribed_event_types),
            enabled=spec.enabled,
            config=ConfigOut(url=spec.url),
            disabled_reason=exporter.disabled_reason,
            created_at=exporter.created_at,
            updated_at=exporter.updated_at,
            observability=ObservabilityOut.model_validate(seen),
        )


class AttemptOut(ResponseBody):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: Timestamp
    duration_ms: int
    http_status: int | SkipJsonSchema[None] = None
    error: str | SkipJsonSchema[None] = None
    response: str | SkipJsonSchema[None] = None
    """The first KiB of the receiver's answer."""


class DeliveryOut(ResponseBody):
    """Read straight from the store's DeliveryView (same field names)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    event_type: str
    sequence_number: int
    status: Literal["pending", "delivered", "failed"]
    created_at: Timestamp
    next_attempt_at: Timestamp | SkipJsonSchema[None] = None
    delivered_at: Timestamp | SkipJsonSchema[None] = None
    attempts: list[AttemptOut]


class ReplayIn(_Patch):
    """Exactly one of: `eventIds`, `since`, or `status: "failed"`."""

    event_ids: EventIds | None = None
    since: Annotated[datetime, Field(strict=False)] | None = None
    status: Literal["failed"] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ReplayIn":
        if len(self.model_fields_set) != 1:
            raise PydanticCustomError(
                "replay_choice", "send exactly one of eventIds, since or status"
            )
        return self


class ReplayOut(ResponseBody):
    queued: int


class CountOut(ResponseBody):
    count: int
