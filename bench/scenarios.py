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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from bench.engines import Database, RawConnection, RawPool
from bench.report import Comparison, Sample
from provisio.domain.brands import BrandRules
from provisio.service import tenancy
from provisio.service.recipes import BulkRow, bulk_create, create_recipe, update_recipe
from provisio.service.tenancy import Principal
from provisio.store.migrate import migrate
from provisio.store.unit_of_work import Store

RULES = BrandRules()
UPDATED = "Device.ProvisioningRecipeUpdated"
CREATED = "Device.ProvisioningRecipeCreated"

Operation = Callable[[int], Awaitable[None]]
"""One measured call, given the number of the writer making it."""


@dataclass(frozen=True)
class Tenant:
    """A bootstrapped company whose organization token every provisio call acts with."""

    store: Store
    principal: Principal
    organization_uid: str

    @classmethod
    async def create(cls, store: Store) -> "Tenant":
        made = await tenancy.bootstrap(store, "Bench Co", "Bench Lobby")
        principal = await tenancy.authenticate(store, made.token.header)
        return cls(store, principal, made.organization_uid)

    def event_body(self, event_type: str, payload: Mapping[str, Any]) -> bytes:
        """A full-state envelope like provisio's, built the cheapest way (one json.dumps)."""
        envelope = {
            "id": str(uuid.uuid4()),
            "kind": "domain",
            "type": event_type,
            "payload": {
                "owner": {
                    "ownershipType": "organization",
                    "organizationUid": self.organization_uid,
                    "parentCompanyUid": self.principal.company_uid,
                },
                "originator": {
                    "accountId": self.principal.account_id,
                    "organizationUid": self.organization_uid,
                },
                "type": event_type,
                **payload,
            },
        }
        return json.dumps(envelope, separators=(",", ":")).encode()


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


async def _raw_update(conn: RawConnection, tenant: Tenant, uid: str, device_name: str) -> None:
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


async def compare_updates(
    database: Database, tenant: Tenant, writers: int, updates: int, rounds: int
) -> Comparison:
    """`updates` single-recipe updates per side, split over `writers` concurrent writers."""
    per_writer = max(1, updates // (writers * rounds))
    provisio_uids = await _seed(tenant, writers, f"UPD-P{writers}")
    raw_uids = await _seed(tenant, writers, f"UPD-R{writers}")
    names = itertools.count()
    pool = await RawPool.open(database, writers)

    async def provisio_update(writer: int) -> None:
        body = {"deviceName": f"screen {next(names)}"}
        await update_recipe(tenant.store, tenant.principal, provisio_uids[writer], body, RULES)

    async def raw_update(writer: int) -> None:
        async with pool.connection() as conn:
            await _raw_update(conn, tenant, raw_uids[writer], f"screen {next(names)}")

    try:
        await _run(raw_update, writers, 2)  # warm-up: connections, statement caches
        await _run(provisio_update, writers, 2)
        reference, provisio = await _alternate(
            lambda: _run(raw_update, writers, per_writer),
            lambda: _run(provisio_update, writers, per_writer),
            rounds,
        )
    finally:
        await pool.close()
    return Comparison("recipe update", database.engine, writers, "ops/s", reference, provisio)


# --- bulk import ----------------------------------------------------------------------------

_RECIPE_COLUMNS = (
    "uid, organization_uid, status, brand, brand_key, model, serial_number, serial_key,"
    " mac_address, device_name, tag_uids, confirmed_ownership, version, created_at, updated_at"
)
_INSERT_RECIPE = (
    f"INSERT INTO recipes ({_RECIPE_COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)


def bulk_fields(batch: int, count: int) -> list[dict[str, Any]]:
    """`count` valid rows, half serial-numbered LGs, half MAC-addressed Androids, unique per
    `batch` so repeated imports never clash on a live device."""
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


async def _stream(rows: Sequence[Mapping[str, Any]]) -> AsyncIterator[BulkRow]:
    for number, fields in enumerate(rows, start=1):
        yield BulkRow(number, fields)


Importer = Callable[[Tenant, list[dict[str, Any]]], Awaitable[None]]
"""One side of the bulk scenario: import these rows for this tenant."""


async def compare_bulk(database: Database, store: Store, rows: int, repeats: int) -> Comparison:
    """`repeats` imports of `rows` fresh rows per side; latency is one whole import.

    Every import goes into a new, empty organization: provisio's uniqueness check reads the
    organization's existing recipes, so importing into a shared one would make the figure
    depend on how many imports ran before it.
    """
    batches = itertools.count()
    pool = await RawPool.open(database, 1)

    async def timed(importer: Importer) -> Sample:
        tenant = await Tenant.create(store)  # set-up, like the parsed upload, is off the clock
        fields = bulk_fields(next(batches), rows)
        gc.collect()
        started = perf_counter()
        await importer(tenant, fields)
        elapsed = perf_counter() - started
        return Sample(rows, elapsed, [elapsed])

    async def provisio_import(tenant: Tenant, fields: list[dict[str, Any]]) -> None:
        stream = _stream(fields)
        result = await bulk_create(store, tenant.principal, stream, RULES, atomic=True)
        if result.created != len(fields):  # a refused row would flatter provisio's rate
            raise RuntimeError(f"bulk import refused rows: {result.failed[:3]}")

    async def raw_import(tenant: Tenant, fields: list[dict[str, Any]]) -> None:
        async with pool.connection() as conn:
            await _raw_bulk(conn, tenant, fields)

    try:
        reference, provisio = await _alternate(
            lambda: timed(raw_import), lambda: timed(provisio_import), repeats
        )
    finally:
        await pool.close()
    return Comparison(
        f"bulk import {rows:,} rows", database.engine, 1, "rows/s", reference, provisio
    )


async def open_tenant(database: Database) -> Tenant:
    """provisio's own store over the scratch database: migrated, one company bootstrapped."""
    store = Store.open(database.url)
    await migrate(store.backend)
    return await Tenant.create(store)
