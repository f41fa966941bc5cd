"""Wire models of `/v1/organization-tag`, `/v1/policy` and `/v1/location`, in the shapes
signageOS's JS SDK sends and reads (`RestApi/Organization/Tag`, `RestApi/Policy`,
`RestApi/Location`). Requests become domain values here: a spec to create, typed changes to
update."""

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from provisio.api.schemas import (
    LEFT_OUT_WHEN_NONE,
    OMITTABLE,
    JsonValue,
    Note,
    OmittableText,
    OmittableUid,
    RequestBody,
    ResponseBody,
    TagList,
    Text,
    Timestamp,
    Uid,
)
from provisio.domain.registry import (
    MAX_POLICY_ITEMS,
    Coordinates,
    Entry,
    LocationChanges,
    LocationSpec,
    PolicyChanges,
    PolicyItem,
    PolicySpec,
    TagChanges,
    TagSpec,
    distinct_tags,
    place_of,
    required_place,
)

LeftOut = Annotated[str | SkipJsonSchema[None], LEFT_OUT_WHEN_NONE]


class EntryOut(ResponseBody):
    """What every kind answers with."""

    uid: str
    organization_uid: str
    name: str
    created_at: Timestamp
    updated_at: Timestamp

    @staticmethod
    def shared(entry: Entry[Any]) -> dict[str, Any]:
        return {
            "uid": entry.uid,
            "organization_uid": entry.organization_uid,
            "name": entry.spec.name,
            "created_at": entry.created_at,
            "updated_at": entry.updated_at,
        }


# --- tags ---------------------------------------------------------------------------------


class TagCreate(RequestBody):
    name: Text
    organization_uid: OmittableUid = None
    color: Text | None = None
    parent_tag_uid: Uid | None = None

    def spec(self) -> TagSpec:
        return TagSpec(self.name, self.color, self.parent_tag_uid)


class TagUpdate(RequestBody):
    """The SDK's `IOrganizationTagUpdate`: `name` is always sent; an omitted `color` or
    `parentTagUid` keeps its value, `null` clears it."""

    name: Text
    color: Text | None = None
    parent_tag_uid: Uid | None = None

    def changes(self) -> TagChanges:
        return TagChanges(**{name: getattr(self, name) for name in self.model_fields_set})


class TagOut(EntryOut):
    color: LeftOut = None
    parent_tag_uid: LeftOut = None

    @classmethod
    def of(cls, tag: Entry[TagSpec]) -> "TagOut":
        spec = tag.spec
        return cls(**cls.shared(tag), color=spec.color, parent_tag_uid=spec.parent_tag_uid)


# --- policies -----------------------------------------------------------------------------


class PolicyItemIn(RequestBody):
    type: Text
    application_type: Text | None = None
    value: JsonValue = Field(description="Any JSON value")

    def item(self) -> PolicyItem:
        return PolicyItem(self.type, self.value, self.application_type)


PolicyItems = Annotated[list[PolicyItemIn], Field(max_length=MAX_POLICY_ITEMS)]


def _items(sent: list[PolicyItemIn] | None) -> tuple[PolicyItem, ...]:
    return tuple(item.item() for item in sent or ())


class PolicyCreate(RequestBody):
    """The SDK sends `{name, organizationUid}`; `note` and `items` may come along."""

    name: Text
    organization_uid: OmittableUid = None
    note: Note | None = None
    items: Annotated[PolicyItems | None, OMITTABLE] = None

    def spec(self) -> PolicySpec:
        return PolicySpec(self.name, self.note, _items(self.items))


class PolicyUpdate(RequestBody):
    """The SDK's `IPolicyUpdatable`: only what is sent changes; `note: null` clears the note;
    `items` replaces every item."""

    name: OmittableText = None
    items: Annotated[PolicyItems | None, OMITTABLE] = None
    note: Note | None = None

    def changes(self) -> PolicyChanges:
        sent = {name: getattr(self, name) for name in self.model_fields_set}
        if "items" in sent:
            sent["items"] = _items(self.items)
        return PolicyChanges(**sent)


class PolicyArchive(RequestBody):
    """What the SDK's `archive` (true) and `unarchive` (false) send."""

    archived: bool


class PolicyItemOut(ResponseBody):
    type: str
    application_type: LeftOut = None
    value: Any = Field(description="Any JSON value")


class PolicyOut(EntryOut):
    note: LeftOut = None
    items: list[PolicyItemOut]
    archived_at: Annotated[Timestamp | SkipJsonSchema[None], LEFT_OUT_WHEN_NONE] = None

    @classmethod
    def of(cls, policy: Entry[PolicySpec]) -> "PolicyOut":
        spec = policy.spec
        items = [
            PolicyItemOut(type=item.type, application_type=item.application_type, value=item.value)
            for item in spec.items
        ]
        return cls(**cls.shared(policy), note=spec.note, items=items, archived_at=spec.archived_at)


# --- locations ----------------------------------------------------------------------------


class CoordinatesIn(RequestBody):
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    long: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


def _coordinates(sent: CoordinatesIn | None) -> Coordinates | None:
    return Coordinates(sent.lat, sent.long) if sent is not None else None


class LocationCreate(RequestBody):
    """The SDK's `ILocationCreate`: exactly one of `coordinates` and `address`."""

    name: Text
    organization_uid: OmittableUid = None
    coordinates: CoordinatesIn | None = None
    address: Text | None = None
    custom_id: Text | None = None
    description: Note | None = None
    tag_uids: TagList | None = None

    def spec(self) -> LocationSpec:
        return LocationSpec(
            self.name,
            required_place(_coordinates(self.coordinates), self.address),
            self.custom_id,
            self.description,
            distinct_tags(self.tag_uids or ()),
        )


class LocationUpdate(RequestBody):
    """The SDK's `ILocationUpdate`: only what is sent changes. Coordinates replace an address
    and an address replaces coordinates (never both at once); `null` clears `customId` or
    `description`. Tags change through `…/organization-tag/{tagUid}`."""

    name: OmittableText = None
    coordinates: Annotated[CoordinatesIn | None, OMITTABLE] = None
    address: OmittableText = None
    custom_id: Text | None = None
    description: Note | None = None

    def changes(self) -> LocationChanges:
        sent = {name: getattr(self, name) for name in self.model_fields_set}
        sent.pop("coordinates", None)
        sent.pop("address", None)
        place = place_of(_coordinates(self.coordinates), self.address)
        if place is not None:
            sent["place"] = place
        return LocationChanges(**sent)


class TagAssignment(RequestBody):
    """The SDK sends `{}`."""


class PointOut(ResponseBody):
    type: Literal["Point"]
    coordinates: Annotated[
        list[float], Field(min_length=2, max_length=2, description="[longitude, latitude]")
    ]


class FeatureOut(ResponseBody):
    """A GeoJSON Feature. A location known by its address only has a null `geometry`
    (provisio does not geocode); `properties.address` is its address."""

    type: Literal["Feature"]
    geometry: PointOut | None
    properties: dict[str, str]


class LocationOut(EntryOut):
    feature: FeatureOut
    custom_id: LeftOut = None
    description: LeftOut = None
    tag_uids: list[str]
    attachments: list[str] = Field(description="Always empty: provisio keeps no attachments")

    @classmethod
    def of(cls, location: Entry[LocationSpec]) -> "LocationOut":
        spec = location.spec
        place = spec.place
        geometry = None
        properties: dict[str, str] = {}
        if isinstance(place, Coordinates):
            geometry = PointOut(type="Point", coordinates=[place.long, place.lat])
        elif place is not None:
            properties["address"] = place.text
        return cls(
            **cls.shared(location),
            feature=FeatureOut(type="Feature", geometry=geometry, properties=properties),
            custom_id=spec.custom_id,
            description=spec.description,
            tag_uids=list(spec.tag_uids),
            attachments=[],
        )
