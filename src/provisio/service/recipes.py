"""Recipe use cases. Each runs in one unit of work, so state and events commit together."""

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from provisio.domain.brands import BrandRules
from provisio.domain.errors import FieldProblem, InvalidInput, PreconditionFailed
from provisio.domain.identifiers import brand_key, canonical_mac, serial_key
from provisio.domain.ids import new_uid
from provisio.domain.recipe import Recipe, build_spec, clean_changes
from provisio.domain.registry import references, vanished_message
from provisio.domain.status import RecipeStatus
from provisio.service.registries import ReferenceCheck
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.recipes import RecipeFilter
from provisio.store.unit_of_work import Store, UnitOfWork

BULK_BATCH_ROWS = 500
"""Bulk imports store recipes and their events this many rows at a time."""


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


MAX_LISTED_ROWS = 1000
"""A bulk answer lists the problems of this many refused rows, the first ones by row number."""


class Refusals:
    """The refused rows of an import: all counted, only the first `MAX_LISTED_ROWS` kept, so
    memory stays flat however many rows are bad."""

    def __init__(self) -> None:
        self.count = 0
        self._kept: dict[int, list[FieldProblem]] = {}
        self._rows: list[int] = []
        """A max-heap (negated row numbers) of the kept rows: the one to drop is on top."""

    def add(self, row: int, problems: Sequence[FieldProblem]) -> None:
        self.count += 1
        if len(self._rows) == MAX_LISTED_ROWS:
            if row > -self._rows[0]:
                return
            del self._kept[-heapq.heappop(self._rows)]
        heapq.heappush(self._rows, -row)
        self._kept[row] = [FieldProblem(p.field, p.message, row=row) for p in problems]

    @property
    def listed(self) -> list[FieldProblem]:
        """The kept rows' problems, in row order."""
        return [problem for row in sorted(self._kept) for problem in self._kept[row]]


@dataclass
class BulkResult:
    uids: list[str] = field(default_factory=list)
    failed: list[FieldProblem] = field(default_factory=list)
    """The problems of the first `MAX_LISTED_ROWS` refused rows."""
    failed_count: int = 0
    """How many rows were refused in all."""

    @property
    def created(self) -> int:
        return len(self.uids)


class _Drafter:
    """Turns create bodies into new, checked recipes (not yet stored) with their Created event.

    It remembers the organization each requested `organizationUid` resolves to and which
    references exist, so a bulk import asks the database once per value, not once per row.
    """

    def __init__(self, uow: UnitOfWork, principal: Principal, rules: BrandRules) -> None:
        self._uow = uow
        self._principal = principal
        self._rules = rules
        self._targets: dict[str | None, str] = {}
        self._references = ReferenceCheck(uow)

    async def draft(self, body: Mapping[str, Any]) -> Recipe:
        fields_ = dict(body)
        wanted = fields_.pop("organizationUid", None)
        if wanted not in self._targets:
            self._targets[wanted] = await target_organization(self._uow, self._principal, wanted)
        organization_uid = self._targets[wanted]
        spec = build_spec(fields_, self._rules)
        await self._references.require(organization_uid, references(spec))
        now = datetime.now(UTC)
        actor = self._principal.actor(organization_uid)
        return Recipe.create(new_uid(), organization_uid, spec, now, actor)


async def create_recipe(
    store: Store, principal: Principal, body: Mapping[str, Any], rules: BrandRules
) -> Recipe:
    async with store.unit_of_work() as uow:
        recipe = await _Drafter(uow, principal, rules).draft(body)
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


async def bulk_create(
    store: Store,
    principal: Principal,
    rows: Iterable[BulkRow],
    rules: BrandRules,
    *,
    atomic: bool,
) -> BulkResult:
    """Create every good row in one transaction; in atomic mode any bad row stores nothing.

    Rows are checked one by one as they are read and stored in batches, so memory stays flat
    whatever the size of the upload and however many of its rows are bad.
    """
    result = BulkResult()
    refusals = Refusals()
    async with store.unit_of_work() as uow:
        batch: list[tuple[int, Recipe]] = []
        drafter = _Drafter(uow, principal, rules)
        for item in rows:
            try:
                if item.problems:
                    raise InvalidInput("unreadable row", list(item.problems))
                batch.append((item.row, await drafter.draft(item.fields)))
            except InvalidInput as error:
                refusals.add(item.row, error.details)
            if len(batch) >= BULK_BATCH_ROWS:
                await _store_batch(uow, batch, result, refusals)
        await _store_batch(uow, batch, result, refusals)
        result.failed, result.failed_count = refusals.listed, refusals.count
        if atomic and refusals.count:
            listed = (
                ""
                if refusals.count <= MAX_LISTED_ROWS
                else f"; the first {MAX_LISTED_ROWS} are listed"
            )
            raise InvalidInput(
                f"{refusals.count} bad row(s); nothing was stored{listed}", result.failed
            )
    return result


def _refused_message(count: int) -> str:
    listed = f"; the first {MAX_LISTED_ROWS} are listed" if count > MAX_LISTED_ROWS else ""
    return f"{count} bad row(s); nothing was stored{listed}"


async def _store_batch(
    uow: UnitOfWork, batch: list[tuple[int, Recipe]], result: BulkResult, refusals: Refusals
) -> None:
    refused = await uow.recipes.add_many([recipe for _, recipe in batch])
    for row, recipe in batch:
        if recipe.uid in refused:
            refusals.add(row, refused[recipe.uid].details)
        else:
            result.uids.append(recipe.uid)
    batch.clear()
    await uow.collect_events()
