"""Recipe use cases. Each runs in one unit of work, so state and events commit together."""

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from provisio.domain.brands import BrandRules
from provisio.domain.errors import Conflict, FieldProblem, InvalidInput, PreconditionFailed
from provisio.domain.identifiers import brand_key, canonical_mac, serial_key
from provisio.domain.ids import new_uid
from provisio.domain.recipe import Recipe, build_spec, clean_changes
from provisio.domain.status import RecipeStatus
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.recipes import RecipeFilter
from provisio.store.unit_of_work import Store, UnitOfWork

BULK_FLUSH_ROWS = 500
"""Bulk imports move events to the outbox every this many rows, keeping memory flat."""


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


@dataclass(frozen=True)
class BulkRow:
    """One data row of a bulk request: its fields, or why they could not even be read."""

    row: int
    fields: Mapping[str, Any]
    problems: tuple[FieldProblem, ...] = ()


@dataclass
class BulkResult:
    created: int = 0
    uids: list[str] = field(default_factory=list)
    failed: list[FieldProblem] = field(default_factory=list)


async def _create(
    uow: UnitOfWork, principal: Principal, body: Mapping[str, Any], rules: BrandRules
) -> Recipe:
    fields_ = dict(body)
    organization_uid = await target_organization(
        uow, principal, fields_.pop("organizationUid", None)
    )
    spec = build_spec(fields_, rules)
    now = datetime.now(UTC)
    recipe = Recipe.create(
        new_uid(), organization_uid, spec, now, principal.actor(organization_uid)
    )
    await uow.recipes.add(recipe)
    return recipe


async def create_recipe(
    store: Store, principal: Principal, body: Mapping[str, Any], rules: BrandRules
) -> Recipe:
    async with store.unit_of_work() as uow:
        return await _create(uow, principal, body, rules)


async def get_recipe(store: Store, principal: Principal, uid: str) -> Recipe:
    async with store.reader() as uow:
        return await uow.recipes.get(uid, await scope(uow, principal, None))


async def list_recipes(
    store: Store, principal: Principal, query: RecipeQuery, after: int, limit: int
) -> list[tuple[int, Recipe]]:
    where = query.to_filter()
    async with store.reader() as uow:
        organizations = await scope(uow, principal, query.organization_uid)
        return await uow.recipes.list(organizations, where, after, limit)


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
        now = datetime.now(UTC)
        if recipe.update(changes, rules, now, principal.actor(recipe.organization_uid)):
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


async def bulk_create(
    store: Store,
    principal: Principal,
    rows: AsyncIterable[BulkRow],
    rules: BrandRules,
    *,
    atomic: bool,
) -> BulkResult:
    """Create every good row in one transaction; in atomic mode any bad row stores nothing."""
    result = BulkResult()
    async with store.unit_of_work() as uow:
        async for item in rows:
            if item.problems:
                result.failed.extend(item.problems)
                continue
            try:
                recipe = await _create(uow, principal, item.fields, rules)
            except (InvalidInput, Conflict) as error:
                details = error.details or [FieldProblem("", error.message)]
                result.failed.extend(
                    FieldProblem(p.field, p.message, row=item.row) for p in details
                )
                continue
            result.uids.append(recipe.uid)
            if len(uow.recipes.seen) >= BULK_FLUSH_ROWS:
                await uow.collect_events()
        if atomic and result.failed:
            raise InvalidInput(
                f"{len({p.row for p in result.failed})} bad row(s); nothing was stored",
                result.failed,
            )
    result.created = len(result.uids)
    return result
