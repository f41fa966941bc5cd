"""The feed guarantee under concurrent writers, on both engines.

20 writers make 200 updates each (to 5 shared recipes, so they contend) while a reader pages
the feed with `after`: the reader must see every event exactly once, and each recipe's events
in the order their transactions committed (the order of the recipe's versions).
"""

import asyncio
import contextlib
import json
from collections import defaultdict

from provisio.domain.brands import BrandRules
from provisio.service import tenancy
from provisio.service.feed import read_feed
from provisio.service.recipes import create_recipe, update_recipe
from provisio.service.relay import Relay
from provisio.store.unit_of_work import Store

WRITERS = 20
UPDATES = 200
RECIPES = 5
RULES = BrandRules()


async def test_a_paging_reader_sees_every_event_once_in_commit_order(store: Store) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    recipes = [
        await create_recipe(store, principal, {"brand": "lg", "serialNumber": f"SN-{n}"}, RULES)
        for n in range(RECIPES)
    ]
    committed: dict[str, list[tuple[int, str]]] = defaultdict(list)
    expected = RECIPES + WRITERS * UPDATES

    async def writer(number: int) -> None:
        uid = recipes[number % RECIPES].uid
        for n in range(UPDATES):
            name = f"w{number}-{n}"
            recipe = await update_recipe(store, principal, uid, {"deviceName": name}, RULES)
            committed[uid].append((recipe.version, name))

    async def reader() -> list[tuple[int, bytes]]:
        seen: list[tuple[int, bytes]] = []
        after = 0
        while len(seen) < expected:
            page = await read_feed(
                store, principal, organization_uid=None, after=after, limit=250, types=[],
                wait=0.5, poll_interval=0.05,
            )  # fmt: skip
            seen.extend(page)
            after = page[-1][0] if page else after
        return seen

    relay = asyncio.create_task(Relay(store, 0.05).run())
    try:
        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        seen = await asyncio.wait_for(reading, 120)
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay

    positions = [position for position, _ in seen]
    events = [json.loads(body) for _, body in seen]
    assert positions == sorted(set(positions)), "positions repeat or go backwards"
    assert len({event["id"] for event in events}) == len(events) == expected
    in_feed: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event["type"] == "Device.ProvisioningRecipeUpdated":
            in_feed[event["payload"]["uid"]].append(event["payload"]["deviceName"])
    for uid, versions in committed.items():
        assert in_feed[uid] == [name for _, name in sorted(versions)], f"recipe {uid} out of order"
