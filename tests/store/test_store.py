"""The shared store suite: every test here runs on SQLite and on PostgreSQL."""

from datetime import UTC, datetime

import pytest

from provisio.domain.brands import BrandRules
from provisio.domain.errors import Conflict, NotFound
from provisio.domain.ids import new_uid
from provisio.domain.recipe import Recipe, build_spec
from provisio.domain.status import RecipeStatus
from provisio.service import tenancy
from provisio.service.relay import Relay
from provisio.store.recipes import RecipeFilter
from provisio.store.unit_of_work import Store

RULES = BrandRules()


async def _principal(store: Store) -> tenancy.Principal:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    return await tenancy.authenticate(store, made.token.header)


async def _add(store: Store, principal: tenancy.Principal, **fields: object) -> Recipe:
    org = principal.organization_uid
    assert org is not None
    spec = build_spec({"brand": "samsung", "serialNumber": new_uid(), **fields}, RULES)
    recipe = Recipe.create(new_uid(), org, spec, datetime.now(UTC), principal.actor(org))
    async with store.unit_of_work() as uow:
        await uow.recipes.add(recipe)
    return recipe


async def test_a_recipe_round_trips_every_field(store: Store) -> None:
    principal = await _principal(store)
    tags = (new_uid(), new_uid())
    recipe = await _add(
        store,
        principal,
        model="QM55",
        macAddress="aabbccddeeff",
        deviceName="Lobby",
        tagUids=list(tags),
        policyUid=new_uid(),
        locationUid=new_uid(),
        confirmedOwnership=True,
    )
    async with store.reader() as uow:
        loaded = await uow.recipes.get(recipe.uid, [recipe.organization_uid])
    assert loaded.spec == recipe.spec
    assert loaded.spec.tag_uids == tags
    assert (loaded.status, loaded.version) == (RecipeStatus.PENDING, 1)
    assert loaded.created_at == recipe.created_at
    assert loaded.created_at.tzinfo is not None


async def test_another_organizations_recipe_is_not_found(store: Store) -> None:
    principal = await _principal(store)
    recipe = await _add(store, principal)
    async with store.reader() as uow:
        with pytest.raises(NotFound):
            await uow.recipes.get(recipe.uid, [new_uid()])


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"serialNumber": "SN-1"}, {"serialNumber": " sn-1 ", "brand": "SAMSUNG"}, "serialNumber"),
        (
            {"brand": "android", "macAddress": "aa:bb:cc:dd:ee:ff"},
            {"brand": "Android", "macAddress": "AABB.CCDD.EEFF"},
            "macAddress",
        ),
    ],
)
async def test_two_live_recipes_may_not_claim_one_device(
    store: Store, first: dict[str, object], second: dict[str, object], field: str
) -> None:
    principal = await _principal(store)
    await _add(store, principal, **first)
    with pytest.raises(Conflict) as caught:
        await _add(store, principal, **second)
    assert caught.value.details[0].field == field
    async with store.reader() as uow:
        assert (
            len(await uow.recipes.find([principal.organization_uid or ""], RecipeFilter(), 0, 10))
            == 1
        )


async def test_an_applied_recipe_no_longer_claims_its_device(store: Store) -> None:
    principal = await _principal(store)
    recipe = await _add(store, principal, serialNumber="SN-1")
    async with store.unit_of_work() as uow:
        loaded = await uow.recipes.get(recipe.uid, [recipe.organization_uid], for_update=True)
        loaded.status = RecipeStatus.APPLIED
        await uow.recipes.save(loaded)
    await _add(store, principal, serialNumber="SN-1")


async def test_the_same_device_in_another_organization_is_allowed(store: Store) -> None:
    await _add(store, await _principal(store), serialNumber="SN-1")
    await _add(store, await _principal(store), serialNumber="SN-1")


async def test_a_failed_unit_of_work_stores_neither_state_nor_events(store: Store) -> None:
    principal = await _principal(store)
    org = principal.organization_uid or ""

    async def add_then_fail() -> None:
        async with store.unit_of_work() as uow:
            spec = build_spec({"brand": "lg", "serialNumber": "1"}, RULES)
            recipe = Recipe.create(new_uid(), org, spec, datetime.now(UTC), principal.actor(org))
            await uow.recipes.add(recipe)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await add_then_fail()
    await Relay(store, 1).drain()
    async with store.reader() as uow:
        assert await uow.recipes.find([org], RecipeFilter(), 0, 10) == []
        assert await uow.events.read([org], 0, 10, []) == []


async def test_list_filters_and_pages_in_creation_order(store: Store) -> None:
    principal = await _principal(store)
    org = principal.organization_uid or ""
    made = [await _add(store, principal, model=f"m{n}") for n in range(5)]
    lg = await _add(store, principal, brand="LG", serialNumber="Ser-9", macAddress="001122334455")
    async with store.reader() as uow:
        first = await uow.recipes.find([org], RecipeFilter(), 0, 3)
        rest = await uow.recipes.find([org], RecipeFilter(), first[-1][0], 10)
        by_brand = await uow.recipes.find([org], RecipeFilter(brand_key="lg"), 0, 10)
        by_serial = await uow.recipes.find([org], RecipeFilter(serial_key="ser-9"), 0, 10)
        by_mac = await uow.recipes.find([org], RecipeFilter(mac_address="00:11:22:33:44:55"), 0, 10)
        failed = await uow.recipes.find([org], RecipeFilter(status=RecipeStatus.FAILED), 0, 10)
    assert [r.uid for _, r in first + rest] == [r.uid for r in [*made, lg]]
    assert (
        [r.uid for _, r in by_brand]
        == [r.uid for _, r in by_serial]
        == [r.uid for _, r in by_mac]
        == [lg.uid]
    )
    assert failed == []


async def test_the_relay_positions_events_in_commit_order(store: Store) -> None:
    principal = await _principal(store)
    org = principal.organization_uid or ""
    recipes = [await _add(store, principal) for _ in range(3)]
    relay = Relay(store, 1)
    assert await relay.drain() == 3
    assert await relay.drain() == 0
    async with store.reader() as uow:
        page = await uow.events.read([org], 0, 10, [])
        later = await uow.events.read([org], page[0][0], 10, [])
        typed = await uow.events.read([org], 0, 10, ["Device.ProvisioningRecipeDeleted"])
        other = await uow.events.read([new_uid()], 0, 10, [])
    positions = [position for position, _ in page]
    assert positions == sorted(positions)
    assert len(set(positions)) == 3
    assert [
        recipe.uid.encode() in body for (_, body), recipe in zip(page, recipes, strict=True)
    ] == [True] * 3
    assert later == page[1:]
    assert typed == other == []
