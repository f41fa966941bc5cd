"""The feed read backwards (the console's Events page): newest first, paged with `before`,
newer-than with `after`, filtered by type, one organization's positioned events only, on both
engines; its plan walks the (organization, position) index without sorting."""

from provisio.domain.brands import BrandRules
from provisio.domain.events import RECIPE_CREATED, RECIPE_DELETED
from provisio.service import tenancy
from provisio.service.feed import read_newest
from provisio.service.recipes import create_recipe, delete_recipe
from provisio.service.relay import Relay
from provisio.store.events import newest_query
from provisio.store.unit_of_work import Store
from tests.support import query_plan

RULES = BrandRules()


async def _principal(store: Store, org: str = "Lobby") -> tenancy.Principal:
    made = await tenancy.bootstrap(store, "Acme", org)
    return await tenancy.authenticate(store, made.token.header)


async def _recipe(store: Store, principal: tenancy.Principal, serial: str) -> str:
    recipe = await create_recipe(store, principal, {"brand": "lg", "serialNumber": serial}, RULES)
    return recipe.uid


async def test_the_newest_events_come_first_and_page_backwards(store: Store) -> None:
    principal = await _principal(store)
    other = await _principal(store, "Elsewhere")
    uids = [await _recipe(store, principal, f"SN-{n}") for n in range(5)]
    await _recipe(store, other, "SN-0")
    await delete_recipe(store, principal, uids[0])
    await Relay(store, 1).drain()

    everything = await read_newest(store, principal, limit=100)
    positions = [entry.position for entry in everything]
    assert positions == sorted(positions, reverse=True)
    assert [entry.type for entry in everything] == [RECIPE_DELETED] + [RECIPE_CREATED] * 5
    assert [entry.subject_uid for entry in everything] == [uids[0], *reversed(uids)]
    assert all(entry.subject_uid.encode() in entry.body for entry in everything)

    first = await read_newest(store, principal, limit=2)
    second = await read_newest(store, principal, before=first[-1].position, limit=2)
    assert first + second == everything[:4]
    newer = await read_newest(store, principal, after=everything[3].position, limit=100)
    assert newer == everything[:3]
    oldest = everything[-1].position
    assert await read_newest(store, principal, before=oldest, limit=100) == []

    deleted = await read_newest(store, principal, types=[RECIPE_DELETED], limit=100)
    assert deleted == everything[:1]
    assert len(await read_newest(store, other, limit=100)) == 1


async def test_events_not_yet_positioned_are_not_shown(store: Store) -> None:
    principal = await _principal(store)
    await _recipe(store, principal, "SN-1")
    assert await read_newest(store, principal, limit=10) == []
    await Relay(store, 1).drain()
    assert len(await read_newest(store, principal, limit=10)) == 1


async def test_the_stored_envelope_bytes_are_returned_as_they_are(store: Store) -> None:
    principal = await _principal(store)
    await _recipe(store, principal, "SN-1")
    await Relay(store, 1).drain()
    org = principal.organization_uid or ""
    async with store.reader() as uow:
        [(position, body)] = await uow.events.read([org], 0, 10, [])
    [entry] = await read_newest(store, principal, limit=10)
    assert (entry.position, entry.body) == (position, body)


async def test_the_backwards_read_walks_the_organization_index(store: Store) -> None:
    principal = await _principal(store)
    for n in range(20):
        await _recipe(store, principal, f"SN-{n}")
    await Relay(store, 1).drain()
    org = [principal.organization_uid or ""]
    async with store.backend.write() as conn:
        for statement in (
            newest_query(org, 0, None, 50, ()),
            newest_query(org, 3, 9, 50, [RECIPE_CREATED]),
        ):
            plan = await query_plan(conn, statement, {})
            assert "ix_events_organization_uid_position" in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # SQLite sorting
            assert "Sort" not in plan, plan  # PostgreSQL sorting
