"""The console's reads do not grow with the organization: its Recipes page (every page shape:
newest, filtered by status, searched by identifier, paged either way), its counts and a
recipe's history each walk an index from where they start, on both engines, on PostgreSQL as
the generic plan of a prepared statement, with many recipes and events and no statistics."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, insert

from provisio.domain.ids import new_uid
from provisio.domain.status import RecipeStatus
from provisio.service import tenancy
from provisio.store.events import ABOUT
from provisio.store.recipe_counts import _OF_ORGANIZATION
from provisio.store.recipes import RecipeFilter, Window, newest_query
from provisio.store.tables import events, recipes
from provisio.store.unit_of_work import Store
from tests.support import query_plan

FILLER = 20_000
"""Rows of one organization: enough for reading them all to cost more than an index walk."""


@pytest.fixture
async def filled(store: Store) -> AsyncIterator[tuple[Store, str]]:
    """One organization's recipes (a few Failed, half by serial number, half by MAC) and an
    event about each, positioned; no statistics gathered. (The events' bodies are not
    events: they are gone before the suite checks what the test left.)"""
    organization_uid = (await tenancy.bootstrap(store, "Acme", "Lobby")).organization_uid
    now = datetime.now(UTC)
    uids = [new_uid() for _ in range(FILLER)]
    rows = [
        {
            "uid": uid,
            "organization_uid": organization_uid,
            "status": "Failed" if n % 1000 == 0 else "Pending",
            "brand": "android",
            "brand_key": "android",
            "serial_key": None if n % 2 else f"sn-{n}",
            "mac_address": f"02:00:00:00:{n >> 8:02X}:{n & 0xFF:02X}" if n % 2 else None,
            "confirmed_ownership": False,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n, uid in enumerate(uids)
    ]
    happened = [
        {
            "event_id": new_uid(),
            "organization_uid": organization_uid,
            "type": "Device.ProvisioningRecipeCreated",
            "subject_uid": uid,
            "body": b"{}",
            "position": n + 1,
            "created_at": now,
        }
        for n, uid in enumerate(uids)
    ]
    async with store.backend.write() as conn:
        await conn.execute(insert(recipes), rows)
        await conn.execute(insert(events), happened)
    yield store, organization_uid
    async with store.backend.write() as conn:
        await conn.execute(delete(events))


SEARCH = RecipeFilter(serial_key="sn-2", mac_address="02:00:00:00:00:03")
PAGES = {
    "newest": (RecipeFilter(), Window(), "ix_recipes_organization_uid_id"),
    "older": (RecipeFilter(), Window(older_than=10_000), "ix_recipes_organization_uid_id"),
    "newer": (RecipeFilter(), Window(newer_than=10_000), "ix_recipes_organization_uid_id"),
    "by status": (
        RecipeFilter(status=RecipeStatus.FAILED),
        Window(older_than=10_000),
        "ix_recipes_organization_uid_status_id",
    ),
    "by serial number": (
        RecipeFilter(serial_key="sn-2"),
        Window(),
        "ix_recipes_organization_uid_serial_key",
    ),
    "by MAC address": (
        RecipeFilter(mac_address="02:00:00:00:00:03"),
        Window(),
        "ix_recipes_organization_uid_mac_address",
    ),
}


def _reads_everything(plan: str) -> bool:
    """A plan that reads the table (or a whole index) instead of walking to its rows."""
    lines = plan.splitlines()
    return any("Seq Scan" in line or line.startswith("SCAN ") for line in lines)


@pytest.mark.parametrize("shape", list(PAGES))
async def test_each_page_of_the_list_walks_one_index(filled: tuple[Store, str], shape: str) -> None:
    store, organization_uid = filled
    where, window, index = PAGES[shape]
    async with store.backend.write() as conn:
        plan = await query_plan(conn, newest_query(organization_uid, where, window, 51), {})
    assert index in plan, plan
    assert not _reads_everything(plan), plan
    if where.serial_key is None and where.mac_address is None:  # read in index order
        assert "Sort" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan


async def test_a_search_by_serial_or_mac_reads_both_identifier_indexes(
    filled: tuple[Store, str],
) -> None:
    store, organization_uid = filled
    async with store.backend.write() as conn:
        plan = await query_plan(conn, newest_query(organization_uid, SEARCH, Window(), 51), {})
    assert "ix_recipes_organization_uid_serial_key" in plan, plan
    assert "ix_recipes_organization_uid_mac_address" in plan, plan
    assert not _reads_everything(plan), plan


async def test_counts_and_history_are_read_by_key(filled: tuple[Store, str]) -> None:
    store, organization_uid = filled
    by_subject: dict[str, Any] = {"subject_uid": new_uid(), "limit": 201}
    async with store.backend.write() as conn:
        counts = await query_plan(conn, _OF_ORGANIZATION, {"organization_uid": organization_uid})
        history = await query_plan(conn, ABOUT, by_subject)
    assert "pk_recipe_counts" in counts or "recipe_counts USING" in counts, counts
    assert "ix_events_subject_uid_position" in history, history
    assert not _reads_everything(history), history
