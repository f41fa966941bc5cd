"""The cursor feed: an organization's positioned events, in order, with long-polling."""

import asyncio
from collections.abc import Sequence

from provisio.service.tenancy import Principal, scope
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
) -> list[tuple[int, bytes]]:
    """Events after `after`; with `wait`, hold the request until one exists or time runs out.

    In-process relays wake waiters at once; `poll_interval` bounds the delay when the relay
    runs in another process.
    """
    deadline = asyncio.get_running_loop().time() + wait
    async with store.reader() as uow:
        organizations = await scope(uow, principal, organization_uid)
    while True:
        ticket = store.positions_assigned.ticket()
        async with store.reader() as uow:
            page = await uow.events.read(organizations, after, limit, types)
        remaining = deadline - asyncio.get_running_loop().time()
        if page or remaining <= 0:
            return page
        await store.positions_assigned.wait(ticket, min(remaining, poll_interval))
