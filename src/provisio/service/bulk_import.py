"""Bulk import: many create bodies stored in one transaction, each good row with its event.

Rows are read, checked and stored in batches, so memory stays flat whatever the size of the
upload and however many of its rows are bad. Each batch is written while the next one is read
and drafted: the database (SQLite's driver thread, PostgreSQL's server) works while Python does.
"""

import asyncio
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from provisio.domain.brands import BrandRules
from provisio.domain.errors import FieldProblem, InvalidInput
from provisio.domain.recipe import Recipe
from provisio.service.recipes import Drafter
from provisio.service.tenancy import Principal
from provisio.store.unit_of_work import Store, UnitOfWork

BULK_BATCH_ROWS = 500
"""Bulk imports store recipes and their events this many rows at a time."""

MAX_LISTED_ROWS = 1000
"""A bulk answer lists the problems of this many refused rows, the first ones by row number."""

_ROWS_BETWEEN_YIELDS = 50
"""While drafting, let the pending write move on (its next statement, its answer) this often."""


@dataclass(frozen=True)
class BulkRow:
    """One data row of a bulk request: its fields, or why they could not even be read."""

    row: int
    fields: Mapping[str, Any]
    problems: tuple[FieldProblem, ...] = ()


class Refusals:
    """The refused rows of an import: all counted, only the first `MAX_LISTED_ROWS` kept."""

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


class _BatchWriter:
    """Writes one batch's recipes and events in the background; `settle` waits for it, and
    must come before anything else uses the transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._pending: asyncio.Future[None] | None = None

    async def start(self, recipes: Sequence[Recipe]) -> None:
        await self.settle()
        self._pending = asyncio.ensure_future(self._write(recipes))
        await asyncio.sleep(0)  # the write hands its first statement to the driver

    async def _write(self, recipes: Sequence[Recipe]) -> None:
        await self._uow.recipes.insert(recipes)
        await self._uow.collect_events()

    async def settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending


async def bulk_create(
    store: Store,
    principal: Principal,
    rows: Iterable[BulkRow],
    rules: BrandRules,
    *,
    atomic: bool,
) -> BulkResult:
    """Create every good row in one transaction; in atomic mode any bad row stores nothing."""
    result = BulkResult()
    refusals = Refusals()
    async with store.unit_of_work() as uow:
        writer = _BatchWriter(uow)
        drafter = Drafter(uow, principal, rules, before_lookup=writer.settle)
        try:
            for batch in _batches(rows):
                drafted = await _drafted(batch, drafter, refusals)
                await writer.settle()
                refused = await uow.recipes.refused([recipe for _, recipe in drafted])
                for row, recipe in drafted:
                    if recipe.uid in refused:
                        refusals.add(row, refused[recipe.uid].details)
                    else:
                        result.uids.append(recipe.uid)
                await writer.start([recipe for _, recipe in drafted if recipe.uid not in refused])
        finally:
            await writer.settle()
        result.failed, result.failed_count = refusals.listed, refusals.count
        if atomic and refusals.count:
            raise InvalidInput(_refused_message(refusals.count), result.failed)
    return result


def _batches(rows: Iterable[BulkRow]) -> Iterator[list[BulkRow]]:
    """Reading a batch (parsing, checking each row's shape) overlaps the previous one's write."""
    source = iter(rows)
    while batch := list(islice(source, BULK_BATCH_ROWS)):
        yield batch


async def _drafted(
    batch: Sequence[BulkRow], drafter: Drafter, refusals: Refusals
) -> list[tuple[int, Recipe]]:
    drafted: list[tuple[int, Recipe]] = []
    for number, item in enumerate(batch):
        if number % _ROWS_BETWEEN_YIELDS == 0:
            await asyncio.sleep(0)
        try:
            if item.problems:
                raise InvalidInput("unreadable row", list(item.problems))
            drafted.append((item.row, await drafter.draft(item.fields)))
        except InvalidInput as error:
            refusals.add(item.row, error.details)
    return drafted


def _refused_message(count: int) -> str:
    listed = f"; the first {MAX_LISTED_ROWS} are listed" if count > MAX_LISTED_ROWS else ""
    return f"{count} bad row(s); nothing was stored{listed}"
