"""The small interface each storage engine implements, and the choice of engine by URL."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

POOL_TIMEOUT = 30.0
"""Seconds a caller waits for a pooled connection before the pool gives up (SQLAlchemy's default;
the API asks for less, see `provisio.api.app`)."""


class Backend(Protocol):
    """What differs between SQLite and PostgreSQL; everything else is shared SQLAlchemy Core."""

    engine: AsyncEngine
    name: str

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction: committed on exit, rolled back on error."""

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A read-only transaction over one consistent snapshot."""

    async def lock_relay(self, conn: AsyncConnection) -> bool:
        """Take the relay's exclusive right inside `conn`'s transaction; False if another has it."""

    def lock_publisher(self) -> AbstractAsyncContextManager[bool]:
        """Hold the outbound publisher's exclusive right, across processes, until exit; False if
        another publisher has it. Held while publishing over the network, so it is not the
        write transaction (that would block every writer meanwhile)."""

    async def notify(self, conn: AsyncConnection, message: str) -> None:
        """Have `message` reach every process's `listen` when `conn`'s transaction commits
        (nothing if it rolls back); a no-op where only one process uses the database."""

    def listen(self, hear: Callable[[str | None], None]) -> AbstractAsyncContextManager[None]:
        """While entered, pass each `notify` message of any process to `hear`, and None when
        some may have been missed (the listening connection was re-established)."""

    async def dispose(self) -> None: ...


def async_url(url: str) -> str:
    """Map plain `sqlite://` and `postgresql://` URLs to the async drivers."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def open_backend(url: str, pool_timeout: float = POOL_TIMEOUT) -> Backend:
    """The backend for a database URL (plain or async-driver form)."""
    full = async_url(url)
    if full.startswith("sqlite+aiosqlite://"):
        from provisio.store.sqlite import SqliteBackend

        return SqliteBackend(full, pool_timeout)
    if full.startswith("postgresql+asyncpg://"):
        from provisio.store.postgres import PostgresBackend

        return PostgresBackend(full, pool_timeout)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:// or postgresql://")
