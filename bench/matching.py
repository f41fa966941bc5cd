"""Registration against a large recipe table: does matching stay fast as the table grows?

The table is filled with Pending recipes of the registering devices' own brands (the worst
case for the candidate lookup: the brand selects nothing) through the bare driver — `COPY` on
PostgreSQL, one `executemany` on SQLite — and nothing runs `ANALYZE` afterwards: the plans
must not depend on statistics a fresh load has not gathered yet. Then the registration
scenario runs, one writer, so its percentiles are the service-side latency of one call.
"""

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg

from bench.engines import Database, RawConnection, plain_postgres_url
from bench.report import Comparison
from bench.scenarios import Tenant, compare_registrations

COLUMNS = (
    "uid",
    "organization_uid",
    "status",
    "brand",
    "brand_key",
    "serial_number",
    "serial_key",
    "mac_address",
    "tag_uids",
    "confirmed_ownership",
    "version",
    "created_at",
    "updated_at",
)
_INSERT = (
    f"INSERT INTO recipes ({', '.join(COLUMNS)}) VALUES "
    f"({', '.join(f'${n}' for n in range(1, len(COLUMNS) + 1))})"
)
CHUNK = 50_000
"""Rows per executemany on SQLite: bounded memory, one transaction."""


def filler(organization_uid: str, count: int, when: object) -> Iterator[tuple[object, ...]]:
    """`count` Pending recipes, half serial-numbered LGs, half MAC-addressed Androids (the
    brands the registering devices report), none of them matching any registering device."""
    for n in range(count):
        serial: str | None = None
        mac: str | None = None
        if n % 2:
            hex_digits = f"0A{n:010X}"
            brand, key = "Android", "android"
            mac = ":".join(hex_digits[i : i + 2] for i in range(0, 12, 2))
        else:
            brand, key, serial = "LG", "lg", f"FILL-{n:08d}"
        yield (
            uuid.uuid4().hex,
            organization_uid,
            "Pending",
            brand,
            key,
            serial,
            serial.lower() if serial else None,
            mac,
            "",
            False,
            1,
            when,
            when,
        )


async def seed_recipes(database: Database, organization_uid: str, count: int) -> None:
    """`count` filler recipes in the organization, as fast as the driver stores rows."""
    now = datetime.now(UTC)
    if database.engine == "postgresql":
        conn = await asyncpg.connect(plain_postgres_url(database.url))
        try:
            await conn.copy_records_to_table(
                "recipes", records=filler(organization_uid, count, now), columns=COLUMNS
            )
        finally:
            await conn.close()
        return
    raw: RawConnection = await database.connect()
    try:
        rows = filler(organization_uid, count, raw.timestamp(now))
        await raw.begin()
        while chunk := [row for _, row in zip(range(CHUNK), rows, strict=False)]:
            await raw.execute_many(_INSERT, chunk)
        await raw.commit()
    finally:
        await raw.close()


async def compare_matching(
    database: Database, tenant: Tenant, recipes: int, registrations: int, rounds: int
) -> Comparison:
    """Registration latency, one writer, after `recipes` filler recipes were stored."""
    await seed_recipes(database, tenant.organization_uid, recipes)
    comparison = await compare_registrations(database, tenant, 1, registrations, rounds)
    return replace(comparison, benchmark=f"registration, {recipes:,} recipes")
