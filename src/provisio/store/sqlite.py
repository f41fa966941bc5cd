"""SQLite backend: WAL, busy_timeout, `BEGIN IMMEDIATE` for writes, one writer at a time."""

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

_READ_ONLY = "provisio_read_only"


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's begin() decide how transactions start (see _on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=30000",
        "synchronous=NORMAL",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    # Writers take the write lock up front so two writers never deadlock on lock upgrade.
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class SqliteBackend:
    name = "sqlite"

    def __init__(self, url: str, pool_timeout: float) -> None:
        database = make_url(url).database
        in_memory = not database or database == ":memory:"  # one static connection: no pool
        pooling = {} if in_memory else {"pool_timeout": pool_timeout}
        self.engine = create_async_engine(url, hide_parameters=True, **pooling)
        event.listen(self.engine.sync_engine, "connect", _on_connect)
        event.listen(self.engine.sync_engine, "begin", _on_begin)
        self._reader = self.engine.execution_options(**{_READ_ONLY: True})
        self._write_lock = asyncio.Lock()
        self._publisher_lock_path = None if in_memory else f"{database}.publisher-lock"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        # One writer per process queues here instead of spinning in SQLite's busy handler.
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.begin() as conn:
            yield conn

    async def lock_relay(self, conn: AsyncConnection) -> bool:
        # BEGIN IMMEDIATE already made this transaction the only writer.
        return True

    @asynccontextmanager
    async def lock_publisher(self) -> AsyncIterator[bool]:
        # Every process using this database file locks the file beside it; the OS drops the lock
        # when its holder closes it or dies. An in-memory database has a single user anyway.
        if self._publisher_lock_path is None:
            yield True
            return
        fd = _try_flock(self._publisher_lock_path)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                os.close(fd)

    async def notify(self, conn: AsyncConnection, message: str) -> None:
        # SQLite cannot signal another process: those sharing a file rely on polling.
        return None

    def listen(self, hear: Callable[[str | None], None]) -> AbstractAsyncContextManager[None]:
        return nullcontext()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _try_flock(path: str) -> int | None:
    """An open descriptor holding an exclusive lock on `path`; None if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
