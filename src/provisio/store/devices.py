"""Device persistence: rows ↔ the Device aggregate, lookup by identity, code or uid."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from provisio.domain.device import Configuration, Device, DeviceReport, PolicyAssignment
from provisio.domain.errors import NotFound
from provisio.store.backend import Connection
from provisio.store.contention import Contended
from provisio.store.tables import device_macs, device_policies, devices

_NOT_FOUND = "device not found"
_UPDATE = update(devices).where(devices.c.uid == bindparam("stored_uid"))
"""Built once, run with the row as parameters (cheaper than `.values(row)` per call)."""
_BY_SERIAL = (
    select(devices)
    .where(
        devices.c.brand_key == bindparam("brand_key"),
        devices.c.serial_key == bindparam("serial_key"),
    )
    .with_for_update()
)
_BY_UID_LOCKED = select(devices).where(devices.c.uid == bindparam("uid")).with_for_update()
_MAC_HOLDERS = (
    select(device_macs.c.mac_address, devices.c.uid, devices.c.serial_key)
    .join(devices, devices.c.uid == device_macs.c.device_uid)
    .where(
        device_macs.c.brand_key == bindparam("brand_key"),
        device_macs.c.mac_address.in_(bindparam("macs", expanding=True)),
    )
    .order_by(devices.c.id)
)
"""The devices holding some of a report's MACs, the oldest first."""
_POLICIES = (
    select(device_policies)
    .where(device_policies.c.device_uid.in_(bindparam("uids", expanding=True)))
    .order_by(
        device_policies.c.priority, device_policies.c.assigned_at, device_policies.c.policy_uid
    )
)
"""The policies of some devices, each device's in the order the aggregate keeps them."""


class IdentityTaken(Contended):
    """A concurrent registration stored the same serial number, MAC or code first; running the
    use case again finds the device the other one stored."""


@dataclass(frozen=True)
class Identification:
    """The device a registration is about (None for a new one) and which of the MACs it
    reports other devices hold."""

    device: Device | None
    held_elsewhere: frozenset[str]


def _may_be(stored_serial_key: str | None, reported_serial_key: str | None) -> bool:
    """Whether a device found by a MAC may be the reporting one: a device known by another
    serial number is another device, whatever MAC it shares."""
    if reported_serial_key is None or stored_serial_key is None:
        return True
    return stored_serial_key == reported_serial_key


def _to_row(device: Device) -> dict[str, Any]:
    report, configuration = device.report, device.configuration
    return {
        "uid": device.uid,
        "brand": report.brand,
        "brand_key": report.brand_key,
        "model": report.model,
        "serial_number": report.serial_number,
        "serial_key": report.serial_key,
        "firmware_version": report.firmware_version,
        "verification_hash": device.verification_hash,
        "organization_uid": device.organization_uid,
        "name": configuration.name,
        "tag_uids": ",".join(configuration.tag_uids),
        "location_uid": configuration.location_uid,
        "recipe_uid": device.recipe_uid,
        "paired_at": device.paired_at,
        "created_at": device.created_at,
        "updated_at": device.updated_at,
    }


def _from_row(row: Row[Any], macs: Sequence[str], policies: Sequence[PolicyAssignment]) -> Device:
    return Device(
        uid=row.uid,
        report=DeviceReport(
            brand=row.brand,
            model=row.model,
            serial_number=row.serial_number,
            mac_addresses=tuple(macs),
            firmware_version=row.firmware_version,
        ),
        verification_hash=row.verification_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        organization_uid=row.organization_uid,
        configuration=Configuration(
            name=row.name,
            tag_uids=tuple(row.tag_uids.split(",")) if row.tag_uids else (),
            policies=tuple(policies),
            location_uid=row.location_uid,
        ),
        recipe_uid=row.recipe_uid,
        paired_at=row.paired_at,
    )


class DeviceRepository:
    """Loads and stores devices inside one transaction; remembers those it touched."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.seen: list[Device] = []
        self._stored_macs: dict[str, set[str]] = {}
        self._stored_policies: dict[str, tuple[PolicyAssignment, ...]] = {}

    async def identify(self, report: DeviceReport) -> Identification:
        """The device with the report's brand and serial number, else the one holding one of
        its MACs (locked for this transaction), and which of its MACs other devices hold.

        Who holds the MACs is read in one statement and decides both: read apart from the
        device, a device stored in between could hold every MAC of a new one, which would then
        be stored with no identity at all — a second record of one physical device.
        """
        found = None
        if report.serial_key is not None:
            found = await self._load_one(
                _BY_SERIAL, {"brand_key": report.brand_key, "serial_key": report.serial_key}
            )
        holders: list[Row[Any]] = []
        if report.mac_addresses:
            holders = list(
                await self._conn.execute(
                    _MAC_HOLDERS,
                    {"brand_key": report.brand_key, "macs": list(report.mac_addresses)},
                )
            )
        if found is None:
            uid = next(
                (row.uid for row in holders if _may_be(row.serial_key, report.serial_key)), None
            )
            if uid is not None:
                found = await self._load_one(_BY_UID_LOCKED, {"uid": uid})
                assert found is not None  # devices are never deleted
                if not _may_be(found.report.serial_key, report.serial_key):
                    raise IdentityTaken("the device took another serial number meanwhile")
        held = frozenset(
            row.mac_address for row in holders if found is None or row.uid != found.uid
        )
        return Identification(found, held)

    async def get(
        self, uid: str, organization_uids: Sequence[str], *, for_update: bool = False
    ) -> Device:
        """A device paired to one of the organizations (any other answers NotFound)."""
        query = select(devices).where(
            devices.c.uid == uid, devices.c.organization_uid.in_(organization_uids)
        )
        found = await self._load_one(query.with_for_update() if for_update else query)
        if found is None:
            raise NotFound(_NOT_FOUND)
        return found

    async def by_verification_hash(self, code: str) -> Device | None:
        return await self._load_one(
            select(devices).where(devices.c.verification_hash == code).with_for_update()
        )

    async def find(
        self, organization_uids: Sequence[str], after: int, limit: int
    ) -> list[tuple[int, Device]]:
        """One page of paired devices in registration order, keyed by the internal row id."""
        rows = list(
            await self._conn.execute(
                select(devices)
                .where(devices.c.organization_uid.in_(organization_uids), devices.c.id > after)
                .order_by(devices.c.id)
                .limit(limit)
            )
        )
        uids = [row.uid for row in rows]
        macs, policies = await self._macs(uids), await self._policies(uids)
        return [
            (row.id, _from_row(row, macs.get(row.uid, []), policies.get(row.uid, [])))
            for row in rows
        ]

    async def add(self, device: Device) -> None:
        await self._write(insert(devices), [_to_row(device)])
        self._stored_macs[device.uid] = set()
        self._stored_policies[device.uid] = ()
        await self._store_macs(device)
        await self._store_policies(device)
        self.seen.append(device)

    async def save(self, device: Device) -> None:
        await self._write(_UPDATE, [{**_to_row(device), "stored_uid": device.uid}])
        await self._store_macs(device)
        await self._store_policies(device)

    async def _store_macs(self, device: Device) -> None:
        stored = self._stored_macs[device.uid]
        # Sorted: two transactions inserting the same MACs take their index locks in one order.
        new = sorted(mac for mac in device.report.mac_addresses if mac not in stored)
        if new:
            await self._write(
                insert(device_macs),
                [
                    {
                        "device_uid": device.uid,
                        "brand_key": device.report.brand_key,
                        "mac_address": m,
                    }
                    for m in new
                ],
            )
            stored.update(new)

    async def _store_policies(self, device: Device) -> None:
        """Rewrite the device's policies when they changed (rarely: registrations leave them)."""
        policies = device.configuration.policies
        if policies == self._stored_policies[device.uid]:
            return
        await self._conn.execute(
            delete(device_policies).where(device_policies.c.device_uid == device.uid)
        )
        if policies:
            await self._write(
                insert(device_policies),
                [
                    {
                        "device_uid": device.uid,
                        "policy_uid": p.policy_uid,
                        "priority": p.priority,
                        "assigned_at": p.assigned_at,
                    }
                    for p in policies
                ],
            )
        self._stored_policies[device.uid] = policies

    async def _write(self, statement: Any, rows: list[dict[str, Any]] | None = None) -> None:
        try:
            await self._conn.execute(statement, rows)
        except IntegrityError as error:
            raise IdentityTaken("another device holds this identity") from error

    async def _load_one(
        self, query: Select[Any], params: dict[str, Any] | None = None
    ) -> Device | None:
        row = (await self._conn.execute(query, params)).first()
        if row is None:
            return None
        macs, policies = await self._macs([row.uid]), await self._policies([row.uid])
        device = _from_row(row, macs.get(row.uid, []), policies.get(row.uid, []))
        self._stored_macs[device.uid] = set(device.report.mac_addresses)
        self._stored_policies[device.uid] = device.configuration.policies
        self.seen.append(device)
        return device

    async def _macs(self, uids: Sequence[str]) -> dict[str, list[str]]:
        if not uids:
            return {}
        rows = await self._conn.execute(
            select(device_macs.c.device_uid, device_macs.c.mac_address)
            .where(device_macs.c.device_uid.in_(uids))
            .order_by(device_macs.c.id)
        )
        macs: dict[str, list[str]] = {}
        for row in rows:
            macs.setdefault(row.device_uid, []).append(row.mac_address)
        return macs

    async def _policies(self, uids: Sequence[str]) -> dict[str, list[PolicyAssignment]]:
        if not uids:
            return {}
        policies: dict[str, list[PolicyAssignment]] = {}
        for row in await self._conn.execute(_POLICIES, {"uids": list(uids)}):
            assignment = PolicyAssignment(row.policy_uid, row.priority, row.assigned_at)
            policies.setdefault(row.device_uid, []).append(assignment)
        return policies
