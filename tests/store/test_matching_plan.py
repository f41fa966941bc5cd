"""A registering device's lookups walk the index of the identifier it reports, on both engines,
on PostgreSQL even as the generic plan of a prepared statement: with the candidate indexes led
by the brand, the MAC lookup walked the serial-number index — every live recipe of the brand,
467 ms with 1,000,000 recipes — until `ANALYZE` had gathered statistics."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from provisio.domain.ids import new_uid
from provisio.service import tenancy
from provisio.store.devices import _BY_SERIAL, _MAC_HOLDERS
from provisio.store.recipes import CANDIDATES
from provisio.store.tables import match_key, recipes
from provisio.store.unit_of_work import Store
from tests.support import query_plan

FILLER = 20_000
"""Recipes of the looked-up brand in the table: enough for a walk through every recipe of the
brand to cost more than a lookup (the planner knows the table's size without `ANALYZE`)."""


@pytest.fixture
async def filled(store: Store) -> Store:
    """Live recipes of one brand, half by serial number, half by MAC, and no statistics."""
    organization_uid = (await tenancy.bootstrap(store, "Acme", "Lobby")).organization_uid
    now = datetime.now(UTC)
    rows = [
        {
            "uid": new_uid(),
            "organization_uid": organization_uid,
            "status": "Pending",
            "brand": "android",
            "brand_key": "android",
            "serial_key": None if n % 2 else f"sn-{n}",
            "mac_address": f"02:00:00:00:{n >> 8:02X}:{n & 0xFF:02X}" if n % 2 else None,
            "confirmed_ownership": False,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(FILLER)
    ]
    async with store.backend.write() as conn:
        await conn.execute(insert(recipes), rows)
    return store


SERIAL = {"brand_key": "android", "serial_key": "sn-1"}
MACS = {"brand_key": "android", "macs": ["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"]}
MATCHES = {
    "serial_match": match_key("sn-1", "android"),
    "mac_matches": [match_key(mac, "android") for mac in MACS["macs"]],
}


SHAPES = {
    (True, False): {"ix_recipes_candidate_serial"},
    (False, True): {"ix_recipes_candidate_mac"},
    (True, True): {"ix_recipes_candidate_serial", "ix_recipes_candidate_mac"},
}
"""(by serial number, by MAC) → the candidate indexes that lookup must walk, and no other."""


async def test_candidates_are_found_through_the_index_of_each_identifier(filled: Store) -> None:
    for shape, indexes in SHAPES.items():
        async with filled.backend.write() as conn:
            plan = await query_plan(conn, CANDIDATES[shape], MATCHES)
        used = {name for name in SHAPES[True, True] if name in plan}
        assert used == indexes, plan


async def test_a_device_is_found_through_its_identity_indexes(store: Store) -> None:
    async with store.backend.write() as conn:
        by_serial = await query_plan(conn, _BY_SERIAL, SERIAL)
        holders = await query_plan(conn, _MAC_HOLDERS, MACS)
    assert "uq_devices_serial" in by_serial, by_serial
    assert "uq_device_macs_brand_key_mac_address" in holders, holders
