"""Bulk import: a recipes CSV through provisio against the bare driver, and the rate of imports
into an ever larger table.

provisio's side runs what `POST /v1/provisioning-recipe/bulk` runs once the upload is received:
`bulk_rows` over the CSV in a spooled temporary file, then `bulk_create` (atomic). The reference
reads the same bytes with Python's `csv` module and writes the same recipe rows and Created
events with two `executemany` calls in one transaction.
"""

import csv
import gc
import io
import tempfile
from collections.abc import Mapping, Sequence
from time import perf_counter, process_time
from typing import Any

from bench.engines import Database, RawPool
from bench.report import Comparison, Sample
from bench.scenarios import RULES, Tenant, _alternate, _raw_bulk, bulk_fields
from provisio.api.bulk_input import bulk_rows
from provisio.api.limits import CSV
from provisio.api.upload import SPOOL_IN_MEMORY
from provisio.service.bulk_import import bulk_create
from provisio.store.unit_of_work import Store

COLUMNS = ("brand", "model", "serialNumber", "macAddress", "deviceName", "confirmedOwnership")


def recipes_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The rows as the CSV a user would upload (`true` for confirmed ownership)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["true" if row.get(c) is True else row.get(c, "") for c in COLUMNS])
    return text.getvalue().encode()


def _read_csv(data: bytes) -> list[dict[str, Any]]:
    """The reference's parsing: `csv`, empty cells dropped, the flag made a boolean."""
    rows: list[dict[str, Any]] = []
    for record in csv.DictReader(io.StringIO(data.decode())):
        fields: dict[str, Any] = {column: cell for column, cell in record.items() if cell}
        fields["confirmedOwnership"] = fields.get("confirmedOwnership") == "true"
        rows.append(fields)
    return rows


async def provisio_import(store: Store, tenant: Tenant, data: bytes) -> int:
    """provisio's atomic import of a received CSV upload; the rows it created."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as upload:
        upload.write(data)
        upload.seek(0)
        rows = bulk_rows(upload, CSV, None)
        result = await bulk_create(store, tenant.principal, rows, RULES, atomic=True)
    if result.failed_count:  # a refused row would flatter provisio's rate
        raise RuntimeError(f"the import refused rows: {result.failed[:3]}")
    return result.created


async def compare_csv_import(
    database: Database, store: Store, rows: int, repeats: int
) -> Comparison:
    """`repeats` imports of a fresh `rows`-row CSV per side, each into a new organization;
    latency is one whole import, CPU the bench process's (the SQLite thread's included)."""
    pool = await RawPool.open(database, 1)

    async def provisio_side(tenant: Tenant, data: bytes) -> None:
        await provisio_import(store, tenant, data)

    async def raw_side(tenant: Tenant, data: bytes) -> None:
        async with pool.connection() as conn:
            await _raw_bulk(conn, tenant, _read_csv(data))

    async def timed(side: Any) -> Sample:
        tenant = await Tenant.create(store)
        data = recipes_csv(bulk_fields(rows))
        gc.collect()
        started, cpu = perf_counter(), process_time()
        await side(tenant, data)
        elapsed = perf_counter() - started
        return Sample(rows, elapsed, [elapsed], cpu=process_time() - cpu)

    try:
        reference, provisio = await _alternate(
            lambda: timed(raw_side), lambda: timed(provisio_side), repeats
        )
    finally:
        await pool.close()
    return Comparison(
        f"CSV import {rows:,} rows", database.engine, 1, "rows/s", reference, provisio
    )


async def steady_import(
    database: Database, store: Store, total: int, per_import: int
) -> Comparison:
    """Import `total` recipes into one organization, `per_import` rows at a time, with the
    tables' statistics never refreshed (autovacuum off for them, no ANALYZE): the first
    import's rate against the last one's. A ratio near 1.00 is a steady rate."""
    await _without_autovacuum(database)
    tenant = await Tenant.create(store)
    samples: list[Sample] = []
    for _ in range(max(1, total // per_import)):
        data = recipes_csv(bulk_fields(per_import))
        gc.collect()
        started = perf_counter()
        await provisio_import(store, tenant, data)
        elapsed = perf_counter() - started
        samples.append(Sample(per_import, elapsed, [elapsed]))
    stored = per_import * (len(samples) - 1)
    return Comparison(
        f"import {per_import:,} rows at {stored:,} recipes vs at 0",
        database.engine,
        1,
        "rows/s",
        samples[0],
        samples[-1],
    )


async def _without_autovacuum(database: Database) -> None:
    """Keep PostgreSQL from analysing the tables while the import grows them: the rate must
    not depend on when statistics were last taken."""
    if database.engine != "postgresql":
        return
    conn = await database.connect()
    try:
        for table in ("recipes", "events"):
            await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    finally:
        await conn.close()
