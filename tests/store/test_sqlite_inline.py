"""The SQLite backend runs statements on the event loop's thread: what that must not cost.

A writer waiting for another process's write lock must wait asynchronously (the loop keeps
serving), and a transaction interrupted half-way (a cancelled request) must leave no lock and
no half-written state behind.
"""

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from provisio.service import tenancy
from provisio.store.migrate import migrate
from provisio.store.tables import companies
from provisio.store.unit_of_work import Store


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path}/provisio.db")
    await migrate(store.backend)
    return store


async def _companies(store: Store) -> int:
    async with store.reader() as uow:
        return int(await uow.conn.scalar(select(func.count()).select_from(companies)))


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    sqlite_store: Store, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "provisio.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    writing = asyncio.create_task(tenancy.bootstrap(sqlite_store, "Acme", "Lobby"))
    # The loop keeps running other work (reads included) while the writer waits.
    for _ in range(20):
        assert await _companies(sqlite_store) == 0
        await asyncio.sleep(0)
    assert not writing.done()
    other.execute("ROLLBACK")
    other.close()
    made = await asyncio.wait_for(writing, timeout=30)
    assert made.organization_uid
    assert await _companies(sqlite_store) == 1
    await sqlite_store.close()


async def test_a_cancelled_transaction_is_rolled_back_and_releases_the_lock(
    sqlite_store: Store,
) -> None:
    entered = asyncio.Event()

    async def interrupted() -> None:
        async with sqlite_store.unit_of_work() as uow:
            await uow.tenancy.add_company("c" * 32, "Half", datetime.now(UTC))
            entered.set()
            await asyncio.Event().wait()  # the client goes away here

    task = asyncio.create_task(interrupted())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _companies(sqlite_store) == 0
    await asyncio.wait_for(tenancy.bootstrap(sqlite_store, "Acme", "Lobby"), timeout=5)
    assert await _companies(sqlite_store) == 1
    await sqlite_store.close()
