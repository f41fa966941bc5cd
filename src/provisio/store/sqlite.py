"""SQLite backend: WAL, `BEGIN IMMEDIATE` for writes, one writer at a time, run inline.

SQLAlchemy's sync pysqlite engine runs on the event loop's own thread. A statement on a local
WAL database takes microseconds; handing each one to a worker thread and back (aiosqlite, under
SQLAlchemy's greenlet bridge) cost 5 to 10 times the statement itself and let other requests'
work in between the statements of a write transaction that holds the only write lock (see
docs/benchmarks.md). Nothing here waits on the network; the one wait that can be long — another
process holding the write lock — is taken asynchronously (`_begin_immediate`).
"""

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from time import monotonic
from typing import Any, TypeVar
from uuid import uuid4

from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Executable, create_engine, event
from sqlalchemy.engine import Dialect, make_url

from provisio.store.backend import POOL_SIZE, Connection, Rows
from provisio.store.contention import Contended
from provisio.store.signal import Wake

T = TypeVar("T")

BUSY_WAIT_MS = 50
"""How long SQLite itself may wait for a lock (blocking the loop) before it answers "busy"."""
WRITE_LOCK_TIMEOUT = 30.0
"""How long a writer waits, asynchronously, for another process to release the write lock."""


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun explicitly (BEGIN / BEGIN IMMEDIATE), never by the driver.
    dbapi_connection.isolation_level = None
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={BUSY_WAIT_MS}",
        "synchronous=NORMAL",
        "foreign_keys=ON",
    ):
        dbapi_connection.execute(f"PRAGMA {pragma}")


class InlineConnection:
    """A sync SQLAlchemy connection behind the async interface the repositories use."""

    def __init__(self, conn: SyncConnection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return self._conn.scalar(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Rows:
        return self._conn.exec_driver_sql(statement, parameters)

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def run_sync(self, function: Callable[[SyncConnection], T]) -> T:
        return function(self._conn)


class SqliteBackend:
    name = "sqlite"

    def __init__(self, url: str, pool_timeout: float) -> None:
        database = make_url(url).database
        in_memory = not database or database == ":memory:"  # one connection per thread: no pool
        pooling = (
            {}
            if in_memory
            else {"pool_size": POOL_SIZE, "max_overflow": 10, "pool_timeout": pool_timeout}
        )
        self.engine = create_engine(
            url,
            hide_parameters=True,
            # The store is opened in one thread and may be used from another's event loop
            # (a test client, the CLI); every use is still on one thread at a time.
            connect_args={"check_same_thread": False},
            **pooling,
        )
        event.listen(self.engine, "connect", _on_connect)
        self.origin = uuid4().hex
        self._write_lock = asyncio.Lock()
        self._writer: SyncConnection | None = None
        self._publisher_lock_path = None if in_memory else f"{database}.publisher-lock"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[InlineConnection]:
        # One writer per process queues here, on the one connection kept for writing (taking
        # it from the pool and giving it back cost more than the statements of an update);
        # BEGIN IMMEDIATE takes the file's write lock up front, so two writers never deadlock
        # on a lock upgrade.
        async with self._write_lock:
            if self._writer is None:
                self._writer = self.engine.connect()
            conn = self._writer
            driver = _driver(conn)
            await _begin_immediate(driver)
            try:
                yield InlineConnection(conn)
            except BaseException:
                self._end(driver, commit=False)
                raise
            self._end(driver, commit=True)

    def _end(self, driver: sqlite3.Connection, *, commit: bool) -> None:
        """COMMIT or ROLLBACK; a connection that cannot even do that is replaced."""
        try:
            driver.commit() if commit else driver.rollback()
        except BaseException:
            if self._writer is not None:
                self._writer.invalidate()
                self._writer = None
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[InlineConnection]:
        with self.engine.connect() as conn:
            driver = _driver(conn)
            driver.execute("BEGIN")
            try:
                yield InlineConnection(conn)
            finally:
                driver.rollback()

    async def lock_relay(self, conn: Connection) -> bool:
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

    async def notify(self, conn: Connection, wakes: Collection[Wake]) -> None:
        # SQLite cannot signal another process: those sharing a file rely on polling.
        return None

    def listen(self, hear: Callable[[str | None], None]) -> AbstractAsyncContextManager[None]:
        return nullcontext()

    async def dispose(self) -> None:
        async with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.engine.dispose()


def _driver(conn: SyncConnection) -> sqlite3.Connection:
    """The sqlite3 connection under `conn`: transactions are begun and ended on it directly
    (`isolation_level = None`: the driver itself never begins one)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


async def _begin_immediate(driver: sqlite3.Connection) -> None:
    """Take the write lock; while another process holds it, wait without blocking the loop."""
    deadline = monotonic() + WRITE_LOCK_TIMEOUT
    pause = 0.001
    while True:
        try:
            driver.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        if monotonic() > deadline:
            raise Contended("the database is busy (another process holds its write lock)")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


def _try_flock(path: str) -> int | None:
    """An open descriptor holding an exclusive lock on `path`; None if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
