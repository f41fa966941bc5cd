"""The relay, the webhook dispatcher and (with a NATS URL) the JetStream publisher, run together
and stopped gracefully."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from provisio.nats.publisher import Publisher
from provisio.service.relay import Relay
from provisio.settings import Settings
from provisio.store.unit_of_work import Store
from provisio.webhooks.dispatcher import dispatcher_for

STOP_GRACE = 5.0
"""Seconds the workers get to finish the transaction they are in before being cancelled."""


@asynccontextmanager
async def background(
    store: Store, settings: Settings, owner: str | None = None
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """`owner`: the dispatcher's lease name when `PROVISIO_WORKER_ID` sets none (None: a fresh
    one per start, for scale-out workers that may run side by side)."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(Relay(store, settings.relay_poll_interval).run(stop)),
        asyncio.create_task(dispatcher_for(store, settings, owner).run(stop)),
    ]
    if settings.nats_url:
        publisher = Publisher(store, settings.nats_url, poll_interval=settings.relay_poll_interval)
        tasks.append(asyncio.create_task(publisher.run(stop)))
    try:
        yield tasks
    finally:
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
