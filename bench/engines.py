"""The two engines: a scratch database for each, and the bare-driver connection to it.

Everything engine-specific lives here and stays small (placeholders, the row-lock clause, how a
timestamp is bound, how many connections may write at once); the scenarios are shared.
"""

import asyncio
import re
import sqlite3
import tempfile
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

SQLITE_PRAGMAS = ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL", "foreign_keys=ON")
"""The durability settings provisio runs SQLite with: the reference must pay for the same fsyncs."""


class RawConnection(Protocol):
    """The few bare-driver calls the reference transactions need; SQL uses `$n` placeholders."""

    row_lock: str
    """Appended to a SELECT to lock its rows for the transaction ("" where the engine can't)."""

    def timestamp(self, moment: datetime) -> object: ...

    async def begin(self) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def fetch_one(self, sql: str, *args: object) -> Mapping[str, Any] | None: ...

    async def fetch_all(self, sql: str, *args: object) -> Sequence[Mapping[str, Any]]: ...

    async def execute(self, sql: str, *args: object) -> None: ...

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    async def close(self) -> None: ...


@cache
def _numbered_qmarks(sql: str) -> str:
    """`$1` → `?1`: SQLite understands numbered parameters, so both engines share SQL text."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


class SqliteRaw:
    """aiosqlite, one thread hop per statement (the same driver provisio uses underneath)."""

    row_lock = ""  # BEGIN IMMEDIATE already holds the database's only write lock

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, path: Path) -> "SqliteRaw":
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in SQLITE_PRAGMAS:
            await conn.execute_fetchall(f"PRAGMA {pragma}")
        return cls(conn)

    def timestamp(self, moment: datetime) -> object:
        # The text form SQLAlchemy stores, so provisio can read rows the reference wrote.
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    async def begin(self) -> None:
        await self._conn.execute_fetchall("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        await self._conn.execute_fetchall("COMMIT")

    async def rollback(self) -> None:
        await self._conn.execute_fetchall("ROLLBACK")

    async def fetch_one(self, sql: str, *args: object) -> Mapping[str, Any] | None:
        rows = await self.fetch_all(sql, *args)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, *args: object) -> Sequence[Mapping[str, Any]]:
        rows = await self._conn.execute_fetchall(_numbered_qmarks(sql), args)
        return [dict(zip(row.keys(), row, strict=True)) for row in rows]

    async def execute(self, sql: str, *args: object) -> None:
        await self._conn.execute_fetchall(_numbered_qmarks(sql), args)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._conn.executemany(_numbered_qmarks(sql), rows)

    async def close(self) -> None:
        await self._conn.close()


class PostgresRaw:
    """asyncpg with its prepared-statement cache (as SQLAlchemy's asyncpg dialect uses it)."""

    row_lock = " FOR UPDATE"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, url: str) -> "PostgresRaw":
        return cls(await asyncpg.connect(url))

    def timestamp(self, moment: datetime) -> object:
        return moment

    async def begin(self) -> None:
        await self._conn.execute("BEGIN")

    async def commit(self) -> None:
        await self._conn.execute("COMMIT")

    async def rollback(self) -> None:
        await self._conn.execute("ROLLBACK")

    async def fetch_one(self, sql: str, *args: object) -> Mapping[str, Any] | None:
        row: Mapping[str, Any] | None = await self._conn.fetchrow(sql, *args)
        return row

    async def fetch_all(self, sql: str, *args: object) -> Sequence[Mapping[str, Any]]:
        rows: Sequence[Mapping[str, Any]] = await self._conn.fetch(sql, *args)
        return rows

    async def execute(self, sql: str, *args: object) -> None:
        await self._conn.execute(sql, *args)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._conn.executemany(sql, rows)

    async def close(self) -> None:
        await self._conn.close()


@dataclass(frozen=True)
class Database:
    """One scratch database: the URL provisio opens, and how the reference connects to it."""

    engine: str
    url: str
    version: str
    max_writers: int
    """Bare connections that may write at once: SQLite has one write lock, so one connection
    (queued in-process, as provisio does) beats many spinning in the busy handler."""
    connect: Callable[[], Awaitable[RawConnection]]


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[Database]:
    """A fresh database file in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="provisio-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        yield Database(
            engine="sqlite",
            url=f"sqlite:///{path}",
            version=sqlite3.sqlite_version,
            max_writers=1,
            connect=partial(SqliteRaw.connect, path),
        )


def plain_postgres_url(url: str) -> str:
    """asyncpg wants `postgresql://`; accept the SQLAlchemy driver form too."""
    return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql://", url)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[Database]:
    """A scratch `provisio_bench_<random>` database on the server, dropped afterwards."""
    admin_url = plain_postgres_url(admin_url)
    name = f"provisio_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        version = str(await admin.fetchval("SHOW server_version"))
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = _with_database(admin_url, name)
            yield Database(
                engine="postgresql",
                url=url,
                version=version,
                max_writers=1_000_000,
                connect=partial(PostgresRaw.connect, url),
            )
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class RawPool:
    """A fixed set of bare connections, handed out first come, first served.

    FIFO matters: a task that returns a connection and asks again at once must queue behind the
    waiting ones (asyncio.Queue would let it jump the line), or tail latencies mean nothing.
    provisio's SQLite write lock (asyncio.Lock) is FIFO too.
    """

    def __init__(self, connections: Sequence[RawConnection]) -> None:
        self._all = list(connections)
        self._idle = list(connections)
        self._waiters: deque[asyncio.Future[RawConnection]] = deque()

    @classmethod
    async def open(cls, database: Database, size: int) -> "RawPool":
        count = max(1, min(size, database.max_writers))
        return cls([await database.connect() for _ in range(count)])

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[RawConnection]:
        if self._idle and not self._waiters:
            conn = self._idle.pop()
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over just as we left
                    self._release(waiter.result())
                raise
        try:
            yield conn
        finally:
            self._release(conn)

    def _release(self, conn: RawConnection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()
