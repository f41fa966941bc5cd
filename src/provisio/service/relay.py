"""The relay: gives committed outbox events their feed positions, in commit order."""

import asyncio
from datetime import UTC, datetime

import structlog
from prometheus_client import Counter

from provisio.store.signal import Wake, wait_any
from provisio.store.unit_of_work import Store

log = structlog.get_logger(__name__)
POSITIONED = Counter("provisio_events_positioned_total", "Outbox events given a feed position")

BATCH = 1000


class Relay:
    """Wakes on every local commit (and polls for other processes' commits)."""

    def __init__(self, store: Store, poll_interval: float) -> None:
        self._store = store
        self._poll_interval = poll_interval

    async def run_once(self) -> int:
        """Position one batch and queue its webhook deliveries in the same transaction;
        returns how many events were positioned."""
        async with self._store.unit_of_work() as uow:
            if not await self._store.backend.lock_relay(uow.conn):
                return 0
            positioned = await uow.events.assign_positions(BATCH)
            if positioned:
                uow.wakes.add(Wake.POSITIONS_ASSIGNED)
            if await uow.deliveries.fan_out(positioned, datetime.now(UTC)):
                uow.wakes.add(Wake.DELIVERIES_QUEUED)
        POSITIONED.inc(len(positioned))
        return len(positioned)

    async def drain(self) -> int:
        """Position everything committed so far."""
        total = 0
        while count := await self.run_once():
            total += count
        return total

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set: between transactions, so shutting down never cuts one short."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            ticket = self._store.events_committed.ticket()
            try:
                await self.drain()
            except Exception:  # a database hiccup must not kill the relay; retry shortly
                log.exception("relay.failed")
            await wait_any([ticket, stop], self._poll_interval)
