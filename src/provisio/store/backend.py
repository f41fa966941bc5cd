"""The small interface each storage engine implements, and the choice of engine by URL."""

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection as SyncConnection
from sqlalchemy import CursorResult, Executable
from sqlalchemy.engine import Dialect

from provisio.store.signal import Wake

T = TypeVar("T")

Rows = CursorResult[*tuple[Any, ...]]
"""A statement's buffered result, rows of any shape."""


class Connection(Protocol):
    """A connection inside one transaction, as the repositories use it: SQLAlchemy Core
    statements in, buffered results out. PostgreSQL's is SQLAlchemy's Connection;
    SQLite's runs the sync engine inline (see `provisio.store.sqlite`)."""

    async def execute(self, statement: Executable, parameters: Any = None, /) -> Rows:
        """Run one statement (a list of parameter sets runs it for each)."""

    async def scalar(self, statement: Executable, parameters: Any = None, /) -> Any:
        """The first column of the first row."""

    async def exec_driver_sql(self, statement: str, parameters: Any = None, /) -> Rows:
        """Run SQL text in the driver's parameter style (`dialect.paramstyle`): for statements
        built once as text, whose per-row parameter processing would cost more than the rows."""

    @property
    def dialect(self) -> Dialect:
        """The engine's SQL dialect."""

    async def run_sync(self, function: Callable[[SyncConnection], T], /) -> T:
        """Run sync SQLAlchemy code (Alembic) on this connection."""


POOL_SIZE = 20
"""Connections each engine keeps open: what a busy API process uses at once (a request holds
one at a time). A connection opened beyond the pool is closed after its use, and opening one
(pragmas on SQLite, TLS negotiation on PostgreSQL) costs more than the request."""
POOL_TIMEOUT = 30.0
"""Seconds a caller waits for a pooled connection before the pool gives up (SQLAlchemy's default;
the API asks for less, see `provisio.api.app`)."""


class Backend(Protocol):
    """What differs between SQLite and PostgreSQL; everything else is shared SQLAlchemy Core."""

    name: str
    origin: str
    """Signs this process's notifications, so that its own commits do not wake it twice."""

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction: committed on exit, rolled back on error."""

    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A read-only transaction over one consistent snapshot."""

    async def lock_relay(self, conn: Connection) -> bool:
        """Take the relay's exclusive right inside `conn`'s transaction; False if another has it."""

    def lock_publisher(self) -> AbstractAsyncContextManager[bool]:
        """Hold the outbound publisher's exclusive right, across processes, until exit; False if
        another publisher has it. Held while publishing over the network, so it is not the
        write transaction (that would block every writer meanwhile)."""

    async def notify(self, conn: Connection, wakes: Collection[Wake]) -> None:
        """Have `wakes` reach every other process's `listen` when `conn`'s transaction commits
        (nothing if it rolls back); a no-op where only one process uses the database."""

    def listen(self, hear: Callable[[str | None], None]) -> AbstractAsyncContextManager[None]:
        """While entered, pass each `notify` message of any process to `hear`, and None when
        some may have been missed (the listening connection was re-established)."""

    async def dispose(self) -> None: ...


def async_url(url: str) -> str:
    """Map plain `postgresql://` URLs to the async driver; SQLite runs inline on the sync
    driver (an `sqlite+aiosqlite://` URL is accepted as well)."""
    for plain, driver in (
        ("sqlite+aiosqlite://", "sqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def open_backend(url: str, pool_timeout: float = POOL_TIMEOUT) -> Backend:
    """The backend for a database URL (plain or async-driver form)."""
    full = async_url(url)
    if full.startswith("sqlite://"):
        from provisio.store.sqlite import SqliteBackend

        return SqliteBackend(full, pool_timeout)
    if full.startswith("postgresql+asyncpg://"):
        from provisio.store.postgres import PostgresBackend

        return PostgresBackend(full, pool_timeout)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:// or postgresql://")
