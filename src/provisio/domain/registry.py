"""The organization's tags, policies and locations, which recipes (and devices) reference.

Each kind is an `Entry` holding what clients set on it, its spec (`TagSpec`, `PolicySpec`,
`LocationSpec`, in signageOS's shapes). A partial update is a typed changes value whose
fields are `UNSET` unless the client sent them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final, Generic, TypeVar

from provisio.domain.errors import FieldProblem, InvalidInput, NotFound
from provisio.domain.recipe import MAX_TAGS, RecipeSpec

MAX_NOTE = 1000
"""Characters of free text: a policy's note, a location's description."""
MAX_POLICY_ITEMS = 1000
MAX_LOCATION_TAGS = MAX_TAGS


class RegistryKind(StrEnum):
    TAG = "tag"
    POLICY = "policy"
    LOCATION = "location"


@dataclass(frozen=True)
class TagSpec:
    name: str
    color: str | None = None
    parent_tag_uid: str | None = None
    """Another tag of the same organization; deleting it leaves this one without a parent."""


@dataclass(frozen=True)
class PolicyItem:
    """One setting of a policy; `value` is any JSON value, kept as sent."""

    type: str
    value: Any
    application_type: str | None = None


@dataclass(frozen=True)
class PolicySpec:
    name: str
    note: str | None = None
    items: tuple[PolicyItem, ...] = ()
    archived_at: datetime | None = None
    """Set by archiving. An archived policy is left out of lists but stays a valid reference."""


@dataclass(frozen=True)
class Coordinates:
    lat: float
    long: float


@dataclass(frozen=True)
class Address:
    text: str


Place = Coordinates | Address


@dataclass(frozen=True)
class LocationSpec:
    name: str
    place: Place | None = None
    """Coordinates or an address, never both. None only for a location created before
    locations had a place."""
    custom_id: str | None = None
    description: str | None = None
    tag_uids: tuple[str, ...] = ()
    """Tags of the same organization, in the order they were assigned."""


Spec = TypeVar("Spec", TagSpec, PolicySpec, LocationSpec)

KINDS: Final[dict[type[TagSpec | PolicySpec | LocationSpec], RegistryKind]] = {
    TagSpec: RegistryKind.TAG,
    PolicySpec: RegistryKind.POLICY,
    LocationSpec: RegistryKind.LOCATION,
}


@dataclass(frozen=True)
class Entry(Generic[Spec]):
    """A tag, policy or location of one organization."""

    uid: str
    organization_uid: str
    spec: Spec
    created_at: datetime
    updated_at: datetime

    @property
    def kind(self) -> RegistryKind:
        return KINDS[type(self.spec)]

    def changed(self, spec: Spec, now: datetime) -> "Entry[Spec]":
        return replace(self, spec=spec, updated_at=now)


class Unset(Enum):
    UNSET = "unset"


UNSET: Final = Unset.UNSET
"""A field a partial update did not send: it keeps its value (`None` clears it)."""


@dataclass(frozen=True)
class Changes:
    """What a partial update sets: the fields a kind's changes class declares, each UNSET
    unless it was sent."""

    def applied_to(self, spec: Spec) -> Spec:
        """The spec with every field that was sent replaced."""
        sent = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        return replace(spec, **{name: value for name, value in sent.items() if value is not UNSET})


@dataclass(frozen=True)
class TagChanges(Changes):
    name: str | Unset = UNSET
    color: str | Unset | None = UNSET
    parent_tag_uid: str | Unset | None = UNSET


@dataclass(frozen=True)
class PolicyChanges(Changes):
    name: str | Unset = UNSET
    note: str | Unset | None = UNSET
    items: tuple[PolicyItem, ...] | Unset = UNSET


@dataclass(frozen=True)
class LocationChanges(Changes):
    name: str | Unset = UNSET
    place: Place | Unset = UNSET
    custom_id: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    tag_uids: tuple[str, ...] | Unset = UNSET
    """Every tag at once (the console's form); the API changes them one by one."""


def place_of(coordinates: Coordinates | None, address: str | None) -> Place | None:
    """The place a body names with its `coordinates` and `address` fields: at most one of the
    two may be sent; None when neither is."""
    if coordinates is not None and address is not None:
        message = "send either coordinates or an address, not both"
        raise InvalidInput(message, [FieldProblem(f, message) for f in ("coordinates", "address")])
    if address is not None:
        return Address(address)
    return coordinates


def required_place(coordinates: Coordinates | None, address: str | None) -> Place:
    """A new location's place: exactly one of coordinates and address."""
    place = place_of(coordinates, address)
    if place is None:
        message = "send coordinates or an address"
        raise InvalidInput(message, [FieldProblem(f, message) for f in ("coordinates", "address")])
    return place


def check_parent(tag_uid: str, parent_uid: str, ancestors: Iterable[str]) -> None:
    """A tag's parent is neither the tag itself nor one of its descendants (whose ancestors
    include the tag)."""
    if parent_uid == tag_uid:
        raise InvalidInput.of("parentTagUid", "a tag cannot be its own parent")
    if tag_uid in ancestors:
        raise InvalidInput.of("parentTagUid", f"tag {parent_uid} is a descendant of this tag")


def archived(spec: PolicySpec, archive: bool, now: datetime) -> PolicySpec:
    """Archiving an archived policy keeps the moment it was first archived."""
    if not archive:
        return replace(spec, archived_at=None)
    return spec if spec.archived_at is not None else replace(spec, archived_at=now)


def distinct_tags(uids: Iterable[str]) -> tuple[str, ...]:
    tags = tuple(uids)
    if len(set(tags)) != len(tags):
        raise InvalidInput.of("tagUids", "must not list a tag twice")
    return tags


def with_tag(spec: LocationSpec, tag_uid: str) -> LocationSpec:
    if tag_uid in spec.tag_uids:
        return spec
    if len(spec.tag_uids) >= MAX_LOCATION_TAGS:
        raise InvalidInput.of("tagUid", f"a location has at most {MAX_LOCATION_TAGS} tags")
    return replace(spec, tag_uids=(*spec.tag_uids, tag_uid))


def without_tag(spec: LocationSpec, tag_uid: str) -> LocationSpec:
    if tag_uid not in spec.tag_uids:
        raise NotFound(f"tag {tag_uid} is not assigned to this location")
    return replace(spec, tag_uids=tuple(uid for uid in spec.tag_uids if uid != tag_uid))


@dataclass(frozen=True)
class Reference:
    """One uid a recipe field (or a tag's parent, a location's tags) points at."""

    field: str
    kind: RegistryKind
    uid: str

    def unknown(self) -> FieldProblem:
        return FieldProblem(self.field, f"no {self.kind} {self.uid} in this organization")

    def vanished(self) -> str:
        return f"{self.field}: {self.kind} {self.uid} no longer exists"


def refuse_unknown(missing: Sequence[Reference]) -> None:
    """422 naming every reference that points at nothing in the organization."""
    if missing:
        raise InvalidInput("unknown references", [reference.unknown() for reference in missing])


def vanished_message(missing: Iterable[Reference]) -> str | None:
    """What makes a recipe Invalid: each of its references that points at nothing any more."""
    return "; ".join(reference.vanished() for reference in missing) or None


def references(spec: RecipeSpec, fields: Iterable[str] | None = None) -> list[Reference]:
    """The references of a spec, optionally only those of some (wire-named) fields."""
    found = [Reference("tagUids", RegistryKind.TAG, uid) for uid in spec.tag_uids]
    if spec.policy_uid is not None:
        found.append(Reference("policyUid", RegistryKind.POLICY, spec.policy_uid))
    if spec.location_uid is not None:
        found.append(Reference("locationUid", RegistryKind.LOCATION, spec.location_uid))
    if fields is None:
        return found
    wanted = set(fields)
    return [reference for reference in found if reference.field in wanted]
