"""The cursor feed: an organization's positioned events, in order, with long-polling."""

import asyncio
from collections.abc import Sequence

from provisio.service.tenancy import Principal, scope
from provisio.store.events import FeedEntry
from provisio.store.signal import wait_any
from provisio.store.unit_of_work import Store


async def read_feed(
    store: Store,
    principal: Principal,
    *,
    organization_uid: str | None,
    after: int,
    limit: int,
    types: Sequence[str],
    wait: float,
    poll_interval: float,
    stop: asyncio.Event | None = None,
) -> list[tuple[int, bytes]]:
    """Events after `after`; with `wait`, hold the request until one exists, time runs out,
    or `stop` is set (the server is shutting down and must not wait for long-polls).

    Relays wake waiters at once (in-process, or over PostgreSQL NOTIFY); `poll_interval`
    bounds the delay when such a wake-up cannot arrive.
    """
    stop = stop or asyncio.Event()
    deadline = asyncio.get_running_loop().time() + wait
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
    while True:
        ticket = store.positions_assigned.ticket()
        async with store.reader() as uow:
            page = await uow.events.read(organizations, after, limit, types)
        remaining = deadline - asyncio.get_running_loop().time()
        if page or remaining <= 0 or stop.is_set():
            return page
        await wait_any([ticket, stop], min(remaining, poll_interval))


async def read_newest(
    store: Store,
    principal: Principal,
    *,
    organization_uid: str | None = None,
    after: int = 0,
    before: int | None = None,
    limit: int,
    types: Sequence[str] = (),
) -> list[FeedEntry]:
    """The feed backwards, as a screen pages it: the newest events between positions `after`
    and `before` (both excluded; `before` None: up to the newest), newest first, each with its
    time, type, subject and exact envelope bytes."""
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
        return await uow.events.read_newest(
            organizations, after=after, before=before, limit=limit, types=types
        )
