"""The measured work, written once for both engines.

Each scenario runs provisio's public use case and a bare-driver reference doing the same
transaction shape against the same database, alternating which goes first from round to round so
that table growth and cache warmth do not favour one side.
"""

import asyncio
import gc
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from time import perf_counter
from typing import Any

from bench.engines import Database, RawConnection, RawPool
from bench.report import Comparison, Sample
from provisio.domain.brands import BrandRules
from provisio.domain.device import DeviceReport
from provisio.service import tenancy
from provisio.service.bulk_import import BulkRow, bulk_create
from provisio.service.devices import register_device
from provisio.service.recipes import create_recipe, update_recipe
from provisio.service.tenancy import Principal
from provisio.store.migrate import migrate
from provisio.store.unit_of_work import Store

RULES = BrandRules()
UPDATED = "Device.ProvisioningRecipeUpdated"
CREATED = "Device.ProvisioningRecipeCreated"

Operation = Callable[[int], Awaitable[None]]
"""One measured call, given the number of the writer making it."""


@dataclass(frozen=True)
class Owner:
    """Whose events a reference transaction writes: what an envelope's owner and originator say."""

    organization_uid: str
    company_uid: str
    account_id: int

    def event_body(
        self, event_type: str, payload: Mapping[str, Any], *, by_system: bool = False
    ) -> bytes:
        """A full-state envelope like provisio's, built the cheapest way (one json.dumps).

        `by_system`: nobody's token caused the event (a device registering), so, as in
        provisio's, the payload has no originator.
        """
        originator = {"accountId": self.account_id, "organizationUid": self.organization_uid}
        envelope = {
            "id": str(uuid.uuid4()),
            "kind": "domain",
            "type": event_type,
            "payload": {
                "owner": {
                    "ownershipType": "organization",
                    "organizationUid": self.organization_uid,
                    "parentCompanyUid": self.company_uid,
                },
                **({} if by_system else {"originator": originator}),
                "type": event_type,
                **payload,
            },
        }
        return json.dumps(envelope, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Tenant(Owner):
    """A bootstrapped company whose organization token every provisio call acts with."""

    store: Store
    principal: Principal

    @classmethod
    async def create(cls, store: Store) -> "Tenant":
        made = await tenancy.bootstrap(store, "Bench Co", "Bench Lobby")
        principal = await tenancy.authenticate(store, made.token.header)
        return cls(
            made.organization_uid, principal.company_uid, principal.account_id, store, principal
        )


async def _run(operation: Operation, writers: int, per_writer: int) -> Sample:
    """`writers` tasks each make `per_writer` calls back to back; every call is timed."""
    latencies: list[float] = []

    async def writer(number: int) -> None:
        for _ in range(per_writer):
            started = perf_counter()
            await operation(number)
            latencies.append(perf_counter() - started)

    gc.collect()
    started = perf_counter()
    await asyncio.gather(*(writer(n) for n in range(writers)))
    return Sample(writers * per_writer, perf_counter() - started, latencies)


async def _alternate(
    reference: Callable[[], Awaitable[Sample]],
    subject: Callable[[], Awaitable[Sample]],
    rounds: int,
) -> tuple[Sample, Sample]:
    """Run both sides `rounds` times, swapping which goes first each round."""
    measured: dict[str, list[Sample]] = {"reference": [], "provisio": []}
    sides = [("reference", reference), ("provisio", subject)]
    for round_number in range(rounds):
        for side, run in sides if round_number % 2 == 0 else sides[::-1]:
            measured[side].append(await run())
    return Sample.merge(measured["reference"]), Sample.merge(measured["provisio"])


# --- single recipe update -------------------------------------------------------------------

_SELECT_RECIPE = "SELECT * FROM recipes WHERE uid = $1 AND organization_uid = $2"
_UPDATE_RECIPE = "UPDATE recipes SET device_name = $1, version = $2, updated_at = $3 WHERE id = $4"
_INSERT_EVENT = (
    "INSERT INTO events (event_id, organization_uid, type, subject_uid, body, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


async def raw_update(conn: RawConnection, tenant: Owner, uid: str, device_name: str) -> None:
    """The raw limit of one update: lock and read the row, write it, append its event, commit."""
    now = datetime.now(UTC)
    await conn.begin()
    try:
        row = await conn.fetch_one(_SELECT_RECIPE + conn.row_lock, uid, tenant.organization_uid)
        if row is None:
            raise LookupError(f"no recipe {uid}")
        version = row["version"] + 1
        await conn.execute(_UPDATE_RECIPE, device_name, version, conn.timestamp(now), row["id"])
        body = tenant.event_body(
            UPDATED,
            {
                "uid": uid,
                "organizationUid": row["organization_uid"],
                "status": row["status"],
                "confirmedOwnership": bool(row["confirmed_ownership"]),
                "serialNumber": row["serial_number"],
                "brand": row["brand"],
                "deviceName": device_name,
            },
        )
        await conn.execute(
            _INSERT_EVENT,
            str(uuid.uuid4()),
            tenant.organization_uid,
            UPDATED,
            uid,
            body,
            conn.timestamp(now),
        )
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise


async def _seed(tenant: Tenant, count: int, prefix: str) -> list[str]:
    """`count` recipes (one per writer, so writers never wait on each other's row lock)."""
    return [
        (
            await create_recipe(
                tenant.store,
                tenant.principal,
                {"brand": "LG", "serialNumber": f"{prefix}-{n}", "deviceName": "seed"},
                RULES,
            )
        ).uid
        for n in range(count)
    ]


WARM_UP = 2
"""Unmeasured calls per writer and side before the rounds: connections, statement caches."""

RawOperation = Callable[[RawConnection, int], Awaitable[None]]
"""One reference transaction on a pooled bare connection, given the number of the writer."""


async def _compare_calls(
    database: Database,
    benchmark: str,
    writers: int,
    per_writer: int,
    rounds: int,
    raw: RawOperation,
    subject: Operation,
) -> Comparison:
    """`writers` concurrent writers per side, `per_writer` calls each per round, after a
    warm-up; the reference's writers share a pool of up to `writers` bare connections."""
    pool = await RawPool.open(database, writers)

    async def reference(writer: int) -> None:
        async with pool.connection() as conn:
            await raw(conn, writer)

    try:
        await _run(reference, writers, WARM_UP)
        await _run(subject, writers, WARM_UP)
        measured = await _alternate(
            lambda: _run(reference, writers, per_writer),
            lambda: _run(subject, writers, per_writer),
            rounds,
        )
    finally:
        await pool.close()
    return Comparison(benchmark, database.engine, writers, "ops/s", *measured)


async def compare_updates(
    database: Database, tenant: Tenant, writers: int, updates: int, rounds: int
) -> Comparison:
    """`updates` single-recipe updates per side, split over `writers` concurrent writers."""
    provisio_uids = await _seed(tenant, writers, f"UPD-P{writers}")
    raw_uids = await _seed(tenant, writers, f"UPD-R{writers}")
    names = itertools.count()

    async def provisio_update(writer: int) -> None:
        body = {"deviceName": f"screen {next(names)}"}
        await update_recipe(tenant.store, tenant.principal, provisio_uids[writer], body, RULES)

    async def reference_update(conn: RawConnection, writer: int) -> None:
        await raw_update(conn, tenant, raw_uids[writer], f"screen {next(names)}")

    per_writer = max(1, updates // (writers * rounds))
    return await _compare_calls(
        database, "recipe update", writers, per_writer, rounds, reference_update, provisio_update
    )


# --- bulk import ----------------------------------------------------------------------------

_RECIPE_COLUMNS = (
    "uid, organization_uid, status, brand, brand_key, model, serial_number, serial_key,"
    " mac_address, device_name, tag_uids, confirmed_ownership, version, created_at, updated_at"
)
_INSERT_RECIPE = (
    f"INSERT INTO recipes ({_RECIPE_COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)


_batches = itertools.count()
"""Every set of recipe rows made in a run gets its own batch number, so no two sets share a
serial number or MAC (a registering device would otherwise match recipes of several sets)."""


def bulk_fields(count: int) -> list[dict[str, Any]]:
    """`count` valid rows, half serial-numbered LGs, half MAC-addressed Androids, unique in
    the run so repeated imports never clash on a live device."""
    batch = next(_batches)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        fields: dict[str, Any] = {"model": "UH5F", "deviceName": f"Screen {batch}-{n}"}
        if n % 2:
            mac = f"02{batch:04x}{n:06x}"
            fields.update(
                brand="Android",
                macAddress=":".join(mac[i : i + 2] for i in (0, 2, 4, 6, 8, 10)).upper(),
            )
        else:
            fields.update(brand="LG", serialNumber=f"SN-{batch}-{n:06d}")
        fields["confirmedOwnership"] = True
        rows.append(fields)
    return rows


async def _raw_bulk(conn: RawConnection, tenant: Tenant, rows: Sequence[Mapping[str, Any]]) -> None:
    """The raw limit of an import: every recipe row and its Created event, two executemany calls,
    one transaction."""
    when = conn.timestamp(datetime.now(UTC))
    recipes: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    for fields in rows:
        uid = uuid.uuid4().hex
        serial = fields.get("serialNumber")
        recipes.append(
            (
                uid,
                tenant.organization_uid,
                "Pending",
                fields["brand"],
                fields["brand"].lower(),
                fields["model"],
                serial,
                serial.lower() if serial else None,
                fields.get("macAddress"),
                fields["deviceName"],
                "",
                fields["confirmedOwnership"],
                1,
                when,
                when,
            )
        )
        body = tenant.event_body(
            CREATED,
            {"uid": uid, "organizationUid": tenant.organization_uid, "status": "Pending", **fields},
        )
        events.append((str(uuid.uuid4()), tenant.organization_uid, CREATED, uid, body, when))
    await conn.begin()
    try:
        await conn.execute_many(_INSERT_RECIPE, recipes)
        await conn.execute_many(_INSERT_EVENT, events)
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise


def _stream(rows: Sequence[Mapping[str, Any]]) -> Iterator[BulkRow]:
    return (BulkRow(number, fields) for number, fields in enumerate(rows, start=1))


async def import_recipes(tenant: Tenant, fields: Sequence[Mapping[str, Any]]) -> None:
    """provisio's atomic bulk import of `fields` into the tenant's organization."""
    stream = _stream(fields)
    result = await bulk_create(tenant.store, tenant.principal, stream, RULES, atomic=True)
    if result.created != len(fields):  # a refused row would flatter provisio's rate
        raise RuntimeError(f"bulk import refused rows: {result.failed[:3]}")


# --- device registration --------------------------------------------------------------------

STATUS_UPDATED = "Device.ProvisioningRecipeStatusUpdated"
PAIRED = "Device.Verification.DevicePaired"


@dataclass(frozen=True)
class Registering:
    """What a new device reports when it registers: exactly one Pending recipe matches it."""

    brand: str
    model: str
    serial_number: str | None
    mac_addresses: tuple[str, ...]

    @classmethod
    def matching(cls, recipe: Mapping[str, Any]) -> "Registering":
        """The device a recipe of `bulk_fields` is for. A MAC-identified device also reports a
        second interface (wired and wireless) that the recipe does not name."""
        mac = recipe.get("macAddress")
        macs = (mac, "06" + mac[2:]) if mac else ()
        return cls(recipe["brand"], recipe["model"], recipe.get("serialNumber"), macs)

    def report(self) -> DeviceReport:
        return DeviceReport.of(
            brand=self.brand,
            model=self.model,
            serial_number=self.serial_number,
            mac_addresses=self.mac_addresses,
        )


async def _pending(tenant: Tenant, count: int) -> Iterator[Registering]:
    """`count` devices to register, each with its Pending recipe already stored (through
    provisio, off the clock)."""
    fields = bulk_fields(count)
    await import_recipes(tenant, fields)
    return iter([Registering.matching(recipe) for recipe in fields])


@cache
def _registration_sql(by_serial: bool, macs: int) -> tuple[str, str]:
    """The device lookup and the candidate-recipe lookup (provisio's predicates) for a device
    identified by brand key ($1) and its serial key ($2) or its `macs` MAC addresses ($2…)."""
    if by_serial:
        device = "SELECT * FROM devices WHERE brand_key = $1 AND serial_key = $2"
        match = "serial_key || brand_key = $2 || $1"
    else:
        listed = ", ".join(f"${n}" for n in range(2, 2 + macs))
        device = (
            "SELECT * FROM devices WHERE uid IN (SELECT device_uid FROM device_macs"
            f" WHERE brand_key = $1 AND mac_address IN ({listed})) ORDER BY id LIMIT 1"
        )
        keyed = ", ".join(f"${n} || $1" for n in range(2, 2 + macs))
        match = f"mac_address || brand_key IN ({keyed})"
    recipes = (  # keyed by identifier and brand together, as provisio's indexes are
        f"SELECT * FROM recipes WHERE status IN ('Pending', 'Failed') AND {match} ORDER BY id"
    )
    return device, recipes


_DEVICE_COLUMNS = (
    "uid, brand, brand_key, model, serial_number, serial_key, verification_hash,"
    " organization_uid, name, tag_uids, recipe_uid, paired_at, created_at, updated_at"
)
_INSERT_DEVICE = (
    f"INSERT INTO devices ({_DEVICE_COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
)
_INSERT_DEVICE_MAC = (
    "INSERT INTO device_macs (device_uid, brand_key, mac_address) VALUES ($1, $2, $3)"
)
_APPLY_RECIPE = (
    "UPDATE recipes SET status = 'Applied', device_uid = $1, last_device_uid = $1,"
    " version = $2, updated_at = $3 WHERE id = $4"
)


async def _raw_register(conn: RawConnection, tenant: Tenant, device: Registering) -> None:
    """The raw limit of a registration that applies a recipe: look the device up (none), lock
    the candidate recipes, insert the device and its MACs, apply the recipe, append Updated,
    StatusUpdated and DevicePaired, commit."""
    when = conn.timestamp(datetime.now(UTC))
    brand_key = device.brand.lower()
    serial_key = device.serial_number.lower() if device.serial_number else None
    keys = (serial_key,) if serial_key is not None else device.mac_addresses
    find_device, find_recipes = _registration_sql(serial_key is not None, len(keys))
    await conn.begin()
    try:
        if await conn.fetch_one(find_device + conn.row_lock, brand_key, *keys) is not None:
            raise LookupError(f"device {keys} is already registered")
        candidates = await conn.fetch_all(find_recipes + conn.row_lock, brand_key, *keys)
        if len(candidates) != 1:
            raise LookupError(f"{len(candidates)} recipes match device {keys}")
        (recipe,) = candidates
        uid, organization_uid = recipe["uid"], recipe["organization_uid"]
        device_uid = uuid.uuid4().hex
        verification_hash = uuid.uuid4().hex[:12].upper()
        await conn.execute(
            _INSERT_DEVICE,
            device_uid,
            device.brand,
            brand_key,
            device.model,
            device.serial_number,
            serial_key,
            verification_hash,
            organization_uid,
            recipe["device_name"],
            recipe["tag_uids"],
            uid,
            when,
            when,
            when,
        )
        if device.mac_addresses:
            rows = [(device_uid, brand_key, mac) for mac in device.mac_addresses]
            await conn.execute_many(_INSERT_DEVICE_MAC, rows)
        await conn.execute(_APPLY_RECIPE, device_uid, recipe["version"] + 1, when, recipe["id"])
        state = {
            "uid": uid,
            "organizationUid": organization_uid,
            "status": "Applied",
            "confirmedOwnership": bool(recipe["confirmed_ownership"]),
            "serialNumber": recipe["serial_number"],
            "macAddress": recipe["mac_address"],
            "model": recipe["model"],
            "brand": recipe["brand"],
            "deviceName": recipe["device_name"],
        }
        caused = (
            (UPDATED, uid, {k: v for k, v in state.items() if v is not None}),
            (
                STATUS_UPDATED,
                uid,
                {"uid": uid, "deviceIdentityHash": device_uid, "status": "Applied"},
            ),
            (
                PAIRED,
                device_uid,
                {"deviceIdentityHash": device_uid, "verificationHash": verification_hash},
            ),
        )
        events = [
            (
                str(uuid.uuid4()),
                organization_uid,
                event_type,
                subject_uid,
                tenant.event_body(event_type, payload, by_system=True),
                when,
            )
            for event_type, subject_uid, payload in caused
        ]
        await conn.execute_many(_INSERT_EVENT, events)
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise


async def compare_registrations(
    database: Database, tenant: Tenant, writers: int, registrations: int, rounds: int
) -> Comparison:
    """`registrations` new devices per side, split over `writers` concurrent writers, each
    device applying its own Pending recipe (half by serial number, half by MAC)."""
    per_writer = max(1, registrations // (writers * rounds))
    needed = writers * (WARM_UP + per_writer * rounds)
    provisio_devices = await _pending(tenant, needed)
    raw_devices = await _pending(tenant, needed)

    async def provisio_register(writer: int) -> None:
        registration = await register_device(tenant.store, next(provisio_devices).report())
        if registration.decision.applied is None:  # an unprovisioned device would flatter provisio
            raise RuntimeError(f"no recipe was applied to device {registration.device.uid}")

    async def raw_register(conn: RawConnection, writer: int) -> None:
        await _raw_register(conn, tenant, next(raw_devices))

    return await _compare_calls(
        database,
        "device registration",
        writers,
        per_writer,
        rounds,
        raw_register,
        provisio_register,
    )


async def open_tenant(database: Database) -> Tenant:
    """provisio's own store over the scratch database: migrated, one company bootstrapped."""
    store = Store.open(database.url)
    await migrate(store.backend)
    return await Tenant.create(store)
