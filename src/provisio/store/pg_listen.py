"""PostgreSQL LISTEN on one dedicated connection per process: other processes' commits wake
this process's waiters at once instead of at their next poll.

The connection lives outside the engine's pool (a LISTEN session must stay put, and must not
hold a pooled connection forever). It is re-established whenever it drops; while it is down,
waiters fall back to polling, and the process never stops because of it.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import structlog

from provisio.store.signal import wait_any

log = structlog.get_logger(__name__)

CHANNEL = "provisio_wake"
APPLICATION_NAME = "provisio-listen"
"""How the listening connections show in `pg_stat_activity`."""
RECONNECT_DELAY = 1.0
"""Seconds between attempts to re-establish a lost listening connection."""
HEARTBEAT = 15.0
"""Seconds between liveness checks: a connection dropped without a FIN is noticed this soon."""


@contextlib.asynccontextmanager
async def listening(dsn: str, hear: Callable[[str | None], None]) -> AsyncIterator[None]:
    """Run a `Listener` in the background while entered."""
    task = asyncio.create_task(Listener(dsn, hear).run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])


class Listener:
    """Passes every notification on `CHANNEL` to `hear`; None after each (re)connection, when
    notifications may have been missed."""

    def __init__(self, dsn: str, hear: Callable[[str | None], None]) -> None:
        self._dsn = dsn
        self._hear = hear

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            try:
                await self._session()
            except Exception as error:  # a dead database must not take the process with it
                log.warning("listener.lost", error=f"{type(error).__name__}: {error}")
            await asyncio.sleep(RECONNECT_DELAY)

    async def _session(self) -> None:
        """One connection's life: returns or raises once it is lost."""
        conn = await asyncpg.connect(
            self._dsn, timeout=HEARTBEAT, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._on_notification)
            self._hear(None)
            while not lost.is_set():
                await wait_any([lost], HEARTBEAT)
                if not lost.is_set():
                    await conn.fetchval("SELECT 1", timeout=HEARTBEAT)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=RECONNECT_DELAY)  # a lost one is merely cleaned up

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._hear(payload)
