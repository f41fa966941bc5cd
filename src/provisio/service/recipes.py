"""Recipe use cases. Each runs in one unit of work, so state and events commit together."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provisio.domain.aggregate import Actor
from provisio.domain.brands import BrandRules
from provisio.domain.errors import InvalidInput, PreconditionFailed
from provisio.domain.identifiers import brand_key, canonical_mac, serial_key
from provisio.domain.ids import new_uid
from provisio.domain.recipe import Recipe, build_spec, clean_changes
from provisio.domain.registry import references, vanished_message
from provisio.domain.status import RecipeStatus
from provisio.service.registries import ReferenceCheck
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.recipes import RecipeFilter
from provisio.store.unit_of_work import Store, UnitOfWork


@dataclass(frozen=True)
class RecipeQuery:
    """List filters as the client sent them."""

    organization_uid: str | None = None
    status: RecipeStatus | None = None
    brand: str | None = None
    serial_number: str | None = None
    mac_address: str | None = None

    def to_filter(self) -> RecipeFilter:
        return RecipeFilter(
            status=self.status,
            brand_key=brand_key(self.brand) if self.brand is not None else None,
            serial_key=serial_key(self.serial_number) if self.serial_number is not None else None,
            mac_address=canonical_mac(self.mac_address) if self.mac_address is not None else None,
        )


class Drafter:
    """Turns create bodies into new, checked recipes (not yet stored) with their Created event.

    It remembers the organization each requested `organizationUid` resolves to, the actor for
    each organization and which references exist, so a bulk import asks the database once per
    value, not once per row. All its recipes are created at the same moment.
    """

    def __init__(self, uow: UnitOfWork, principal: Principal, rules: BrandRules) -> None:
        self._uow = uow
        self._principal = principal
        self._rules = rules
        self._targets: dict[str | None, str] = {}
        self._actors: dict[str, Actor] = {}
        self._now = datetime.now(UTC)
        self._references = ReferenceCheck(uow)

    async def draft(self, body: Mapping[str, Any]) -> Recipe:
        wanted = body.get("organizationUid")
        if wanted not in self._targets:
            self._targets[wanted] = await target_organization(self._uow, self._principal, wanted)
        organization_uid = self._targets[wanted]
        spec = build_spec({k: v for k, v in body.items() if k != "organizationUid"}, self._rules)
        wanted_references = references(spec)
        if wanted_references:
            await self._references.require(organization_uid, wanted_references)
        actor = self._actors.get(organization_uid)
        if actor is None:
            actor = self._actors[organization_uid] = self._principal.actor(organization_uid)
        return Recipe.create(new_uid(), organization_uid, spec, self._now, actor)


async def create_recipe(
    store: Store, principal: Principal, body: Mapping[str, Any], rules: BrandRules
) -> Recipe:
    async with store.unit_of_work() as uow:
        recipe = await Drafter(uow, principal, rules).draft(body)
        await uow.recipes.add(recipe)
        return recipe


async def get_recipe(store: Store, principal: Principal, uid: str) -> Recipe:
    async with store.reader() as uow:
        return await uow.recipes.get(uid, await scope(uow, principal, None))


async def list_recipes(
    store: Store, principal: Principal, query: RecipeQuery, after: int, limit: int
) -> list[tuple[int, Recipe]]:
    where = query.to_filter()
    async with store.reader() as uow:
        organizations = await scope(uow, principal, query.organization_uid)
        return await uow.recipes.find(organizations, where, after, limit)


async def update_recipe(
    store: Store,
    principal: Principal,
    uid: str,
    body: Mapping[str, Any],
    rules: BrandRules,
    if_match: str | None = None,
) -> Recipe:
    """Partial update: only sent fields change, `None` clears; a no-op records nothing."""
    changes = clean_changes(body)
    async with store.unit_of_work() as uow:
        recipe = await uow.recipes.get(uid, await scope(uow, principal, None), for_update=True)
        if if_match is not None and if_match.strip() not in ("*", recipe.etag):
            raise PreconditionFailed(f"If-Match {if_match} does not match ETag {recipe.etag}")
        recipe.ensure_editable()
        # Only an Invalid recipe needs all its references looked up (is it fixed?); otherwise
        # only those this request sends.
        sent_fields = None if recipe.status is RecipeStatus.INVALID else body.keys()
        wanted = references(recipe.spec_with(changes), sent_fields)
        missing = await ReferenceCheck(uow).missing(recipe.organization_uid, wanted)
        sent = [reference for reference in missing if reference.field in body]
        if sent:
            raise InvalidInput("unknown references", [r.unknown() for r in sent])
        now = datetime.now(UTC)
        actor = principal.actor(recipe.organization_uid)
        if recipe.update(changes, rules, now, actor, vanished=vanished_message(missing)):
            await uow.recipes.save(recipe)
        return recipe


async def delete_recipe(store: Store, principal: Principal, uid: str) -> None:
    async with store.unit_of_work() as uow:
        recipe = await uow.recipes.get(uid, await scope(uow, principal, None), for_update=True)
        recipe.delete(principal.actor(recipe.organization_uid))
        await uow.recipes.remove(recipe)


async def retry_recipe(store: Store, principal: Principal, uid: str) -> Recipe:
    async with store.unit_of_work() as uow:
        recipe = await uow.recipes.get(uid, await scope(uow, principal, None), for_update=True)
        recipe.retry(datetime.now(UTC), principal.actor(recipe.organization_uid))
        await uow.recipes.save(recipe)
        return recipe
