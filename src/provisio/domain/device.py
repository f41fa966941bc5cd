"""The device aggregate: a physical device's identity, its organization and configuration."""

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

from provisio.domain.aggregate import Actor, Aggregate
from provisio.domain.errors import FieldProblem, InvalidInput, NotFound
from provisio.domain.events import DevicePaired, DeviceUnpaired
from provisio.domain.identifiers import (
    brand_key,
    canonical_mac,
    check_keyable,
    clean_serial,
    serial_key,
)
from provisio.domain.recipe import MAX_TAGS, MAX_TEXT, RecipeSpec

MAX_MACS = 16
"""MACs one registration may report."""
MAX_KNOWN_MACS = 32
"""MACs a device keeps: the first ones it reported (randomised Wi-Fi MACs must not pile up)."""
VERIFICATION_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"
"""Crockford's base32 without I, L, O and U: easy to read off a screen and type."""
VERIFICATION_LENGTH = 8
RECIPE_POLICY_PRIORITY = 1
"""The priority of the policy a recipe gives its device."""


def new_verification_hash() -> str:
    """The code an unpaired device shows so that someone can pair it (40 random bits)."""
    return "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_LENGTH))


def normalise_verification_hash(raw: str) -> str:
    """Codes are typed by people: case and surrounding blanks do not matter."""
    return raw.strip().upper()


@dataclass(frozen=True)
class DeviceReport:
    """What a device says about itself when it registers, in canonical form."""

    brand: str
    model: str | None = None
    serial_number: str | None = None
    mac_addresses: tuple[str, ...] = ()
    firmware_version: str | None = None

    @classmethod
    def of(
        cls,
        brand: str,
        model: str | None = None,
        serial_number: str | None = None,
        mac_addresses: Sequence[str] = (),
        firmware_version: str | None = None,
    ) -> "DeviceReport":
        problems: list[FieldProblem] = []
        macs: list[str] = []
        for raw in mac_addresses:
            try:
                mac = canonical_mac(raw, "macAddresses")
            except InvalidInput as error:
                problems.extend(error.details)
                continue
            if mac not in macs:
                macs.append(mac)
        if len(macs) > MAX_MACS:
            problems.append(FieldProblem("macAddresses", f"must list at most {MAX_MACS}"))
        serial = None
        if serial_number is not None:
            try:
                serial = check_keyable(clean_serial(serial_number), serial_key(serial_number))
            except InvalidInput as error:
                problems.extend(error.details)
            except ValueError as error:
                problems.append(FieldProblem("serialNumber", str(error)))
        try:
            check_keyable(brand, brand_key(brand))
        except ValueError as error:
            problems.append(FieldProblem("brand", str(error)))
        if serial is None and not macs and not problems:
            problems.append(FieldProblem("serialNumber", "serialNumber or macAddresses is needed"))
        for name, text in (
            ("brand", brand),
            ("model", model),
            ("firmwareVersion", firmware_version),
        ):
            if text is not None and not text.strip():
                problems.append(FieldProblem(name, "must not be blank"))
            elif text is not None and len(text.strip()) > MAX_TEXT:
                problems.append(FieldProblem(name, f"must be at most {MAX_TEXT} characters"))
        if problems:
            raise InvalidInput("invalid device registration", problems)
        return cls(
            brand=brand.strip(),
            model=model.strip() if model else None,
            serial_number=serial,
            mac_addresses=tuple(macs),
            firmware_version=firmware_version.strip() if firmware_version else None,
        )

    @property
    def brand_key(self) -> str:
        return brand_key(self.brand)

    @property
    def serial_key(self) -> str | None:
        return serial_key(self.serial_number) if self.serial_number else None


def generated_name(report: DeviceReport) -> str:
    """The name of a device nobody named: its brand and what identifies it (the serial number,
    else the first MAC), e.g. `samsung SN-0001`."""
    identifier = report.serial_number or next(iter(report.mac_addresses), None)
    return report.brand if identifier is None else f"{report.brand} {identifier}"


@dataclass(frozen=True)
class PolicyAssignment:
    """A policy on a device. provisio keeps `priority` for the fleet's agents, which decide what
    it means when policies overlap."""

    policy_uid: str
    priority: int
    assigned_at: datetime

    @property
    def order(self) -> tuple[int, datetime, str]:
        """A device's policies are kept and listed in this order."""
        return self.priority, self.assigned_at, self.policy_uid


@dataclass(frozen=True)
class Configuration:
    """What an organization sets on its device: from a recipe, then by its operators. `name` is
    the name someone gave it (None: the device shows a generated one)."""

    name: str | None = None
    tag_uids: tuple[str, ...] = ()
    policies: tuple[PolicyAssignment, ...] = ()
    location_uid: str | None = None

    @classmethod
    def of(cls, spec: RecipeSpec, now: datetime) -> "Configuration":
        policies = (
            ()
            if spec.policy_uid is None
            else (PolicyAssignment(spec.policy_uid, RECIPE_POLICY_PRIORITY, now),)
        )
        return cls(spec.device_name, spec.tag_uids, policies, spec.location_uid)

    def policy(self, policy_uid: str) -> PolicyAssignment | None:
        return next((p for p in self.policies if p.policy_uid == policy_uid), None)


@dataclass
class Device(Aggregate):
    """A registered device. Unpaired devices belong to no organization and show a code."""

    uid: str
    report: DeviceReport
    verification_hash: str
    created_at: datetime
    updated_at: datetime
    organization_uid: str | None = None
    configuration: Configuration = Configuration()
    recipe_uid: str | None = None
    paired_at: datetime | None = None

    @classmethod
    def first_registration(
        cls, uid: str, report: DeviceReport, free_macs: Sequence[str], code: str, now: datetime
    ) -> "Device":
        """A device seen for the first time; MACs another device holds stay with it."""
        macs = tuple(mac for mac in report.mac_addresses if mac in free_macs)
        return cls(uid, replace(report, mac_addresses=macs), code, now, now)

    @property
    def paired(self) -> bool:
        return self.organization_uid is not None

    @property
    def name(self) -> str:
        """The name it was given, else one made of what identifies it (made when read, so it
        follows what the device reports)."""
        return self.configuration.name or generated_name(self.report)

    def registered(self, report: DeviceReport, free_macs: Sequence[str], now: datetime) -> None:
        """Take in what the device now reports. MACs another device holds stay with it, and a
        known serial number is never overwritten (it is how the device was found)."""
        macs = self.report.mac_addresses + tuple(
            mac for mac in report.mac_addresses if mac in free_macs
        )
        self.report = replace(
            report,
            brand=self.report.brand,
            serial_number=self.report.serial_number or report.serial_number,
            mac_addresses=tuple(dict.fromkeys(macs))[:MAX_KNOWN_MACS],
            model=report.model or self.report.model,
            firmware_version=report.firmware_version or self.report.firmware_version,
        )
        self.updated_at = now

    def pair(self, actor: Actor, now: datetime) -> None:
        """Join the actor's organization; DevicePaired carries the code the device had."""
        self.organization_uid = actor.owner.organization_uid
        self.paired_at = self.updated_at = now
        self._record(
            DevicePaired(
                type="Device.Verification.DevicePaired",
                owner=actor.owner,
                originator=actor.originator,
                device_identity_hash=self.uid,
                verification_hash=self.verification_hash,
            )
        )

    def unpair(self, actor: Actor, new_hash: str, now: datetime) -> None:
        """Leave the organization: its configuration goes, and the device shows a new code."""
        self.organization_uid = None
        self.configuration = Configuration()
        self.recipe_uid = None
        self.paired_at = None
        self.verification_hash = new_hash
        self.updated_at = now
        self._record(
            DeviceUnpaired(
                type="Device.Verification.DeviceUnpaired",
                owner=actor.owner,
                originator=actor.originator,
                device_identity_hash=self.uid,
                verification_hash=new_hash,
            )
        )

    def configure(self, configuration: Configuration, recipe_uid: str, now: datetime) -> None:
        """Take the configuration of the recipe applied to it, in place of everything set
        before."""
        self.configuration = configuration
        self.recipe_uid = recipe_uid
        self.updated_at = now

    def rename(self, name: str, now: datetime) -> None:
        self._reconfigure(now, name=name.strip())

    def assign_location(self, location_uid: str, now: datetime) -> None:
        self._reconfigure(now, location_uid=location_uid)

    def unassign_location(self, location_uid: str | None, now: datetime) -> None:
        """Remove its location: the given one, or whichever it has (None)."""
        current = self.configuration.location_uid
        if current is None or location_uid not in (None, current):
            raise NotFound("the device has no such location")
        self._reconfigure(now, location_uid=None)

    def add_tag(self, tag_uid: str, now: datetime) -> None:
        tags = self.configuration.tag_uids
        if tag_uid in tags:
            return
        if len(tags) >= MAX_TAGS:
            raise InvalidInput.of("tagUid", f"a device has at most {MAX_TAGS} tags")
        self._reconfigure(now, tag_uids=(*tags, tag_uid))

    def remove_tag(self, tag_uid: str, now: datetime) -> None:
        tags = self.configuration.tag_uids
        if tag_uid not in tags:
            raise NotFound("the device has no such tag")
        self._reconfigure(now, tag_uids=tuple(tag for tag in tags if tag != tag_uid))

    def policy(self, policy_uid: str) -> PolicyAssignment:
        found = self.configuration.policy(policy_uid)
        if found is None:
            raise NotFound("the device has no such policy")
        return found

    def assign_policy(self, policy_uid: str, priority: int, now: datetime) -> bool:
        """Assign the policy, or give an assigned one its new priority (it keeps the time it
        was assigned). Whether it was new."""
        current = self.configuration.policy(policy_uid)
        if current is not None and current.priority == priority:
            return False
        assigned = (
            PolicyAssignment(policy_uid, priority, now)
            if current is None
            else replace(current, priority=priority)
        )
        self._set_policies(now, [*self._policies_but(policy_uid), assigned])
        return current is None

    def unassign_policy(self, policy_uid: str, now: datetime) -> None:
        self.policy(policy_uid)
        self._set_policies(now, self._policies_but(policy_uid))

    def _policies_but(self, policy_uid: str) -> list[PolicyAssignment]:
        return [p for p in self.configuration.policies if p.policy_uid != policy_uid]

    def _set_policies(self, now: datetime, policies: Iterable[PolicyAssignment]) -> None:
        self._reconfigure(now, policies=tuple(sorted(policies, key=attrgetter("order"))))

    def _reconfigure(self, now: datetime, **changes: Any) -> None:
        """Change what operators set; a change to what it already is changes nothing."""
        configuration = replace(self.configuration, **changes)
        if configuration != self.configuration:
            self.configuration = configuration
            self.updated_at = now
