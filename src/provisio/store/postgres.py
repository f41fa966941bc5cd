"""PostgreSQL backend: asyncpg, READ COMMITTED, row locks and a transaction-scoped advisory lock."""

from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from provisio.store import pg_listen
from provisio.store.backend import POOL_SIZE, Connection
from provisio.store.signal import Wake

RELAY_LOCK_KEY = 0x70726F76  # "prov": one relay assigns feed positions at a time
PUBLISHER_LOCK_KEY = 0x70707562  # "ppub": one publisher sends the feed to JetStream at a time


_NOTIFY = text("SELECT pg_notify(:channel, :message)")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")


class PostgresBackend:
    name = "postgresql"

    def __init__(self, url: str, pool_timeout: float) -> None:
        self.origin = uuid4().hex
        self.engine = create_async_engine(
            url,
            pool_size=POOL_SIZE,
            max_overflow=20,
            pool_timeout=pool_timeout,
            hide_parameters=True,
            # What the events trigger signs its notifications with (see `notify`).
            connect_args={"server_settings": {"provisio.origin": self.origin}},
        )
        self._reader = self.engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.begin() as conn:
            yield conn

    async def lock_relay(self, conn: Connection) -> bool:
        return await _try_lock(conn, RELAY_LOCK_KEY)

    @asynccontextmanager
    async def lock_publisher(self) -> AsyncIterator[bool]:
        # A transaction of its own that touches no row: it blocks no writer, and the lock goes
        # with it however it ends (a lost connection included).
        async with self.engine.begin() as conn:
            yield await _try_lock(conn, PUBLISHER_LOCK_KEY)

    async def notify(self, conn: Connection, wakes: Collection[Wake]) -> None:
        # Transactional: PostgreSQL delivers it at commit, and drops it on rollback. Inserted
        # events announce themselves (a trigger, migration 0010): no round trip of their own.
        others = sorted(set(wakes) - {Wake.EVENTS_COMMITTED})
        if others:
            message = f"{self.origin} {','.join(others)}"
            await conn.execute(_NOTIFY, {"channel": pg_listen.CHANNEL, "message": message})

    def listen(self, hear: Callable[[str | None], None]) -> AbstractAsyncContextManager[None]:
        return pg_listen.listening(self._dsn, hear)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _try_lock(conn: Connection, key: int) -> bool:
    """Take a transaction-scoped advisory lock if no other transaction holds it."""
    result = await conn.execute(_TRY_LOCK, {"key": key})
    return bool(result.scalar_one())
