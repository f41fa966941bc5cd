"""The provisioning recipe aggregate: its rules, and the events each change records."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from provisio.domain.aggregate import Actor, Aggregate
from provisio.domain.brands import BrandRules
from provisio.domain.errors import Conflict, FieldProblem, InvalidInput
from provisio.domain.events import (
    ProvisioningRecipeCreated,
    ProvisioningRecipeDeleted,
    ProvisioningRecipeStatusUpdated,
    ProvisioningRecipeUpdated,
    RegisterWarning,
)
from provisio.domain.identifiers import (
    brand_key,
    canonical_mac,
    check_keyable,
    clean_serial,
    serial_key,
)
from provisio.domain.ids import is_uid
from provisio.domain.status import RecipeStatus

MAX_TEXT = 255
MAX_TAGS = 100


@dataclass(frozen=True)
class RecipeSpec:
    """What a client may set on a recipe; always held in canonical form."""

    brand: str
    model: str | None = None
    serial_number: str | None = None
    mac_address: str | None = None
    device_name: str | None = None
    tag_uids: tuple[str, ...] = ()
    policy_uid: str | None = None
    location_uid: str | None = None
    confirmed_ownership: bool = False


SPEC_FIELDS: Mapping[str, str] = {
    "brand": "brand",
    "model": "model",
    "serialNumber": "serial_number",
    "macAddress": "mac_address",
    "deviceName": "device_name",
    "tagUids": "tag_uids",
    "policyUid": "policy_uid",
    "locationUid": "location_uid",
    "confirmedOwnership": "confirmed_ownership",
}
"""Wire name → attribute name of every client-settable field."""


def _text(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty (send null to clear)")
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return text


def _uid(value: Any) -> str:
    if not isinstance(value, str) or not is_uid(value):
        raise ValueError("must be a uid of 32 lowercase hex characters")
    return value


def _tags(value: Any) -> tuple[str, ...]:
    tags = tuple(_uid(tag) for tag in value)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"must list at most {MAX_TAGS} tags")
    if len(set(tags)) != len(tags):
        raise ValueError("must not list a tag twice")
    return tags


def _mac(value: Any) -> str:
    return canonical_mac(str(value))


def _serial(value: Any) -> str:
    serial = _text(clean_serial(str(value)))
    return check_keyable(serial, serial_key(serial))


def _brand(value: Any) -> str:
    brand = _text(value)
    return check_keyable(brand, brand_key(brand))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


_CLEANERS: Mapping[str, Callable[[Any], Any]] = {
    "brand": _brand,
    "model": _text,
    "serial_number": _serial,
    "mac_address": _mac,
    "device_name": _text,
    "tag_uids": _tags,
    "policy_uid": _uid,
    "location_uid": _uid,
    "confirmed_ownership": _flag,
}
_NOT_CLEARABLE = {"brand", "confirmed_ownership"}


def clean_changes(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate wire-named fields into canonical attribute values; every bad field is reported.

    `None` clears an optional field (an empty tag list is the cleared value of `tagUids`).
    """
    cleaned: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for wire_name, value in raw.items():
        attr = SPEC_FIELDS.get(wire_name)
        if attr is None:
            problems.append(FieldProblem(wire_name, "is not a recipe field"))
            continue
        if value is None:
            if attr in _NOT_CLEARABLE:
                problems.append(FieldProblem(wire_name, "must not be null"))
            else:
                cleaned[attr] = () if attr == "tag_uids" else None
            continue
        try:
            cleaned[attr] = _CLEANERS[attr](value)
        except InvalidInput as error:
            problems.extend(error.details)
        except (ValueError, TypeError) as error:
            problems.append(FieldProblem(wire_name, str(error)))
    if problems:
        raise InvalidInput("invalid recipe fields", problems)
    return cleaned


def build_spec(raw: Mapping[str, Any], rules: BrandRules) -> RecipeSpec:
    """A complete, checked spec from a create body."""
    cleaned = clean_changes(raw)
    if "brand" not in cleaned:
        raise InvalidInput.of("brand", "is required")
    spec = RecipeSpec(**cleaned)
    rules.check(spec.brand, spec.serial_number, spec.mac_address)
    return spec


@dataclass
class Recipe(Aggregate):
    """A pre-registered device's provisioning instructions. Every change records its events."""

    uid: str
    organization_uid: str
    spec: RecipeSpec
    created_at: datetime
    updated_at: datetime
    status: RecipeStatus = RecipeStatus.PENDING
    error_message: str | None = None
    warning_message: str | None = None
    device_uid: str | None = None
    last_device_uid: str | None = None
    version: int = 1

    @property
    def brand_key(self) -> str:
        return brand_key(self.spec.brand)

    @property
    def serial_key(self) -> str | None:
        return serial_key(self.spec.serial_number) if self.spec.serial_number else None

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def ensure_editable(self) -> None:
        if self.status is RecipeStatus.APPLIED:
            raise Conflict("an Applied recipe is read-only")

    def spec_with(self, changes: Mapping[str, Any]) -> RecipeSpec:
        """The spec these cleaned changes would give."""
        return replace(self.spec, **changes)

    @classmethod
    def create(
        cls, uid: str, organization_uid: str, spec: RecipeSpec, now: datetime, actor: Actor
    ) -> "Recipe":
        recipe = cls(uid, organization_uid, spec, created_at=now, updated_at=now)
        recipe._record(
            ProvisioningRecipeCreated(
                type="Device.ProvisioningRecipeCreated", **recipe._state(actor)
            )
        )
        return recipe

    def update(
        self,
        changes: Mapping[str, Any],
        rules: BrandRules,
        now: datetime,
        actor: Actor,
        *,
        vanished: str | None = None,
    ) -> bool:
        """Apply cleaned changes; records Updated only if the stored state really changed.

        `vanished` names the references that still point at nothing after the edit: an Invalid
        recipe with none left returns to Pending, otherwise its errorMessage says what is left.
        """
        self.ensure_editable()
        spec = self.spec_with(changes)
        rules.check(spec.brand, spec.serial_number, spec.mac_address)
        if spec == self.spec:
            return False
        self.spec = spec
        status, error = self.status, self.error_message
        if status is RecipeStatus.INVALID:
            status = RecipeStatus.INVALID if vanished else RecipeStatus.PENDING
            error = vanished
        self._transition(status, error, self.warning_message, now, actor, changed=True)
        return True

    def retry(self, now: datetime, actor: Actor) -> None:
        """Failed → Pending, so the next registration of the device tries again."""
        if self.status is not RecipeStatus.FAILED:
            raise Conflict(f"only a Failed recipe can be retried; this one is {self.status}")
        self._transition(RecipeStatus.PENDING, None, self.warning_message, now, actor)

    def warn(self, message: str, now: datetime, actor: Actor) -> None:
        """A registration matched this recipe but could not apply it; the status stays."""
        self._transition(self.status, self.error_message, message, now, actor)

    def fail(self, device_uid: str, message: str, now: datetime, actor: Actor) -> None:
        """The device that registered does not fit the recipe (e.g. another model)."""
        self.last_device_uid = device_uid
        self._transition(RecipeStatus.FAILED, message, None, now, actor)

    def invalidate(self, device_uid: str, message: str, now: datetime, actor: Actor) -> None:
        """The recipe references a tag, policy or location that no longer exists."""
        self.last_device_uid = device_uid
        self._transition(RecipeStatus.INVALID, message, None, now, actor)

    def apply(self, device_uid: str, now: datetime, actor: Actor) -> None:
        """The device got what the recipe says; from now on the recipe is read-only."""
        self.last_device_uid = device_uid
        self.device_uid = device_uid
        self._transition(RecipeStatus.APPLIED, None, None, now, actor)

    def _transition(
        self,
        status: RecipeStatus,
        error: str | None,
        warning: str | None,
        now: datetime,
        actor: Actor,
        *,
        changed: bool = False,
    ) -> None:
        """Set status and messages; records Updated if the stored state changed (`changed`:
        the caller already changed it), then StatusUpdated if the status did."""
        previous = self.status
        if not changed and (status, error, warning) == (
            self.status,
            self.error_message,
            self.warning_message,
        ):
            return
        self.status, self.error_message, self.warning_message = status, error, warning
        self._touch(now)
        self._record_updated(actor)
        if status is not previous:
            self._record_status(actor)

    def delete(self, actor: Actor) -> None:
        self._record(
            ProvisioningRecipeDeleted(
                type="Device.ProvisioningRecipeDeleted",
                owner=actor.owner,
                originator=actor.originator,
                uid=self.uid,
                organization_uid=self.organization_uid,
                status=self.status,
                brand=self.spec.brand,
                serial_number=self.spec.serial_number,
                mac_address=self.spec.mac_address,
                model=self.spec.model,
            )
        )

    def _record_updated(self, actor: Actor) -> None:
        self._record(
            ProvisioningRecipeUpdated(type="Device.ProvisioningRecipeUpdated", **self._state(actor))
        )

    def _record_status(self, actor: Actor) -> None:
        # Statuses other than Pending are set by a device's attempt, which names the device.
        assert self.last_device_uid is not None, "a status change with no device involved"
        self._record(
            ProvisioningRecipeStatusUpdated(
                type="Device.ProvisioningRecipeStatusUpdated",
                owner=actor.owner,
                originator=actor.originator,
                uid=self.uid,
                device_identity_hash=self.last_device_uid,
                status=self.status,
            )
        )

    def _touch(self, now: datetime) -> None:
        self.updated_at = now
        self.version += 1

    def _state(self, actor: Actor) -> dict[str, Any]:
        """The recipe's full state as event fields; unset values stay None and are omitted."""
        spec = self.spec
        warning = (
            RegisterWarning(warning_message=self.warning_message) if self.warning_message else None
        )
        return {
            "owner": actor.owner,
            "originator": actor.originator,
            "uid": self.uid,
            "organization_uid": self.organization_uid,
            "status": self.status,
            "confirmed_ownership": spec.confirmed_ownership,
            "serial_number": spec.serial_number,
            "mac_address": spec.mac_address,
            "model": spec.model,
            "brand": spec.brand,
            "tag_uids": list(spec.tag_uids) or None,
            "device_name": spec.device_name,
            "policy_uid": spec.policy_uid,
            "location_uid": spec.location_uid,
            "unsuccessful_register_attempt_status": warning,
            "error_message": self.error_message,
        }
